"""The long, coverage-guided fuzz run (atheris, libFuzzer's engine) of one target.

    python -m tests.fuzz mock_pipeline -max_total_time=600 -timeout=20 [CORPUS_DIR]
    python -m tests.fuzz answers -max_total_time=600 -timeout=20 [CORPUS_DIR]

Every argument after the target's name is libFuzzer's (`-atheris_runs=N`, `-max_total_time=S`,
`-timeout=S` for a hang, `-jobs=N`, a corpus directory...). The target is the same Hypothesis test
the bounded run uses: atheris feeds it bytes (`fuzz_one_input`) and keeps those that reach new code
of the packages named below, which alone are instrumented. A crash prints the failing example and
leaves its input in `crash-*`; pin it in tests/fuzz/test_regressions.py (docs/fuzzing.md).
"""

from __future__ import annotations

import importlib
import sys

import atheris  # type: ignore[import-untyped]

TARGETS = {
    "mock_pipeline": (
        "fuzz_requests",
        (
            "mockserver",
            "spec",
            "generators",
            "werkzeug",
            "flask",
            "gunicorn",
            "openapi_core",
            "jsonschema_rs",
            "orjson",
        ),
    ),
    "answers": ("fuzz_answers", ("contract_tests", "spec", "httpx", "httpcore", "h11", "jsonschema_rs")),
}


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz {{{' | '.join(TARGETS)}}} [libFuzzer options] [CORPUS_DIR]")
    name = argv[1]
    function, packages = TARGETS[name]
    with atheris.instrument_imports(include=list(packages)):
        module = importlib.import_module(f"tests.fuzz.{name}")
    target = getattr(module, function)
    atheris.Setup([argv[0], *argv[2:]], target.hypothesis.fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
