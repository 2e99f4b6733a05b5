"""The mock's failures: one table from each kind of failure to its HTTP status and envelope code.

Handlers never pick a status themselves; they produce `Violation`s of a `Kind`, and `FAILURES` decides
what the client sees. The platform documents its own message and code for some statuses (401 answers
`Invalid SDK credentials`, 4002); those are read from the spec's examples at start-up by
`Envelopes`, so this module restates none of them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spec import ContractSpec


class MockError(Exception):
    """Root of the mock server's errors."""


@dataclass(frozen=True)
class ConfigError(MockError):
    """A configuration value (option or environment variable) that cannot be used."""

    name: str
    received: str
    expected: str

    def __str__(self) -> str:
        return f"{self.name}: received {self.received!r}; expected {self.expected}"


class Kind(enum.Enum):
    """What went wrong with a request, as far as the client is concerned."""

    MALFORMED_BODY = "malformed-body"
    INVALID_REQUEST = "invalid-request"
    INVALID_CONTROL = "invalid-control"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not-found"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    BODY_TOO_LARGE = "body-too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    HEADERS_TOO_LARGE = "headers-too-large"
    RATE_LIMITED = "rate-limited"
    INJECTED_ERROR = "injected-error"
    INJECTED_UNAVAILABLE = "injected-unavailable"
    DOCS_NOT_BUILT = "docs-not-built"
    SPEC_BROKEN = "spec-broken"
    MOCK_BUG = "mock-bug"
    UPSTREAM_UNREACHABLE = "upstream-unreachable"
    UPSTREAM_TIMEOUT = "upstream-timeout"
    PROXY_BUG = "proxy-bug"


@dataclass(frozen=True)
class Failure:
    """How the client sees one kind: the status, and whether the platform fixes message and code."""

    status: int
    platform_message: bool = False


# The one table. `platform_message=True`: the envelope's `msg` and `code` are the platform's own,
# taken from the first example the spec documents for that status (401 -> Invalid SDK credentials,
# 4002); the mock's explanation then goes to `detail`, so a client matching on `msg` behaves as
# against the platform. Otherwise `code` is the HTTP status and `msg` is the mock's message.
FAILURES: Mapping[Kind, Failure] = {
    Kind.MALFORMED_BODY: Failure(400),
    Kind.INVALID_REQUEST: Failure(400),
    Kind.INVALID_CONTROL: Failure(400),
    Kind.UNAUTHORIZED: Failure(401, platform_message=True),
    Kind.NOT_FOUND: Failure(404),
    Kind.METHOD_NOT_ALLOWED: Failure(405),
    Kind.BODY_TOO_LARGE: Failure(413),
    Kind.UNSUPPORTED_MEDIA_TYPE: Failure(415),
    Kind.HEADERS_TOO_LARGE: Failure(431),
    Kind.RATE_LIMITED: Failure(429, platform_message=True),
    Kind.INJECTED_ERROR: Failure(500, platform_message=True),
    Kind.INJECTED_UNAVAILABLE: Failure(503, platform_message=True),
    Kind.DOCS_NOT_BUILT: Failure(503),
    Kind.SPEC_BROKEN: Failure(503),
    Kind.MOCK_BUG: Failure(500),
    # The validation proxy's own answers: no upstream answer, or a bug of the proxy.
    Kind.UPSTREAM_UNREACHABLE: Failure(502),
    Kind.UPSTREAM_TIMEOUT: Failure(504),
    Kind.PROXY_BUG: Failure(500),
}


@dataclass(frozen=True)
class Violation:
    """One thing wrong with a request: an entry of the error envelope."""

    kind: Kind
    msg: str
    pointer: str = ""
    detail: str = ""

    @property
    def status(self) -> int:
        """The HTTP status this kind answers."""
        return FAILURES[self.kind].status

    def __str__(self) -> str:
        return (
            f"{self.pointer}: {self.msg}"
            if self.pointer and not self.msg.startswith(self.pointer)
            else self.msg
        )


class Envelopes:
    """Builds the platform's error envelope `{"errors": [...]}` for a list of violations."""

    def __init__(self, platform_errors: Mapping[int, tuple[str, int | str]]) -> None:
        self._platform = dict(platform_errors)

    @classmethod
    def from_contract(cls, contract: ContractSpec) -> Envelopes:
        """The envelopes of a contract: the platform's message and code for each error status it documents."""
        return cls.from_examples(
            {
                int(s): contract.error_examples(s)
                for s in contract.operation["responses"]
                if not s.startswith("2")
            }
        )

    @classmethod
    def from_examples(cls, examples_by_status: Mapping[int, Mapping[str, Any]]) -> Envelopes:
        """Read the platform's message and code for each status from the first documented example."""
        platform: dict[int, tuple[str, int | str]] = {}
        for status, examples in examples_by_status.items():
            for example in examples.values():
                errors = example.get("errors") if isinstance(example, Mapping) else None
                if errors:
                    platform[status] = (str(errors[0]["msg"]), errors[0].get("code", status))
                    break
        return cls(platform)

    def status_of(self, violations: Iterable[Violation]) -> int:
        """The status of an answer listing these violations: the first one's (they share a kind class)."""
        for violation in violations:
            return violation.status
        return 500

    def entry(self, violation: Violation) -> dict[str, Any]:
        """One envelope entry: `msg`, `code`, and the mock's `pointer` and `detail` when known."""
        failure = FAILURES[violation.kind]
        msg: str = violation.msg
        code: int | str = failure.status
        detail = violation.detail
        if failure.platform_message and failure.status in self._platform:
            platform_msg, platform_code = self._platform[failure.status]
            # The mock's own words move to `detail` so that `msg` is exactly the platform's.
            detail = f"{violation.msg}. {detail}".strip() if detail else violation.msg
            msg, code = platform_msg, platform_code
        entry: dict[str, Any] = {"msg": msg, "code": code}
        if violation.pointer:
            entry["pointer"] = violation.pointer
        if detail:
            entry["detail"] = detail
        return entry

    def envelope(self, violations: Iterable[Violation]) -> dict[str, Any]:
        """The error envelope listing every violation."""
        return {"errors": [self.entry(v) for v in violations]}
