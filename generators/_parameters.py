"""Parameters and Content-Type values of an operation's requests, derived from its documented parameters.

Values are valid by each parameter's schema. `hostile=True` mixes in values that are still valid but
awkward to carry: control characters, `%`, `?`, `#`, spaces, non-ASCII and very long values in path
parameters (`Operation.path` percent-encodes them), and the same minus what a header cannot carry
(CR, LF, NUL and other controls; non-Latin-1) in headers.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator, oas31_format_checker

from generators import _values as values
from generators._ids import OBJECT_ID_EPOCHS, account_id, id_from_number
from generators._schema import (
    PER_SPEC,
    UnsupportedSchema,
    json_media_types,
    request_parameters_of,
    resolve_operation,
    schema_types,
)
from generators._valid import from_schema
from spec import ContractSpec, Operation, load_spec

# Realistic values by parameter name (the ids the platform's clients send), each with one of its
# values: when the parameter's schema refuses that one, the overlay does not fit and is not used.
PARAMETER_OVERLAYS: Mapping[str, tuple[Callable[[], st.SearchStrategy[str]], str]] = {
    "streamId": (lambda: values.kore_ids("st"), id_from_number("st", 0)),
    "Iid": (lambda: values.kore_ids("st"), id_from_number("st", 0)),
    "accountId": (values.account_ids, account_id(OBJECT_ID_EPOCHS[0], 0)),
}
# Headers OpenAPI ignores as parameters: the client sets them from the request itself.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
# A path is one request line: keep a percent-encoded value well under common limits (4 KiB and up).
MAX_ENCODED_PATH_VALUE = 3000
LONG_MIN, LONG_MAX = 200, 1000
_TAME = string.ascii_letters + string.digits + "-_."
# Awkward characters by where they go: a path segment carries anything (percent-encoded) but `/`,
# a header any printable Latin-1 but leading or trailing whitespace.
_PATH_AWKWARD = "\n\r\t\x0b\x0c\x1b\x7f %?#;&=+@:,!$'()*[]{}|^`\"<>~éüñßøÅ日本語😀\u202e\u200b\u00a0\u3000"
_HEADER_AWKWARD = " %?#;&=+@:,!$'()*[]{}|^`\"<>~\\éüñßøÅ\u00a0©"
_HEADER_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "".join(chr(c) for c in range(0xA0, 0x100))
# Values that show whether a schema takes awkward text at all (a strict pattern takes none).
_TAME_PROBES = ("note-1", "abc", "a1", "x")
_PROBES = ("a\nb", "a b", "é", "a%b?c#d", "a" * LONG_MIN, "x;y")


@dataclass(frozen=True)
class RequestParameters:
    """Values for an operation's path, header and query parameters (the auth header aside)."""

    # Mappings take no part in the hash (a set of drawn parameters still works, by equality).
    path: Mapping[str, str] = field(hash=False)
    headers: Mapping[str, str] = field(hash=False)
    query: Mapping[str, str] = field(default_factory=dict, hash=False)


def path_transmittable(value: str) -> bool:
    """Whether `value` is one path segment a client sends as is: no `/`, not a dot segment, not too long."""
    return (
        bool(value)
        and "/" not in value
        and "\x00" not in value
        and value not in (".", "..")
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        and len(quote(value, safe="")) <= MAX_ENCODED_PATH_VALUE
    )


def header_transmittable(value: str) -> bool:
    """Whether an HTTP client sends `value` as a header value unchanged (printable Latin-1, no edge spaces)."""
    return (
        bool(value)
        and value == value.strip()
        and all(0x20 <= ord(c) < 0x7F or 0xA0 <= ord(c) <= 0xFF for c in value)
    )


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _inject(value: str, awkward: str, where: int) -> str:
    at = where % (len(value) + 1)
    return value[:at] + awkward + value[at:]


@dataclass(frozen=True)
class _Parameter:
    location: str
    name: str
    required: bool
    schema: Mapping[str, Any]
    # The documented examples (the parameter's `example`/`examples`, then its schema's).
    examples: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.location} parameter {self.name!r}"


def _typed_values(parameter: _Parameter) -> st.SearchStrategy[str]:
    """Values of a non-string parameter, as their text (`12`, `true`)."""
    types = set(schema_types(parameter.schema))
    if types & {"array", "object"}:
        raise UnsupportedSchema(f"{parameter.label}: array and object parameters are not supported")
    return from_schema(parameter.schema).map(_as_text)


def _realistic(parameter: _Parameter, valid: Callable[[str], bool]) -> st.SearchStrategy[str]:
    """Realistic values: the overlay for its name, else its documented examples, else plain text.

    Each falls back to the next when the schema refuses what it draws; the schema's own draws come last.
    """
    schema = parameter.schema
    overlay = PARAMETER_OVERLAYS.get(parameter.name)
    if overlay is not None and valid(overlay[1]):
        return overlay[0]().filter(valid)
    # Redacted sample ids (`...xxxx`, decision `sample-placeholders`) are not what a client sends.
    examples = [e for e in parameter.examples if isinstance(e, str) and valid(e) and not e.endswith("xxxx")]
    if examples:
        return st.sampled_from(examples)
    if any(valid(probe) for probe in _TAME_PROBES):
        low = max(int(schema.get("minLength", 1)), 1)
        high = max(low, min(int(schema.get("maxLength", 40)), 40))
        return st.text(st.sampled_from(_TAME), min_size=low, max_size=high).filter(valid)
    return from_schema(schema).map(_as_text).filter(valid)


def _hostile(
    parameter: _Parameter, valid: Callable[[str], bool], base: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    """Awkward values the parameter's schema still takes, or nothing when it takes none of them."""
    if parameter.location == "path":
        awkward, alphabet = _PATH_AWKWARD, _PATH_AWKWARD + string.ascii_letters
        long_alphabet = string.ascii_letters + string.digits + " %?#é\n"
    else:
        awkward, alphabet = _HEADER_AWKWARD, _HEADER_CHARACTERS
        long_alphabet = string.ascii_letters + string.digits + " %?#é;="
    if not any(valid(probe) for probe in _PROBES):
        return st.nothing()
    strategy = st.one_of(
        st.text(st.sampled_from(alphabet), min_size=1, max_size=30),
        st.builds(
            _inject, base, st.text(st.sampled_from(awkward), min_size=1, max_size=3), st.integers(0, 60)
        ),
        st.text(st.sampled_from(long_alphabet), min_size=LONG_MIN, max_size=LONG_MAX),
    )
    if parameter.location != "path":
        strategy = strategy.map(str.strip)
    return strategy.filter(valid)


def _values_of(parameter: _Parameter, hostile: bool) -> st.SearchStrategy[str]:
    validator = OAS31Validator(dict(parameter.schema), format_checker=oas31_format_checker)
    transmittable = path_transmittable if parameter.location == "path" else header_transmittable
    takes_text = not schema_types(parameter.schema) or "string" in schema_types(parameter.schema)
    if not takes_text:
        return _typed_values(parameter).filter(transmittable)

    def valid(value: str) -> bool:
        return transmittable(value) and bool(validator.is_valid(value))

    base = _realistic(parameter, valid)
    if not hostile:
        return base
    return st.one_of(base, _hostile(parameter, valid, base))


def _parameters(spec: ContractSpec, operation: Operation) -> tuple[_Parameter, ...]:
    found = []
    for p in request_parameters_of(spec, operation):
        location, name = str(p["in"]), str(p["name"])
        if location == "header" and name.lower() in _IGNORED_HEADERS:
            continue
        schema = p.get("schema")
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(f"{operation.id}: {location} parameter {name!r} has no `schema`")
        examples = (
            *([p["example"]] if "example" in p else []),
            *(e.get("value") for e in (p.get("examples") or {}).values() if isinstance(e, Mapping)),
            *(schema.get("examples") or []),
        )
        required = bool(p.get("required")) or location == "path"
        found.append(_Parameter(location, name, required, schema, tuple(examples)))
    return tuple(found)


def _location_values(
    parameters: tuple[_Parameter, ...], location: str, hostile: bool
) -> st.SearchStrategy[dict[str, str]]:
    chosen = [p for p in parameters if p.location == location]
    return st.fixed_dictionaries(
        {p.name: _values_of(p, hostile) for p in chosen if p.required},
        optional={p.name: _values_of(p, hostile) for p in chosen if not p.required},
    )


def request_parameters(
    *,
    spec: ContractSpec | None = None,
    operation: str | Operation | None = None,
    hostile: bool = False,
) -> st.SearchStrategy[RequestParameters]:
    """Path, header and query parameter values of the operation, valid by their schemas.

    The auth header is left to the caller. `hostile=True` mixes in awkward values the schemas still
    take (control characters, `%`, `?`, `#`, spaces, non-ASCII, up to 1000 characters).

    Example:
        >>> from hypothesis import given
        >>> @given(request_parameters())
        ... def test_stream(parameters):
        ...     assert parameters.path["streamId"].startswith("st-")
    """
    contract = spec if spec is not None else load_spec()
    chosen = resolve_operation(contract, operation)
    wanted = bool(hostile)

    def make() -> st.SearchStrategy[RequestParameters]:
        parameters = _parameters(contract, chosen)
        return st.builds(
            RequestParameters,
            _location_values(parameters, "path", wanted),
            _location_values(parameters, "header", wanted),
            _location_values(parameters, "query", wanted),
        )

    return PER_SPEC.get(contract, ("parameters", chosen.id, wanted), make)  # type: ignore[no-any-return]


# How a media type's name is written: as documented first, then the spellings a client uses.
_PARAMETER_SPELLINGS = ("", ";charset=UTF-8", "; charset=utf-8", ";charset=utf-8", "; charset=UTF-8")


def _spell(media_type: str, casing: int | Callable[[str], str], parameter: str) -> str:
    if callable(casing):
        return casing(media_type) + parameter
    # Bit i of `casing` upper-cases letter i; 0 keeps the documented spelling (what shrinking reaches).
    letters = [c.upper() if casing >> i & 1 else c for i, c in enumerate(media_type)]
    return "".join(letters) + parameter


def _capitalized(media_type: str) -> str:
    """`Application/JSON`: the type capitalised, the subtype upper-cased, as some clients write it."""
    kind, _, subtype = media_type.partition("/")
    return f"{kind.capitalize()}/{subtype.upper()}"


def media_types(
    *, spec: ContractSpec | None = None, operation: str | Operation | None = None
) -> st.SearchStrategy[str]:
    """Content-Type values the operation's request body is accepted in: its JSON media type in any case,
    with or without a charset parameter (`application/json; charset=utf-8`, `Application/JSON`).

    Example:
        >>> from hypothesis import given
        >>> @given(media_types())
        ... def test_json(content_type):
        ...     assert content_type.split(";")[0].lower() == "application/json"
    """
    contract = spec if spec is not None else load_spec()
    chosen = resolve_operation(contract, operation)
    documented = [m.split(";")[0].strip() for m in json_media_types(chosen) if "*" not in m]
    if not documented:
        raise ValueError(f"{chosen.id} documents no JSON request body media type")
    casings: st.SearchStrategy[int | Callable[[str], str]] = st.one_of(
        st.sampled_from([str.upper, _capitalized, str.title]),
        st.integers(0, 2 ** max(len(m) for m in documented) - 1),
    )
    return st.builds(
        _spell,
        st.sampled_from(documented),
        st.one_of(st.just(0), casings),
        st.sampled_from(_PARAMETER_SPELLINGS),
    )
