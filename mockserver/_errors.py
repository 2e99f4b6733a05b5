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

from spec import Basis, Direction, Finding
from spec._judge import REQUEST_CONFORMANCE

if TYPE_CHECKING:
    from spec import ContractSpec, Operation


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
    """One thing wrong with a request: an entry of the error envelope.

    `detail` is the human text of the envelope; `received`, `documented` and `fix` are its parts when
    the check that found the violation knows them, `rule` what was broken (a schema keyword, `required`,
    `content-type`...), and `decision` the id of the decision that makes the rule (None: the seed page's).
    """

    kind: Kind
    msg: str
    pointer: str = ""
    detail: str = ""
    decision: str | None = None
    rule: str = ""
    received: str = ""
    documented: str = ""
    fix: str = ""

    @property
    def status(self) -> int:
        """The HTTP status this kind answers."""
        return FAILURES[self.kind].status

    def finding(self, operation_id: str) -> Finding:
        """The violation as the one judge's finding of a request that breaks the contract."""
        return Finding(
            check=REQUEST_CONFORMANCE,
            operation=operation_id,
            direction=Direction.REQUEST,
            pointer=self.pointer,
            basis=Basis.DECISION if self.decision else Basis.SEED,
            received=self.received or self.msg,
            documented=self.documented or self.detail,
            fix=self.fix,
            decision=self.decision,
            subject=self.rule or self.kind.value,
        )

    def __str__(self) -> str:
        return (
            f"{self.pointer}: {self.msg}"
            if self.pointer and not self.msg.startswith(self.pointer)
            else self.msg
        )


def explained(received: str, documented: str, fix: str = "", *, hint: str = "") -> str:
    """The envelope's `detail`: `[hint ]Received: ... Documented: ...[ Fix: ...]`."""
    text = f"Received: {received.rstrip('.')}. Documented: {documented.rstrip('.')}."
    if fix:
        text += f" Fix: {fix}"
    return f"{hint} {text}" if hint else text


def documented_status(status: int, documented: frozenset[int]) -> int:
    """`status` when documented, else the generic status of its class (400, 500) when that one is."""
    if status in documented:
        return status
    generic = status // 100 * 100
    return generic if generic in documented else status


class Envelopes:
    """Builds the platform's error envelope `{"errors": [...]}` for a list of violations."""

    def __init__(self, platform_errors: Mapping[int, tuple[str, int | str]]) -> None:
        self._platform = dict(platform_errors)

    @classmethod
    def from_contract(cls, contract: ContractSpec) -> Envelopes:
        """The envelopes of a contract: the platform's message and code for each error status it documents."""
        examples: dict[int, Mapping[str, Any]] = {}
        for operation in contract.operations.values():
            for status in sorted(operation.documented_statuses):
                if status >= 300 and status not in examples:
                    found = operation.response_examples(status)
                    if found:
                        examples[status] = found
        return cls.from_examples(examples)

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

    def status_of(self, violations: Iterable[Violation], operation: Operation | None = None) -> int:
        """The status of an answer listing these violations: the first one's (they share a kind class).

        For a request routed to `operation`, a status the operation does not document gives way to
        the generic status of its class (400 or 500) when the operation documents that one, so that
        every answer of an operation is one its clients are told to expect (a 431 is a 400 there).
        """
        status = 500
        for violation in violations:
            status = violation.status
            break
        if operation is None:
            return status
        return documented_status(status, operation.documented_statuses)

    def entry(self, violation: Violation) -> dict[str, Any]:
        """One envelope entry: `msg`, `code`, and the mock's `pointer`, `detail` and `decision` when known."""
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
        if violation.decision:
            entry["decision"] = violation.decision
        return entry

    def envelope(self, violations: Iterable[Violation]) -> dict[str, Any]:
        """The error envelope listing every violation."""
        return {"errors": [self.entry(v) for v in violations]}
