"""What a run found: failures with their reproduction, a summary table, JUnit XML, and live progress."""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from spec._judge import Finding

FAILURE = "failure"
WARNING = "warning"


@dataclass(frozen=True)
class Failure:
    """One check that an answer broke: the judge's finding as it gave it, how often, and how to replay it."""

    finding: Finding
    severity: str
    curl: str
    seed: int
    occurrences: int
    shrunk: bool
    note: str = ""
    # A failure of the stateful phase: the numbered calls of the shortest sequence that shows it
    # (each a heading line, then its curl), and the shell script written with --repro-dir.
    steps: tuple[str, ...] = ()
    script: str = ""
    # The other relations the same answer broke (the stateful phase reports the first only).
    also: tuple[str, ...] = ()

    @classmethod
    def from_finding(
        cls,
        finding: Finding,
        *,
        severity: str,
        curl: str,
        seed: int,
        occurrences: int,
        shrunk: bool,
        note: str = "",
    ) -> Failure:
        """A failure reported for a finding of the judge."""
        return cls(finding, severity, curl, seed, occurrences, shrunk, note)

    # The finding's fields, read through (the report never restates them).
    @property
    def check(self) -> str:
        """The judge's check name."""
        return self.finding.check

    @property
    def key(self) -> str:
        """The check and its subject, as the summary names it."""
        return self.finding.key

    @property
    def operation(self) -> str:
        """The operation of the exchange."""
        return self.finding.operation

    @property
    def basis(self) -> str:
        """`seed`, `decision` or `option`."""
        return self.finding.basis.value

    @property
    def received(self) -> str:
        """What the target answered."""
        return self.finding.received

    def entry(self) -> dict[str, Any]:
        """The failure as a JSON object: the finding's fields (`Finding.entry`), then the run's."""
        entry: dict[str, Any] = {"subject": "", "decision": None, "fix": "", **self.finding.entry()}
        entry.update(
            severity=self.severity,
            curl=self.curl,
            seed=self.seed,
            occurrences=self.occurrences,
            shrunk=self.shrunk,
        )
        if self.note:
            entry["note"] = self.note
        if self.steps:
            entry["steps"] = list(self.steps)
        if self.script:
            entry["script"] = self.script
        if self.also:
            entry["also"] = list(self.also)
        return entry

    def __str__(self) -> str:
        times = "once" if self.occurrences == 1 else f"{self.occurrences} times"
        how = "minimal request after shrinking" if self.shrunk else "the request as first sent"
        finding = self.finding
        where = f"{finding.operation}, " if finding.operation else ""
        decided = f"; decision {finding.decision}" if finding.decision else ""
        lines = [
            f"{self.severity.upper()}: {finding.key} (basis: {self.basis}{decided}; {where}"
            f"{finding.direction.value} {finding.pointer or '/'}; seen {times})",
            f"  Received:   {finding.received}",
            f"  Documented: {finding.documented}",
        ]
        if finding.fix:
            lines.append(f"  Fix:        {finding.fix}")
        if self.note:
            lines.append(f"  Note:       {self.note}")
        if self.steps:
            shortest = (
                "the shortest sequence after shrinking" if self.shrunk else "the shortest sequence found"
            )
            lines.append(f"  Reproduce ({shortest}, {len(self.steps)} call(s)):")
            for number, step in enumerate(self.steps, 1):
                head, *curl = step.splitlines()
                lines.append(f"    {number}. {head}")
                lines.extend("       " + line for line in curl)
            if self.script:
                lines.append(f"  Script:     bash {self.script}")
        else:
            lines.append(f"  Reproduce ({how}):")
            lines.extend("    " + line for line in self.curl.splitlines())
        lines.append(f"  Replay the run: --seed {self.seed}")
        return "\n".join(lines)


@dataclass(frozen=True)
class CheckSummary:
    """One row of the summary: how many answers a check judged, and how they fared."""

    check: str
    judged: int = 0
    passed: int = 0
    warnings: int = 0
    failures: int = 0
    skipped: str = ""


@dataclass(frozen=True)
class Coverage:
    """What a run exercised: each operation, each documented status and each relation, by name.

    `isolation` says per kind (accounts, streams) whether objects of another scope were there to be
    leaked: `exercised`, or `not run: <why>` (never reported as holding when it was not checked).
    """

    operations: tuple[tuple[str, bool], ...] = ()
    statuses: tuple[tuple[str, int, bool], ...] = ()
    relations: tuple[tuple[str, bool], ...] = ()
    isolation: tuple[tuple[str, str], ...] = ()

    def not_exercised(self) -> list[str]:
        """What the run did not exercise, by name."""
        return [
            *(f"operation {op}" for op, done in self.operations if not done),
            *(f"status {op} {status}" for op, status, done in self.statuses if not done),
            *(f"relation {rid}" for rid, done in self.relations if not done),
            *(f"isolation across {kind} ({state})" for kind, state in self.isolation if state != EXERCISED),
        ]

    def render(self) -> str:
        """One line of counts, then what was not exercised."""

        def count(rows: tuple[tuple[Any, ...], ...]) -> str:
            return f"{sum(1 for r in rows if r[-1])}/{len(rows)}"

        isolation = ", ".join(f"{kind} {state}" for kind, state in self.isolation)
        lines = [
            f"coverage: operations {count(self.operations)}, documented statuses {count(self.statuses)}, "
            f"relations {count(self.relations)}; isolation: {isolation or 'none'}"
        ]
        missing = self.not_exercised()
        if missing:
            lines.append("not exercised: " + ", ".join(missing))
        return "\n".join(lines)

    def entry(self) -> dict[str, Any]:
        """The coverage as a JSON object."""
        return {
            "operations": {op: done for op, done in self.operations},
            "statuses": [{"operation": op, "status": s, "exercised": done} for op, s, done in self.statuses],
            "relations": {rid: done for rid, done in self.relations},
            "isolation": {kind: state for kind, state in self.isolation},
            "not_exercised": self.not_exercised(),
        }


EXERCISED = "exercised"


@dataclass(frozen=True)
class Created:
    """An object the run created on the target (the platform has no delete)."""

    collection: str
    object_id: str
    account: str = ""
    stream: str = ""
    name: str = ""

    def entry(self) -> dict[str, str]:
        """The object as a JSON object."""
        return {
            "collection": self.collection,
            "_id": self.object_id,
            "account": self.account,
            "stream": self.stream,
            "name": self.name,
        }


# Created objects listed by id in the text report, per collection (all of them in the JSON report).
CREATED_SHOWN = 10


@dataclass(frozen=True)
class ContractReport:
    """The outcome of a run; `exit_code` is 0 when the contract holds and 1 when it is broken."""

    base_url: str
    seed: int
    checks: tuple[CheckSummary, ...]
    failures: tuple[Failure, ...]
    warnings: tuple[Failure, ...]
    requests_sent: int
    rate_limited: int
    duration_s: float
    stopped: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The operations the run tested, by operationId.
    operations: tuple[str, ...] = ()
    # Ctrl-C ended the run: a report so far, which cannot say the contract holds.
    interrupted: bool = False
    coverage: Coverage | None = None
    # What the run created, and the name prefix the stateful phase marks its objects with.
    created: tuple[Created, ...] = ()
    marker: str = ""

    @property
    def ok(self) -> bool:
        """Whether no check failed (warnings allowed)."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """0: the contract holds; 1: violations found; 2: interrupted before any violation was found."""
        if not self.ok:
            return 1
        return 2 if self.interrupted else 0

    @property
    def requests_per_second(self) -> float:
        """Requests sent per second of the run."""
        return self.requests_sent / self.duration_s if self.duration_s > 0 else 0.0

    def render(self) -> str:
        """The failures, the warnings and the summary table as plain text."""
        parts = [str(f) for f in self.failures] + [str(w) for w in self.warnings]
        parts.append(self.summary_table())
        if self.coverage is not None:
            parts.append(self.coverage.render())
        parts.append(self.created_text())
        return "\n\n".join(parts) + "\n"

    def created_text(self) -> str:
        """What the run created, per collection (the platform has no delete: find them here)."""
        if not self.created:
            return "created by this run: nothing"
        by_collection: dict[str, list[Created]] = {}
        for made in self.created:
            by_collection.setdefault(made.collection, []).append(made)
        counts = ", ".join(f"{len(v)} {k}" for k, v in by_collection.items())
        marked = f"; the sequences' objects are named with the prefix {self.marker}" if self.marker else ""
        lines = [f"created by this run (the platform has no delete): {counts}{marked}"]
        for collection, objects in by_collection.items():
            shown = [m.object_id for m in objects if self.marker and m.name.startswith(self.marker)]
            shown = (shown or [m.object_id for m in objects])[:CREATED_SHOWN]
            more = len(objects) - len(shown)
            lines.append(
                f"  {collection}: {', '.join(shown)}"
                + (f" and {more} more (--json-report lists all)" if more else "")
            )
        return "\n".join(lines)

    def summary_table(self) -> str:
        """The summary: one row per check, then the totals."""
        header = ("check", "judged", "passed", "warnings", "failures")
        rows = [
            (
                c.check,
                str(c.judged),
                str(c.passed),
                str(c.warnings),
                str(c.failures) if not c.skipped else f"skipped: {c.skipped}",
            )
            for c in self.checks
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        lines = []
        for row in [header, *rows]:
            cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, len(row) - 1)]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        lines.insert(1, "-" * max(len(line) for line in lines))
        failing_checks = len({f.check for f in self.failures})
        verdict = (
            f"the contract is broken: {len(self.failures)} failure(s) in {failing_checks} check(s)"
            if not self.ok
            else "no violation found before the run was interrupted"
            if self.interrupted
            else "the contract holds"
        )
        lines.append("")
        lines.append(
            f"{verdict}; {len(self.warnings)} warning(s); {self.requests_sent} requests in {self.duration_s:.1f} s "
            f"({self.requests_per_second:.1f}/s, {self.rate_limited} answered 429 and waited out); seed {self.seed}"
        )
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        lines.extend(self.notes)
        return "\n".join(lines)

    def entry(self) -> dict[str, Any]:
        """The report as a JSON object: the run, each check's tally, the failures and warnings with their findings' fields."""
        return {
            "base_url": self.base_url,
            "seed": self.seed,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "operations": list(self.operations),
            "requests_sent": self.requests_sent,
            "rate_limited": self.rate_limited,
            "duration_s": round(self.duration_s, 3),
            "stopped": self.stopped,
            "notes": list(self.notes),
            "checks": [
                {
                    "check": c.check,
                    "judged": c.judged,
                    "passed": c.passed,
                    "warnings": c.warnings,
                    "failures": c.failures,
                    "skipped": c.skipped,
                }
                for c in self.checks
            ],
            "failures": [f.entry() for f in self.failures],
            "warnings": [w.entry() for w in self.warnings],
            "coverage": self.coverage.entry() if self.coverage is not None else None,
            "marker": self.marker,
            "created": [c.entry() for c in self.created],
        }

    def write_json(self, path: Path) -> None:
        """Write the report as JSON to `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.entry(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def junit_xml(self) -> str:
        """The report as JUnit XML: one testcase per check, a <failure> per failing key."""
        suite = ET.Element(
            "testsuite",
            name="contract_tests",
            tests=str(len(self.checks)),
            failures=str(sum(1 for c in self.checks if c.failures)),
            skipped=str(sum(1 for c in self.checks if c.skipped)),
            errors="0",
            time=f"{self.duration_s:.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("base_url", self.base_url),
            ("seed", str(self.seed)),
            ("requests", str(self.requests_sent)),
        ):
            ET.SubElement(properties, "property", name=name, value=value)
        for summary in self.checks:
            case = ET.SubElement(suite, "testcase", classname="contract_tests", name=summary.check, time="0")
            if summary.skipped:
                ET.SubElement(case, "skipped", message=summary.skipped)
                continue
            for failure in self.failures:
                if failure.check == summary.check:
                    node = ET.SubElement(
                        case,
                        "failure",
                        message=f"{failure.key} ({failure.operation} {failure.finding.pointer}): {failure.received}"[
                            :500
                        ],
                        type=failure.basis,
                    )
                    node.text = str(failure)
            warnings = [str(w) for w in self.warnings if w.check == summary.check]
            if warnings:
                ET.SubElement(case, "system-out").text = "\n\n".join(warnings)
        if self.coverage is not None:
            # One skipped testcase per thing not exercised: CI dashboards show them by name.
            for name in self.coverage.not_exercised():
                case = ET.SubElement(
                    suite, "testcase", classname="contract_tests.coverage", name=name, time="0"
                )
                ET.SubElement(case, "skipped", message=f"not exercised: {name}")
            ET.SubElement(properties, "property", name="coverage", value=self.coverage.render())
        if self.created:
            ET.SubElement(suite, "system-out").text = self.created_text()
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
        return ET.tostring(suite, encoding="unicode", xml_declaration=True)

    def write_junit(self, path: Path) -> None:
        """Write the JUnit XML to `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.junit_xml() + "\n", encoding="utf-8")


class Progress:
    """Live progress: a line rewritten in place on a terminal, plain lines otherwise (CI logs)."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._last = 0.0
        self._width = 0

    def phase(self, text: str) -> None:
        """A scenario starts or ends: always its own line."""
        self._clear()
        self.stream.write(f"[contract] {text}\n")
        self.stream.flush()

    def update(self, sent: int, failures: int, remaining_s: float) -> None:
        """Requests sent, failures so far, time left; shown at most ten times a second, on a terminal only."""
        if not self.live:
            return
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        text = f"[contract] {sent} requests sent, {failures} failing check(s), {remaining_s:.0f} s left in the budget"
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()

    def done(self) -> None:
        """End the live line."""
        self._clear()

    def _clear(self) -> None:
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
            self.stream.flush()


class SilentProgress(Progress):
    """No progress at all (the pytest mode and the library's default)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr, live=False)

    def phase(self, text: str) -> None:
        """Say nothing."""

    def update(self, sent: int, failures: int, remaining_s: float) -> None:
        """Say nothing."""
