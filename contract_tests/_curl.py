"""A failing request as a `curl` command that sends the same bytes, with secrets replaced by variables."""

from __future__ import annotations

import shlex

from contract_tests._client import PreparedRequest


def to_curl(request: PreparedRequest, *, show_secrets: bool = False) -> str:
    """A shell command that sends exactly `request`; secret header values become `$VARIABLES`.

    Example:
        >>> from contract_tests._client import PreparedRequest
        >>> print(to_curl(PreparedRequest("POST", "http://127.0.0.1:4010/x", (("auth", "t0k"),), b"{}", (("t0k", "$KORE_JWT"),))))
        curl -sS -X POST 'http://127.0.0.1:4010/x' \\
          -H "auth: $KORE_JWT" \\
          -H 'Content-Type:' \\
          --data-binary '{}'
    """
    placeholders = dict(request.secrets)
    lines = [f"curl -sS -X {request.method} {shlex.quote(request.url)}"]
    for name, value in request.headers:
        if value in placeholders and not show_secrets:
            # Double quotes so the shell expands the variable the reader exports.
            lines.append(f'-H "{name}: {placeholders[value]}"')
        else:
            lines.append(f"-H {shlex.quote(f'{name}: {value}')}")
    if request.body is not None and request.header("content-type") is None:
        # curl adds `Content-Type: application/x-www-form-urlencoded` to a body unless told not to.
        lines.append("-H 'Content-Type:'")
    prefix = ""
    if request.body is not None:
        text = _plain_text(request.body)
        if text is not None:
            lines.append(f"--data-binary {shlex.quote(text)}")
        else:
            # Bytes a shell word cannot hold (NUL, invalid UTF-8, a leading @ that curl reads as a file
            # name) go through printf's octal escapes on stdin, which reproduce them exactly.
            prefix = f"printf {shlex.quote(_printf_format(request.body))} | "
            lines.append("--data-binary @-")
    return prefix + " \\\n  ".join(lines)


def _plain_text(body: bytes) -> str | None:
    """The body as text when a quoted shell word reproduces it exactly, else None."""
    if body.startswith(b"@") or b"\x00" in body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        return None
    return text


def _printf_format(body: bytes) -> str:
    """A printf format string whose output is exactly `body` (POSIX octal escapes)."""
    out = []
    for byte in body:
        char = chr(byte)
        if char == "\\":
            out.append("\\\\")
        elif char == "%":
            out.append("%%")
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)
