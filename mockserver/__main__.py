"""`python -m mockserver` (or `kore-mock`): serve the mock, or mint a token for it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson
from jwt.warnings import InsecureKeyLengthWarning

from mockserver._auth import DEVELOPMENT_SECRET, SAMPLE_APP_ID, mint_token
from mockserver._config import MockConfig, ProxyConfig, ServerConfig, documented_rate
from mockserver._errors import ConfigError
from mockserver._store import StateFileError, WorldError
from spec import Operation, SpecError, load_spec

_Config = TypeVar("_Config", bound=ServerConfig)


def _config_from_options(config_class: type[_Config], options: dict[str, Any]) -> _Config:
    """The config of the options (click has read their variables and defaults); a bad value is a usage error."""
    try:
        return config_class(**options)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _until_interrupted(run: Callable[[], None]) -> None:
    """Serve; a spec that does not load is the user's error, told in one line."""
    try:
        run()
    except SpecError as exc:
        raise click.ClickException(f"the spec does not load: {exc}") from None
    except (StateFileError, WorldError) as exc:
        # A state file or world the mock cannot start from: the file and every problem, no traceback.
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
def cli() -> None:
    """The Create a task mock: the platform's validation, auth and errors, with realistic tasks.

    \b
    Examples:
      python -m mockserver serve
      python -m mockserver serve --seed 42 --freeze-time 2025-06-04T10:18:00.725Z
      python -m mockserver token --app-id cs-... > token.txt
    """
    # The secret is the app's client secret, whatever its length: PyJWT's advice to use 32 bytes or
    # more is not the mock's user's to follow. Only this command's process is affected.
    warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)


@cli.command()
@MockConfig.options()
@click.option("--dev", is_flag=True, help="Flask's reloader: restart when the spec or the code changes.")
def serve(dev: bool, **options: Any) -> None:
    """Serve the mock (gunicorn) on http://127.0.0.1:4010 until interrupted.

    \b
    Examples:
      python -m mockserver serve
      python -m mockserver serve --port 8080 --workers 4 --cors-origin http://localhost:3000
      python -m mockserver serve --jwt-secret "$CLIENT_SECRET" --rate-limit 60/min
      python -m mockserver serve --latency 100-400 --error-rate 0.05
      python -m mockserver serve --seed 42 --freeze-time 2025-06-04T10:18:00.725Z --state-file mock.sqlite3
      KORE_MOCK_PORT=8080 python -m mockserver serve --dev

    \b
    Then:
      curl -s http://127.0.0.1:4010/__admin/health
      curl -s http://127.0.0.1:4010/caseManagement/api/public/analytics/st-1/createTask \\
        -H "auth: $(python -m mockserver token)" -H 'Content-Type: application/json' \\
        -d '{"caseId":"ci-1","caseRefId":"CS000131","taskTmp":"ttm-1",
             "userInfo":{"_id":"u-1","name":"dummy"},"source":"rtm"}'
      curl -s ...same... -H 'Prefer: code=401'          (or ?__code=401, example=, dynamic=false, seed=)
    """
    from mockserver._serve import MOCK_SERVER, configure_logging
    from mockserver._serve import serve as run

    config = _config_from_options(MockConfig, options)
    configure_logging(config.log_level, config.log_file)
    _until_interrupted(lambda: run(config, MOCK_SERVER, banner=_banner, dev=dev))


@cli.command()
@click.option(
    "--app-id", default=SAMPLE_APP_ID, show_default=True, help="The `appId` claim (the app's client id)."
)
@click.option(
    "--secret",
    envvar="KORE_MOCK_JWT_SECRET",
    default=DEVELOPMENT_SECRET,
    show_default=True,
    help="HS256 secret (the app's client secret; env KORE_MOCK_JWT_SECRET).",
)
@click.option("--expires-in", type=int, default=None, help="Seconds until `exp`; none by default.")
@click.option("--sub", default="mock-user", show_default=True, help="The `sub` claim.")
def token(app_id: str, secret: str, expires_in: int | None, sub: str) -> None:
    """Print a JWT for the `auth` header.

    \b
    Example:
      curl -H "auth: $(python -m mockserver token)" ...
    """
    if not secret:
        raise click.BadParameter(
            "the secret is empty (is the variable holding it set?); without --jwt-secret the mock accepts "
            "any well-formed token, so any non-empty secret will do",
            param_hint="--secret",
        )
    click.echo(mint_token(app_id, secret, sub=sub, expires_in=expires_in))


def _banner(config: MockConfig) -> None:
    """What to do next: the URL, the docs, a curl that works."""
    from mockserver._gunicorn import bind_address

    base = f"http://{bind_address(config.host, config.port)}"
    secret = config.jwt_secret or DEVELOPMENT_SECRET
    sample = mint_token(SAMPLE_APP_ID, secret)
    contract = load_spec(config.spec_path)
    operation = next((op for op in contract.operations.values() if op.request_examples), None)
    documented = documented_rate(contract)
    rate = str(config.rate_limit) if config.rate_limit is not None else "off"
    if documented is not None and config.rate_limit != documented:
        rate += f" (the platform documents {documented}: --rate-limit {documented})"
    try_it = "" if operation is None else _sample_curl(base, operation, sample)
    click.echo(
        f"Kore Case Management mock on {base}\n"
        f"  docs:     {base}/docs/\n"
        f"  spec:     {base}/openapi.json\n"
        f"  journal:  {base}/__admin/requests\n"
        f"  state:    {config.state_file}\n"
        f"  rate:     {rate}\n"
        f"  seed:     {config.seed if config.seed is not None else 'random'}"
        f"{', time frozen at ' + config.freeze_time.isoformat() if config.freeze_time else ''}\n"
        f"{try_it}",
        err=True,
    )


def _sample_curl(base: str, operation: Operation, token: str) -> str:
    """A curl sending the operation's first documented request, with the parameters' documented examples."""
    values = {
        str(p["name"]): str(p.get("example") or f"{p['name']}-1")
        for p in operation.parameters
        if p.get("in") in ("path", "header")
    }
    path = operation.path(**{name: values[name] for name in operation.path_parameters})
    headers = "".join(
        f"    -H '{p['name']}: {values[str(p['name'])]}' \\\n"
        for p in operation.parameters_in("header")
        if p.get("required")
    )
    body = orjson.dumps(next(iter(operation.request_examples.values()))).decode().replace("'", "'\\''")
    return (
        f"Try:\n"
        f"  curl -s -X {operation.method} {base}{path} \\\n"
        f"    -H 'auth: {token}' \\\n"
        f"{headers}"
        f"    -H 'Content-Type: application/json' \\\n"
        f"    -d '{body}'"
    )


@cli.command()
@ProxyConfig.options()
def proxy(**options: Any) -> None:
    """Forward to a real implementation and check both directions against the contract.

    Each request goes to --upstream unchanged; the upstream's answer comes back unchanged with
    `X-Contract-Violations: <n>`, and every violation is logged and journaled (GET /__admin/requests).
    An unreachable upstream answers 502, a slow one 504, in the platform's error envelope.

    \b
    Examples:
      python -m mockserver proxy --upstream http://127.0.0.1:8080
      python -m mockserver proxy --upstream https://staging.example.com --strict --timeout 5
      KORE_PROXY_UPSTREAM=http://127.0.0.1:8080 python -m mockserver proxy --port 9000

    \b
    Try it against the mock itself:
      python -m mockserver serve &                 (the mock, on port 4010)
      python -m mockserver proxy --upstream http://127.0.0.1:4010
      curl -si http://127.0.0.1:4011/caseManagement/api/public/analytics/st-1/createTask \\
        -H "auth: $(python -m mockserver token)" -H 'Content-Type: application/json' \\
        -d '{"caseId":"ci-1","caseRefId":"CS000131","taskTmp":"ttm-1",
             "userInfo":{"_id":"u-1","name":"dummy"},"source":"rtm"}'     (X-Contract-Violations: 0)
      curl -s http://127.0.0.1:4011/__admin/requests      (the journal, with each violation's pointer)
    """
    from mockserver._serve import configure_logging
    from mockserver._serve import serve as run
    from mockserver.proxy import PROXY_SERVER

    config = _config_from_options(ProxyConfig, options)
    configure_logging(config.log_level, config.log_file)
    _until_interrupted(lambda: run(config, PROXY_SERVER, banner=_proxy_banner))


def _proxy_banner(config: ProxyConfig) -> None:
    """Where the proxy listens, what it forwards to, and where to look."""
    from mockserver._gunicorn import bind_address

    base = f"http://{bind_address(config.host, config.port)}"
    click.echo(
        f"Kore contract validation proxy on {base}\n"
        f"  upstream: {config.upstream} (timeout {config.timeout:g} s)\n"
        f"  mode:     {'strict: invalid requests are answered by the proxy' if config.strict else 'forward everything'}\n"
        f"  journal:  {base}/__admin/requests\n"
        f"  state:    {config.state_file}\n"
        f"Every answer carries X-Contract-Violations; violations are logged below.",
        err=True,
    )


if __name__ == "__main__":
    cli()
