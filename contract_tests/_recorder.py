"""What a run judged: tallies per check, and per failing (operation, key) the request to show and shrink."""

from __future__ import annotations

from dataclasses import dataclass, field

from contract_tests._checks import check_of
from contract_tests._client import Exchange
from contract_tests._report import FAILURE, WARNING
from spec import Finding, Judgement
from spec._judge import Basis


def group_key(finding: Finding) -> tuple[str, str]:
    """Findings are grouped, shrunk and reported per operation and key."""
    return finding.operation, finding.key


@dataclass
class Group:
    """All failing answers of one operation's check key: counts and the request that reproduces it."""

    finding: Finding
    severity: str
    first: Exchange
    latest: Exchange
    count: int = 1
    # The Hypothesis run that shrinks this key (None: not shrunk); its failing requests only get smaller.
    explore: str | None = None
    shrunk: Exchange | None = None
    shrunk_finding: Finding | None = None


@dataclass
class Tally:
    judged: int = 0
    passed: int = 0
    warnings: int = 0
    failures: int = 0


@dataclass
class Recorder:
    """Counts the judge's checks per check name and keeps, per failing key, the request to show."""

    checks: list[str]
    strict: bool
    tallies: dict[str, Tally] = field(default_factory=dict)
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tallies = {name: Tally() for name in self.checks}

    def severity(self, finding: Finding) -> str:
        """Failure, or a warning for a rule the spec decided beyond the seed page (unless --strict)."""
        return WARNING if finding.basis is Basis.DECISION and not self.strict else FAILURE

    def record(
        self, exchange: Exchange, judgement: Judgement, *, explore: str | None = None, grouped: bool = True
    ) -> list[Finding]:
        """Count the judgement's checks; the failures (not warnings) among its findings.

        `grouped=False` only counts: the caller keeps the findings' reproductions (the stateful phase
        keeps sequences of calls, not single requests).
        """
        failing = []
        found = {finding.key: finding for finding in judgement.findings}
        for key in judgement.checks:
            tally = self.tallies.setdefault(check_of(key), Tally())
            tally.judged += 1
            finding = found.get(key)
            if finding is None:
                tally.passed += 1
                continue
            severity = self.severity(finding)
            if severity == WARNING:
                tally.warnings += 1
            else:
                tally.failures += 1
                failing.append(finding)
            if not grouped:
                continue
            where = group_key(finding)
            group = self.groups.get(where)
            if group is None:
                self.groups[where] = Group(finding, severity, exchange, exchange)
            elif severity == FAILURE and group.severity == WARNING:
                # A key that so far only warned now fails: report (and shrink) the failing answer.
                self.groups[where] = Group(finding, severity, exchange, exchange, count=group.count + 1)
            else:
                group.count += 1
                if explore is not None and group.explore == explore:
                    # While Hypothesis shrinks, each failing request is smaller than the one before.
                    group.latest, group.finding = exchange, finding
        return failing

    @property
    def failure_count(self) -> int:
        """Failing keys so far."""
        return sum(1 for g in self.groups.values() if g.severity == FAILURE)
