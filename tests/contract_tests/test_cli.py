"""Exit status 2 for usage errors, malformed specs and unreachable targets, with a message and no traceback;
`--help` says what each exit status means."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.contract_tests.apps import STREAM_ID, token


def run(*args: str) -> tuple[int, str]:
    from contract_tests.__main__ import cli

    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output + result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_target_exits_2_with_a_message() -> None:
    code, output = run(
        "--base-url", f"http://127.0.0.1:{free_port()}", "--stream-id", STREAM_ID, "--jwt", token()
    )
    assert code == 2, output
    assert "unreachable" in output and "Traceback" not in output


def test_remote_target_without_allow_writes_is_refused_before_any_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("the refusal must come before any connection")

    monkeypatch.setattr(socket.socket, "connect", no_connection)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    monkeypatch.setattr(socket, "getaddrinfo", no_connection)
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a real host.
    code, output = run("--base-url", "https://192.0.2.10", "--stream-id", STREAM_ID, "--jwt", token())
    assert code == 2, output
    assert "--allow-writes" in output and "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://127.0.0.1:9", "--stream-id", STREAM_ID], "--jwt"),
        (
            ["--base-url", "http://127.0.0.1:9", "--stream-id", STREAM_ID, "--client-id", "cs-1"],
            "client credentials",
        ),
        (["--base-url", "127.0.0.1:9", "--stream-id", STREAM_ID, "--jwt", "t"], "--base-url"),
        (
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--stream-id",
                STREAM_ID,
                "--jwt",
                "t",
                "--rate-limit",
                "fast",
            ],
            "--rate-limit",
        ),
        (
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--stream-id",
                STREAM_ID,
                "--jwt",
                "t",
                "--max-examples",
                "0",
            ],
            "--max-examples",
        ),
        (["--stream-id", STREAM_ID, "--jwt", "t"], "--base-url"),
        (["--base-url", "http://127.0.0.1:9", "--stream-id", STREAM_ID, "--jwt", ""], "empty token"),
        (
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--stream-id",
                STREAM_ID,
                "--client-id",
                "cs-1",
                "--client-secret",
                " ",
            ],
            "--client-secret",
        ),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KORE_JWT", raising=False)
    monkeypatch.delenv("KORE_CLIENT_ID", raising=False)
    monkeypatch.delenv("KORE_CLIENT_SECRET", raising=False)
    code, output = run(*args)
    assert code == 2, output
    assert message in output and "Traceback" not in output


def test_help_shows_a_working_example() -> None:
    code, output = run("--help")
    assert code == 0
    assert "python -m contract_tests --base-url http://127.0.0.1:4010" in output
    shown = " ".join(output.split())
    for sentence in (
        "Exit status: 0 no violation: every answer judged kept the contract (warnings allowed; a run that "
        "--max-time stopped counts what it judged)",
        "1 violations found (also when the run was interrupted or stopped after finding one)",
        "2 no verdict: a usage error (an option missing, malformed or unsafe; a malformed --spec), the target "
        "unreachable, no answer judged (e.g. every request refused with 429 until the budget ran out), or the "
        "run interrupted (Ctrl-C) before a violation was found",
        "A crash of this command itself prints a Python traceback and exits 1.",
    ):
        assert sentence in shown


def test_a_malformed_spec_exits_2_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "openapi.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x}\npaths: {}\n")
    code, output = run(
        "--base-url",
        f"http://127.0.0.1:{free_port()}",
        "--stream-id",
        STREAM_ID,
        "--jwt",
        token(),
        "--spec",
        str(broken),
    )
    assert code == 2, output
    assert "error: --spec:" in output and "version" in output and "Traceback" not in output
