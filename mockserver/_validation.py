"""Everything the mock checks against the spec: request bodies and parameters in, answers out.

The one place that talks to openapi-core. Validators are built once from the loader's `OpenAPI`
object; per request there is a JSON parse (orjson, depth-limited), openapi-core's validation through
a small adapter, and a precompiled schema check of the answer. Handlers only see `Violation`s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import V31RequestValidator
from openapi_core.validation.schemas import oas31_schema_validators_factory
from werkzeug.datastructures import Headers

from mockserver._errors import Kind, Violation
from spec import ContractSpec

_MISSING: Any = object()
_RECEIVED_MAX = 80
_FIRST_SENTENCE = re.compile(r"^(.+?[.;:])(\s|$)", re.DOTALL)
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def escape_token(token: object) -> str:
    """One JSON-pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(root: str, tokens: Iterable[object]) -> str:
    """A JSON pointer into the request, `root` being `/body`, `/header/<name>`..."""
    return root + "".join("/" + escape_token(t) for t in tokens)


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


@dataclass
class SpecRequest:
    """openapi-core's Request protocol over a request the mock already routed.

    `host_url` is the spec's own server, so validation does not depend on where the mock listens,
    and `path_pattern` is the operation's template, so openapi-core never re-parses a path that
    may hold characters a URL parser would split on.
    """

    host_url: str
    path: str
    path_pattern: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass(frozen=True)
class ParsedBody:
    """The JSON body, or the violation that stopped it from being read."""

    value: Any = None
    violation: Violation | None = None


class ContractValidator:
    """Validates requests and answers against the contract; built once per app."""

    def __init__(self, contract: ContractSpec) -> None:
        spec = contract.openapi.spec
        server = contract.resolved["servers"][0]
        variables = {k: v.get("default", "") for k, v in server.get("variables", {}).items()}
        self.host_url = server["url"].format(**variables)
        self.path_template = contract.path_template
        self._requests = V31RequestValidator(
            spec,
            # orjson, not json: it refuses nesting deeper than 1024 instead of recursing without bound.
            extra_media_type_deserializers={"application/json": _json_loads},
        )
        operation = spec / "paths" / contract.path_template / "post"
        self._answers = {
            int(status): oas31_schema_validators_factory.create(
                spec, operation / "responses" / status / "content" / "application/json" / "schema"
            ).validator
            for status in contract.operation["responses"]
        }
        # Statuses the operation does not document (404, 431) still answer the platform's envelope.
        self._envelope = oas31_schema_validators_factory.create(
            spec, spec / "components" / "schemas" / "ErrorEnvelope"
        ).validator
        self._parameters = {
            (p["in"], p["name"].lower()): p
            for p in [
                *contract.resolved["paths"][contract.path_template].get("parameters", []),
                *contract.operation.get("parameters", []),
            ]
        }

    def parse_body(self, raw: bytes) -> ParsedBody:
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
            start = raw[:40]
            return ParsedBody(
                violation=Violation(
                    Kind.MALFORMED_BODY,
                    f"Malformed JSON body: {problem}",
                    "/body",
                    f"{hint} Received: {len(raw)} bytes starting {start!r}. Documented: a JSON object "
                    "(application/json, UTF-8), the CreateTaskRequest schema. Fix: send the task as a "
                    "JSON object, for example the spec's seed-sample request.",
                )
            )

    def request_violations(
        self,
        *,
        stream_id: str,
        headers: Headers,
        query: Mapping[str, Any],
        cookies: Mapping[str, Any],
        content_type: str,
        body: bytes,
    ) -> list[Violation]:
        """Every violation of the request's parameters and body (openapi-core), in spec terms."""
        request = SpecRequest(
            host_url=self.host_url,
            path=self.path_template.replace("{streamId}", "s"),
            path_pattern=self.path_template,
            method="post",
            body=body or None,
            content_type=content_type.lower(),
            parameters=RequestParameters(
                query=query, header=headers, cookie=cookies, path={"streamId": stream_id}
            ),
        )
        violations: list[Violation] = []
        for error in self._requests.iter_errors(request):
            violations.extend(self._describe(error))
        return violations

    def answer_problems(self, status: int, payload: Any) -> list[str]:
        """Where an answer breaks the schema documented for its status (a mock bug when not empty)."""
        validator = self._answers.get(status, self._envelope)
        problems = []
        for error in validator.iter_errors(payload):
            where = pointer("", error.absolute_path) or "/"
            problems.append(f"{where}: {error.message}")
        return problems

    def _describe(self, error: Exception) -> Iterator[Violation]:
        """openapi-core's error as violations: one per schema error, with pointer and detail."""
        name = type(error).__name__
        cause = error.__cause__
        schema_errors = list(getattr(cause, "schema_errors", None) or [])
        location = getattr(error, "location", None)
        if location is not None:  # a parameter error
            param_name = str(getattr(error, "name", ""))
            root = f"/{location}/{escape_token(param_name)}"
            if name.startswith("MissingRequired"):
                spec_param = self._parameters.get((location, param_name.lower()), {})
                yield Violation(
                    Kind.INVALID_REQUEST,
                    f"{root}: required {location} parameter '{param_name}' is missing",
                    root,
                    f"Received: no {param_name}. Documented: {_summary(spec_param) or 'required'}. "
                    f"Fix: send the {param_name} {location}.",
                )
                return
        elif name == "MissingRequiredRequestBody":
            yield Violation(
                Kind.INVALID_REQUEST,
                "/body: the request body is required",
                "/body",
                "Received: an empty body. Documented: a JSON object (CreateTaskRequest) with caseId, "
                "caseRefId, taskTmp, userInfo and source. Fix: send the task as JSON.",
            )
            return
        elif type(cause).__name__ == "MediaTypeNotFound":
            yield Violation(
                Kind.UNSUPPORTED_MEDIA_TYPE,
                str(cause),
                "/header/content-type",
                "Documented: application/json.",
            )
            return
        elif type(cause).__name__ == "MediaTypeDeserializeError":
            yield Violation(Kind.MALFORMED_BODY, "Malformed JSON body", "/body", "Documented: a JSON object.")
            return
        elif "Security" in name:
            yield Violation(Kind.UNAUTHORIZED, f"openapi-core: {error}", "/header/auth")
            return
        else:
            root = "/body"
        if not schema_errors:
            yield Violation(
                Kind.INVALID_REQUEST, f"{root}: {cause or error}", root, f"openapi-core reported {name}."
            )
            return
        for schema_error in schema_errors:
            yield _schema_violation(root, schema_error)


def _schema_violation(root: str, error: Any) -> Violation:
    """A jsonschema error as a violation saying what was received, what is documented, and the fix."""
    path = list(error.absolute_path)
    where = pointer(root, path)
    keyword = error.validator
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value = error.instance
    decision = schema.get("x-decision")
    basis = f" (decision `{decision}`)" if decision else ""
    if keyword == "required":
        missing = next((n for n in error.validator_value if error.message.startswith(repr(n))), None)
        if missing is not None:
            where = pointer(root, [*path, missing])
            prop = schema.get("properties", {}).get(missing, {})
            expected = prop.get("type", "a value")
            return Violation(
                Kind.INVALID_REQUEST,
                f"{where}: {error.message}",
                where,
                f"Received: an object without `{missing}`. Documented: `{missing}` is a required {expected}"
                f"{': ' + _summary(prop) if _summary(prop) else ''}. Fix: add `{missing}`.",
            )
    if keyword == "anyOf" and all(set(branch) <= {"required", "title"} for branch in error.validator_value):
        names = [n for branch in error.validator_value for n in branch.get("required", [])]
        listing = ", ".join(names)
        sent = sorted(value) if isinstance(value, Mapping) else value
        return Violation(
            Kind.INVALID_REQUEST,
            f"{where}: must contain at least one of {listing}",
            where,
            f"Received: an object with {sent}. Documented: {_summary(schema) or 'at least one of ' + listing}. "
            f"Fix: add one of {listing}.",
        )
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
    return Violation(
        Kind.INVALID_REQUEST,
        f"{where}: {error.message}",
        where,
        f"Received: {received(value)}. Documented: {expectation}{' - ' + about if about else ''}. "
        f"Fix: send {expectation.split(' (')[0]}.",
    )
