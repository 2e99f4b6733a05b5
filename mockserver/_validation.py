"""Everything the mock checks of a request against the spec: parameters, media type and body, per operation.

The one place that talks to openapi-core. Everything openapi-core would look up in the spec on each
request (the operation, its parameters, their styles and schemas, the media types, the security
schemes) is looked up once, when the app is built, into small tables of openapi-core's own
deserializers, casters and schema validators; per request there is a JSON parse (orjson,
depth-limited), those checks in openapi-core's order with openapi-core's error types, and a compiled
schema check of the body (`spec.SchemaCheck`: jsonschema-rs, with openapi-core's validator as the
judge and the wording of anything it rejects). The tables are built for every operation of the spec
and chosen by the route `ContractSpec.match` found. Handlers only see `Violation`s. Answers are not
judged here: the one judge is `spec.ContractJudge`.
"""

from __future__ import annotations

import functools
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema_path import SchemaPath
from openapi_core.casting.schemas import oas31_schema_casters_factory
from openapi_core.casting.schemas.casters import BooleanCaster, IntegerCaster, NumberCaster, PrimitiveCaster
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.deserializing.media_types import media_type_deserializers
from openapi_core.deserializing.media_types.factories import MediaTypeDeserializersFactory
from openapi_core.deserializing.styles import style_deserializers
from openapi_core.deserializing.styles.exceptions import EmptyQueryParameterValue
from openapi_core.deserializing.styles.factories import StyleDeserializersFactory
from openapi_core.exceptions import OpenAPIError
from openapi_core.schema.parameters import get_style_and_explode
from openapi_core.security import security_provider_factory
from openapi_core.security.exceptions import SecurityProviderError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.media_types.finders import MediaTypeFinder
from openapi_core.templating.security.exceptions import SecurityNotFound
from openapi_core.validation.request.exceptions import (
    InvalidParameter,
    InvalidRequestBody,
    MissingParameter,
    MissingRequestBody,
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.request.validators import V31RequestValidator
from openapi_core.validation.schemas import oas31_schema_validators_factory
from openapi_core.validation.schemas.exceptions import ValidateError
from openapi_core.validation.schemas.validators import SchemaValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict
from werkzeug.http import parse_options_header

from mockserver._errors import Kind, Violation, explained
from spec import ContractSpec, Operation, RouteMatch, SchemaCheck, escape_token, keyword_decision

_MISSING: Any = object()
_NO_VALUES: Mapping[str, Any] = ImmutableMultiDict()
_RECEIVED_MAX = 80
_FIRST_SENTENCE = re.compile(r"^(.+?[.;:])(\s|$)", re.DOTALL)
_UTF8 = frozenset({"utf-8", "utf8"})
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def pointer(root: str, tokens: Iterable[object]) -> str:
    """A JSON pointer into the request, `root` being `/body`, `/header/<name>`..."""
    return root + "".join("/" + escape_token(str(t)) for t in tokens)


def received(value: Any) -> str:
    """A short rendering of a received value, with its JSON type."""
    if value is _MISSING:
        return "nothing"
    kind = _json_type(value)
    try:
        text = orjson.dumps(value).decode() if kind != "unknown" else repr(value)
    except (TypeError, orjson.JSONEncodeError):
        # orjson refuses to write nesting deeper than 255, which a request may well hold.
        return f"{'[...]' if kind == 'array' else '{...}'} nested too deep to show ({kind})"
    if len(text) > _RECEIVED_MAX:
        text = text[: _RECEIVED_MAX - 3] + "..."
    return f"{text} ({kind})"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "unknown")


def _json_loads(value: bytes, **parameters: str) -> Any:
    """openapi-core's deserializer signature (media type parameters such as charset are passed along)."""
    return orjson.loads(value)


def _summary(schema: Mapping[str, Any]) -> str:
    """The first sentence of a schema's description, for 'Documented:' lines."""
    description = " ".join(str(schema.get("description", "")).split())
    match = _FIRST_SENTENCE.match(description)
    return (match.group(1) if match else description).rstrip(".;:")


def content_type_violation(content_type: str | None, body: bytes) -> Violation | None:
    """The request's Content-Type against the transport rule: a body is JSON, UTF-8 (a `charset` may say so).

    One rule for the mock and the proxy; None when the header is fine, or absent with no body (then
    validation says the body is required).
    """
    if content_type is None:
        if not body:
            return None
        received_text = f"a {len(body)}-byte body without Content-Type"
        fix = "add `Content-Type: application/json`."
        return Violation(
            Kind.UNSUPPORTED_MEDIA_TYPE,
            "Content-Type is missing; send application/json",
            "/header/content-type",
            explained(received_text, "application/json", fix),
            rule="content-type",
            received=received_text,
            documented="application/json",
            fix=fix,
        )
    mimetype, charset = _media_type(content_type)
    if mimetype != "application/json" or charset not in _UTF8:
        documented = "application/json (UTF-8; `charset=UTF-8` may be given)"
        fix = "send the body as JSON with `Content-Type: application/json`."
        return Violation(
            Kind.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {content_type!r} is not supported; send application/json",
            "/header/content-type",
            explained(repr(content_type), documented, fix),
            rule="content-type",
            received=repr(content_type),
            documented=documented,
            fix=fix,
        )
    return None


@functools.lru_cache(maxsize=256)
def _media_type(content_type: str) -> tuple[str, str]:
    """The media type and its `charset` parameter (UTF-8 when absent), parsed once per header value."""
    mimetype, parameters = parse_options_header(content_type)
    return mimetype.lower(), parameters.get("charset", "utf-8").lower()


@dataclass(frozen=True)
class ParsedBody:
    """The JSON body, or the violation that stopped it from being read."""

    value: Any = None
    violation: Violation | None = None


_REMEMBERED_VALUES = 1024
_REMEMBERED_LENGTH = 256
# openapi-core's casters that read nothing from the spec when called: built once, they can be reused.
_PLAIN_CASTERS = (PrimitiveCaster, IntegerCaster, NumberCaster, BooleanCaster)


class _ParameterCheck:
    """One declared parameter, ready to check: openapi-core's deserializer, caster and schema validator.

    Everything openapi-core's `_get_parameter` reads from the spec on each call (name, location,
    required, style, explode, schema type, default) is read here once. Per request there is the
    style deserializer's lookup, the cast and the schema validation, and the errors raised are
    openapi-core's own, wrapped as its `ValidationErrorWrapper` wraps them.
    """

    def __init__(self, spec: SchemaPath, param: SchemaPath, styles: StyleDeserializersFactory) -> None:
        self.spec_path = param
        self.name = (param / "name").read_str()
        self.location = (param / "in").read_str()
        self.required = (param / "required").read_bool(default=False)
        self.deprecated = (param / "deprecated").read_bool(default=False)
        self.allow_empty: bool | None = (param / "allowEmptyValue").read_bool(default=None)
        # `content` parameters (a media type instead of a schema) go through openapi-core's own code.
        self.simple = "content" not in param
        if not self.simple:
            return
        schema = param / "schema"
        style, explode = get_style_and_explode(param)
        self.deserializer = styles.create(spec, schema, style, explode, name=self.name)
        caster = self.deserializer.caster
        type_caster = caster.get_type_caster((schema / "type").read_str(None))
        self.cast: Callable[[Any], Any] | None = type_caster if type(type_caster) in _PLAIN_CASTERS else None
        self.default: Any = (schema / "default").read_value() if "default" in schema else _MISSING
        self.validator = oas31_schema_validators_factory.create(spec, schema)
        # Header and path values a client sends again and again (its app name, its stream id): a
        # string valid against this fixed schema stays valid, so it is validated once. Bounded.
        self._valid_strings: set[str] = set()

    def value(self, parameters: RequestParameters, fallback: Callable[[], V31RequestValidator]) -> Any:
        """The parameter's value; MissingParameter when absent and optional, openapi-core's errors else."""
        try:
            return self._value(parameters, fallback)
        except ParameterValidationError:
            raise
        except ValidateError as exc:
            raise InvalidParameter(self.name, self.location) from exc
        except OpenAPIError as exc:
            raise ParameterValidationError(self.name, self.location) from exc

    def _value(self, parameters: RequestParameters, fallback: Callable[[], V31RequestValidator]) -> Any:
        location = parameters[self.location]
        if self.deprecated and self.name in location:
            warnings.warn(f"{self.name} parameter is deprecated", DeprecationWarning, stacklevel=2)
        if not self.simple:
            return fallback()._get_parameter(parameters, self.spec_path)
        if self.allow_empty:
            warnings.warn("Use of allowEmptyValue property is deprecated", DeprecationWarning, stacklevel=2)
        try:
            value = self._deserialize(location)
        except KeyError:
            if self.default is _MISSING:
                if self.required:
                    raise MissingRequiredParameter(self.name, self.location) from None
                raise MissingParameter(self.name, self.location) from None
            value = self.default
        else:
            if self.allow_empty is not None:
                warnings.warn(
                    "Use of allowEmptyValue property is deprecated", DeprecationWarning, stacklevel=2
                )
            if not self.allow_empty and self.location == "query" and value == "":
                raise EmptyQueryParameterValue(self.name)
        if type(value) is str and value in self._valid_strings:
            return value
        self.validator.validate(value)
        if type(value) is str and len(value) <= _REMEMBERED_LENGTH:
            if len(self._valid_strings) >= _REMEMBERED_VALUES:
                self._valid_strings.clear()
            self._valid_strings.add(value)
        return value

    def _deserialize(self, location: Mapping[str, Any]) -> Any:
        """openapi-core's StyleDeserializer.deserialize, with the cast's spec reads done at start-up."""
        deserializer = self.deserializer
        if deserializer.deserializer_callable is None or self.cast is None:
            return deserializer.deserialize(location)
        try:
            value = deserializer.deserializer_callable(
                deserializer.explode, deserializer.name, deserializer.schema_type, location
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise DeserializeError(deserializer.style, deserializer.name) from exc
        if value is None:
            return value
        try:
            return self.cast(value)
        except (ValueError, TypeError, AttributeError) as exc:
            raise CastError(value, deserializer.schema_type) from exc


@dataclass(frozen=True)
class _BodyMedia:
    """A media type of the request body, with its deserializer and schema validator built once."""

    deserializer: Any
    validator: SchemaValidator | None
    check: SchemaCheck | None


class _BodyCheck:
    """The operation's request body: required or not, and each media type's deserializer and validator."""

    _CACHE_MAX = 256  # distinct Content-Type values remembered (a client sends one or two)

    def __init__(self, spec: SchemaPath, operation: SchemaPath, media: MediaTypeDeserializersFactory) -> None:
        self.spec = spec
        request_body = operation / "requestBody"
        self.required = (request_body / "required").read_bool(default=False)
        self.content = request_body / "content"
        self._finder = MediaTypeFinder(self.content)
        self._media = media
        self._by_content_type: dict[str, _BodyMedia | MediaTypeNotFound] = {}
        self._lock = threading.Lock()

    def value(self, body: bytes | None, content_type: str) -> Any:
        """The body, deserialized and validated; openapi-core's errors, wrapped as `_get_body` wraps them."""
        try:
            if not body:
                if self.required:
                    raise MissingRequiredRequestBody
                raise MissingRequestBody
            media = self._find(content_type)
            value = media.deserializer.deserialize(body)
            # The compiled check never accepts what openapi-core's validator rejects (see spec.SchemaCheck):
            # a body it accepts has no errors to report, anything else is openapi-core's to judge and word.
            if media.validator is not None and not (media.check is not None and media.check.accepts(value)):
                media.validator.validate(value)
            return value
        except RequestBodyValidationError:
            raise
        except ValidateError as exc:
            raise InvalidRequestBody from exc
        except OpenAPIError as exc:
            raise RequestBodyValidationError from exc

    def _find(self, content_type: str) -> _BodyMedia:
        """openapi-core's media type lookup and deserializer for a Content-Type, made once per value."""
        found = self._by_content_type.get(content_type)
        if found is None:
            try:
                found = self._build(content_type)
            except MediaTypeNotFound as exc:
                found = exc
            with self._lock:
                if len(self._by_content_type) < self._CACHE_MAX:
                    self._by_content_type[content_type] = found
        if isinstance(found, MediaTypeNotFound):
            raise MediaTypeNotFound(found.mimetype, found.availableMimetypes)
        return found

    def _build(self, content_type: str) -> _BodyMedia:
        mime_type, parameters, media_type = self._finder.find(content_type)
        validator = (
            oas31_schema_validators_factory.create(self.spec, media_type / "schema")
            if "schema" in media_type
            else None
        )
        encoding = media_type / "encoding" if "encoding" in media_type else None
        deserializer = self._media.create(
            self.spec,
            mime_type,
            schema=media_type / "schema" if "schema" in media_type else None,
            schema_validator=validator,
            parameters=parameters,
            encoding=encoding,
            # orjson, not json: it refuses nesting deeper than 1024 instead of recursing without bound.
            extra_media_type_deserializers={"application/json": _json_loads},
        )
        check = (
            SchemaCheck((media_type / "schema").read_value(), validator.validator)
            if validator is not None
            else None
        )
        return _BodyMedia(deserializer, validator, check)


class _SecurityCheck:
    """The operation's security requirements (openapi-core's `_get_security`), read from the spec once."""

    def __init__(self, spec: SchemaPath, operation: SchemaPath) -> None:
        security = None
        if "security" in spec:
            security = spec / "security"
        if "security" in operation:
            security = operation / "security"
        schemes = spec / "components#securitySchemes"
        # Per requirement: its scheme names, and for each scheme where to look (apiKey) or the
        # provider openapi-core would call (other types), or None for an undeclared scheme.
        self.requirements: list[list[tuple[str, tuple[str, str] | Any]]] = []
        for requirement in security or []:
            entries: list[tuple[str, tuple[str, str] | Any]] = []
            for scheme_name in requirement.str_keys():
                if scheme_name not in schemes:
                    entries.append((scheme_name, None))
                    continue
                scheme = schemes / scheme_name
                if (scheme / "type").read_str() == "apiKey":
                    entries.append((scheme_name, ((scheme / "in").read_str(), (scheme / "name").read_str())))
                else:
                    entries.append((scheme_name, security_provider_factory.create(scheme)))
            self.requirements.append(entries)

    def check(self, parameters: RequestParameters) -> None:
        """Raise openapi-core's security error when no requirement is met."""
        if not self.requirements:
            return
        tried = []
        for entries in self.requirements:
            tried.append([name for name, _ in entries])
            try:
                for _, how in entries:
                    if isinstance(how, tuple):
                        location, name = how
                        if name not in getattr(parameters, location):
                            raise SecurityProviderError("Missing api key parameter.")
                    elif how is not None:
                        how(parameters)
                return
            except SecurityProviderError:
                continue
        raise SecurityValidationError() from SecurityNotFound(tried)


class _OperationChecks:
    """Everything one operation's requests are checked with, read from the spec once."""

    def __init__(
        self,
        spec: SchemaPath,
        operation: Operation,
        styles: StyleDeserializersFactory,
        media: MediaTypeDeserializersFactory,
    ) -> None:
        self.operation = operation
        path_item = spec / "paths" / operation.path_template
        definition = path_item / operation.method.lower()
        self.security = _SecurityCheck(spec, definition)
        # openapi-core's order: the operation's parameters, then the path item's; the first of a
        # (name, location) wins.
        seen: set[tuple[str, str]] = set()
        checks = []
        for source in (definition, path_item):
            for param in source.get("parameters", SchemaPath.from_dict({})):
                check = _ParameterCheck(spec, param, styles)
                if (check.name, check.location) not in seen:
                    seen.add((check.name, check.location))
                    checks.append(check)
        self.parameter_checks = tuple(checks)
        self.body = _BodyCheck(spec, definition, media) if "requestBody" in definition else None
        self.parameters = {(p["in"], p["name"].lower()): p for p in operation.parameters}
        schema = operation.request_schema or {}
        self.body_name = str(schema.get("title") or f"{operation.id} request")
        required = [str(name) for name in schema.get("required", ())]
        self.body_fields = f" with {', '.join(required)}" if required else ""


class ContractValidator:
    """Validates requests against the contract, per operation; built once per app.

    Requests go through openapi-core's own deserializers, casters, schema validators and error
    types, in openapi-core's order (security, then parameters, then body), but everything it would
    look up in the spec on each request (the operation, its parameters, the media types, the
    security schemes) is looked up here, once, for every operation of the spec: the per-request
    cost is a table lookup and the checks themselves.

    Example:
        >>> from spec import load_spec
        >>> from werkzeug.datastructures import Headers, ImmutableMultiDict
        >>> contract = load_spec()
        >>> validator = ContractValidator(contract)
        >>> operation = next(iter(contract.operations.values()))
        >>> route = contract.match(operation.method, operation.path(**dict.fromkeys(operation.path_parameters, "x")))
        >>> sent = Headers({"auth": "t", "Content-Type": "application/json"})
        >>> [v.rule for v in validator.validate(route, headers=sent, body=b"{}")][:1]
        ['required']
    """

    def __init__(self, contract: ContractSpec) -> None:
        spec = contract.openapi.spec
        self._spec = spec
        styles = StyleDeserializersFactory(
            oas31_schema_casters_factory, style_deserializers=style_deserializers
        )
        media = MediaTypeDeserializersFactory(styles, media_type_deserializers=media_type_deserializers)
        self._checks = {
            operation.id: _OperationChecks(spec, operation, styles, media)
            for operation in contract.operations.values()
        }
        self._openapi_core: V31RequestValidator | None = None

    def _fallback(self) -> V31RequestValidator:
        """openapi-core's whole request validator, for parameters described by `content` (none today)."""
        if self._openapi_core is None:
            self._openapi_core = V31RequestValidator(
                self._spec, extra_media_type_deserializers={"application/json": _json_loads}
            )
        return self._openapi_core

    def parse_body(self, raw: bytes, operation: Operation | None = None) -> ParsedBody:
        """Parse a JSON body; any failure (syntax, UTF-8, depth) is a 400 violation, never an exception."""
        try:
            return ParsedBody(value=orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            problem = str(exc)
            if "depth" in problem:
                hint = "The body nests arrays or objects more than 1024 levels deep."
            elif "UTF-8" in problem:
                hint = "The body is not valid UTF-8."
            else:
                hint = "The body is not valid JSON."
            checks = self._checks.get(operation.id) if operation is not None else None
            schema = f", the {checks.body_name} schema" if checks is not None else ""
            received_text = f"{len(raw)} bytes starting {raw[:40]!r}"
            documented = f"a JSON object (application/json, UTF-8){schema}"
            fix = "send a JSON object, for example one of the spec's request examples."
            return ParsedBody(
                violation=Violation(
                    Kind.MALFORMED_BODY,
                    f"Malformed JSON body: {problem}",
                    "/body",
                    explained(received_text, documented, fix, hint=hint),
                    rule="json",
                    received=received_text,
                    documented=documented,
                    fix=fix,
                )
            )

    def validate(
        self,
        route: RouteMatch,
        *,
        headers: Headers,
        body: bytes,
        query: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
        security: bool = True,
        check_body: bool = True,
    ) -> list[Violation]:
        """Every violation of the request's parameters and body (openapi-core), in spec terms.

        `route` is the operation and path parameters `ContractSpec.match` found; the body is judged
        by the Content-Type of `headers`. `security=False` leaves the auth requirement to a caller that
        judged it by the platform's own rule (openapi-core would stop at it and report nothing else);
        `check_body=False` leaves the body out, for a caller that found it unreadable or of a type it
        refuses already.
        """
        checks = self._checks[route.operation.id]
        parameters = RequestParameters(
            query=query if query is not None else _NO_VALUES,
            header=headers,
            cookie=cookies if cookies is not None else _NO_VALUES,
            path=route.path_params,
        )
        content_type = (headers.get("Content-Type") or "").lower()
        violations: list[Violation] = []
        try:
            for error in self._errors(
                checks, parameters, body or None, content_type, security=security, check_body=check_body
            ):
                violations.extend(self._describe(checks, error))
        except RecursionError:
            # jsonschema puts the repr of a failing value in its message; a value some 1000 levels deep
            # (orjson parses up to 1024) overflows the stack there. Only a failing value is repr'd, so
            # the body is invalid: say so without showing it. Deep values that validate pass untouched.
            received_text = "a value nested about a thousand levels deep"
            documented = f"the types the {checks.body_name} schema documents"
            fix = "send the documented types."
            violations.append(
                Violation(
                    Kind.INVALID_REQUEST,
                    "A value in the body nests too deeply to show, and does not match the schema",
                    "/body",
                    explained(received_text, documented, fix),
                    rule="type",
                    received=received_text,
                    documented=documented,
                    fix=fix,
                )
            )
        return violations

    def _errors(
        self,
        checks: _OperationChecks,
        parameters: RequestParameters,
        body: bytes | None,
        content_type: str,
        *,
        security: bool,
        check_body: bool,
    ) -> Iterator[Exception]:
        """openapi-core's `_iter_errors`: security (and nothing else when it fails), parameters, body."""
        if security:
            try:
                checks.security.check(parameters)
            except SecurityValidationError as exc:
                yield exc
                return
        for check in checks.parameter_checks:
            try:
                check.value(parameters, self._fallback)
            except MissingParameter:
                continue
            except ParameterValidationError as exc:
                yield exc
        if checks.body is not None and check_body:
            try:
                checks.body.value(body, content_type)
            except MissingRequestBody:
                pass
            except RequestBodyValidationError as exc:
                yield exc

    def _describe(self, checks: _OperationChecks, error: Exception) -> Iterator[Violation]:
        """openapi-core's error as violations: one per schema error, with pointer and detail."""
        name = type(error).__name__
        cause = error.__cause__
        schema_errors = list(getattr(cause, "schema_errors", None) or [])
        location = getattr(error, "location", None)
        if location is not None:  # a parameter error
            param_name = str(getattr(error, "name", ""))
            root = f"/{location}/{escape_token(str(param_name))}"
            if name.startswith("MissingRequired"):
                spec_param = checks.parameters.get((location, param_name.lower()), {})
                received_text = f"no {param_name}"
                documented = _summary(spec_param) or "required"
                fix = f"send the {param_name} {location}."
                yield Violation(
                    Kind.INVALID_REQUEST,
                    f"{root}: required {location} parameter '{param_name}' is missing",
                    root,
                    explained(received_text, documented, fix),
                    decision=keyword_decision(spec_param, "required"),
                    rule="required",
                    received=received_text,
                    documented=documented,
                    fix=fix,
                )
                return
        elif name == "MissingRequiredRequestBody":
            received_text = "an empty body"
            documented = f"a JSON object ({checks.body_name}){checks.body_fields}"
            fix = "send the request body as JSON."
            yield Violation(
                Kind.INVALID_REQUEST,
                "/body: the request body is required",
                "/body",
                explained(received_text, documented, fix),
                rule="required",
                received=received_text,
                documented=documented,
                fix=fix,
            )
            return
        elif type(cause).__name__ == "MediaTypeNotFound":
            documented = " or ".join(checks.operation.request_media_types) or "no body"
            yield Violation(
                Kind.UNSUPPORTED_MEDIA_TYPE,
                str(cause),
                "/header/content-type",
                f"Documented: {documented}.",
                rule="content-type",
                received=str(cause),
                documented=documented,
            )
            return
        elif type(cause).__name__ == "MediaTypeDeserializeError":
            yield Violation(
                Kind.MALFORMED_BODY,
                "Malformed JSON body",
                "/body",
                "Documented: a JSON object.",
                rule="json",
                documented="a JSON object",
            )
            return
        elif "Security" in name:
            yield Violation(Kind.UNAUTHORIZED, f"openapi-core: {error}", "/header/auth", rule="security")
            return
        else:
            root = "/body"
        if not schema_errors:
            yield Violation(
                Kind.INVALID_REQUEST,
                f"{root}: {cause or error}",
                root,
                f"openapi-core reported {name}.",
                rule="schema",
            )
            return
        for schema_error in schema_errors:
            yield _schema_violation(root, schema_error)


def missing_required(error: Any) -> Any:
    """The name a `required` error says is missing (jsonschema words it "'name' is a required property")."""
    return next((n for n in error.validator_value if error.message.startswith(repr(n))), None)


def _schema_violation(root: str, error: Any) -> Violation:
    """A jsonschema error as a violation saying what was received, what is documented, and the fix."""
    path = list(error.absolute_path)
    where = pointer(root, path)
    keyword = str(error.validator)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value = error.instance
    decision = keyword_decision(schema, keyword)

    def violation(msg: str, received_text: str, documented: str, fix: str) -> Violation:
        return Violation(
            Kind.INVALID_REQUEST,
            msg,
            where,
            explained(received_text, documented, fix),
            decision=decision,
            rule=keyword,
            received=received_text,
            documented=documented,
            fix=fix,
        )

    if keyword == "required":
        missing = missing_required(error)
        if missing is not None:
            where = pointer(root, [*path, missing])
            prop = schema.get("properties", {}).get(missing, {})
            expected = prop.get("type", "a value")
            about = _summary(prop)
            return violation(
                f"{where}: {error.message}",
                f"an object without `{missing}`",
                f"`{missing}` is a required {expected}{': ' + about if about else ''}",
                f"add `{missing}`.",
            )
    if keyword == "anyOf" and all(set(branch) <= {"required", "title"} for branch in error.validator_value):
        names = [n for branch in error.validator_value for n in branch.get("required", [])]
        listing = ", ".join(names)
        sent = sorted(value) if isinstance(value, Mapping) else value
        return violation(
            f"{where}: must contain at least one of {listing}",
            f"an object with {sent}",
            _summary(schema) or "at least one of " + listing,
            f"add one of {listing}.",
        )
    basis = f" (decision `{decision}`)" if decision else ""
    expectation = {
        "type": lambda: f"a {error.validator_value}",
        "minLength": lambda: f"a string of at least {error.validator_value} character(s){basis}",
        "maxLength": lambda: f"a string of at most {error.validator_value} characters{basis}",
        "format": lambda: f"a valid {error.validator_value} (format: {error.validator_value}){basis}",
        "pattern": lambda: f"a string matching {error.validator_value}{basis}",
        "enum": lambda: f"one of {error.validator_value}",
        "const": lambda: f"exactly {error.validator_value!r}",
    }.get(keyword, lambda: f"{keyword}: {error.validator_value!r}{basis}")()
    about = _summary(schema)
    return violation(
        f"{where}: {error.message}",
        received(value),
        f"{expectation}{' - ' + about if about else ''}",
        f"send {expectation.split(' (')[0]}.",
    )
