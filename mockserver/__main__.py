"""`python -m mockserver` (or `kore-mock`): serve the mock, or mint a token for it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from click.core import ParameterSource
from jwt.warnings import InsecureKeyLengthWarning

from mockserver._auth import DEVELOPMENT_SECRET, SAMPLE_APP_ID, mint_token
from mockserver._config import (
    LOG_LEVELS,
    SETTINGS,
    MockConfig,
    Setting,
    parse_instant,
    parse_latency,
    parse_rate_limit,
    parse_seconds,
    parse_size,
)
from mockserver._errors import ConfigError
from mockserver._proxy_config import PROXY_SETTINGS, ProxyConfig
from spec import SpecError, load_spec

_SAMPLE_STREAM = "st-084d3c5e-376a-559f-9987-a012bb2b1234"
_F = TypeVar("_F", bound=Callable[..., Any])
_Config = TypeVar("_Config", MockConfig, ProxyConfig)


def _env_table(settings: tuple[Setting, ...]) -> str:
    """The --help epilog listing a command's environment variables."""
    width = max(len(s.env) for s in settings)
    lines = [f"  {s.env.ljust(width)}  {s.help} (e.g. {s.example})" for s in settings]
    return "\b\nEnvironment variables (options win over them):\n" + "\n".join(lines)


def _parsed(
    parse: Callable[[str, str], Any], name: str
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback running one of the config's parsers, so options and env vars parse alike."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            return parse(value, name)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def _options(*decorators: Callable[[_F], _F]) -> Callable[[_F], _F]:
    """Several click options as one decorator, in the order given."""

    def decorate(command: _F) -> _F:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return decorate


def _listen_options(*, port: int, threads: int) -> Callable[[_F], _F]:
    """--host, --port, --workers and --threads, whose defaults the help states."""
    return _options(
        click.option("--host", default=None, help="Interface to bind.  [default: 127.0.0.1]"),
        click.option("--port", type=int, default=None, help=f"Port.  [default: {port}]"),
        click.option("--workers", type=int, default=None, help="gunicorn worker processes.  [default: 2]"),
        click.option("--threads", type=int, default=None, help=f"Threads per worker.  [default: {threads}]"),
    )


def _state_file_option(help_text: str) -> Callable[[_F], _F]:
    """--state-file, a SQLite file."""
    return click.option(
        "--state-file", type=click.Path(dir_okay=False, path_type=Path), default=None, help=help_text
    )


_cors_origin_option = click.option(
    "--cors-origin", "cors_origins", multiple=True, help="Allowed browser origin (repeatable).  [default: *]"
)


def _contract_options(*, spec_help: str, log_level_help: str) -> Callable[[_F], _F]:
    """--spec, --journal-size and --log-level."""
    return _options(
        click.option(
            "--spec",
            "spec_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help=spec_help,
        ),
        click.option(
            "--journal-size",
            type=int,
            default=None,
            help="Requests kept by GET /__admin/requests.  [default: 1000]",
        ),
        click.option(
            "--log-level",
            type=click.Choice(LOG_LEVELS),
            default=None,
            help=log_level_help,
        ),
    )


def _config_from_command_line(
    from_env: Callable[..., _Config], cors_origins: tuple[str, ...], options: dict[str, Any]
) -> _Config:
    """The config from the environment and the options really given; a bad value is a usage error."""
    context = click.get_current_context()
    given = {
        k: v for k, v in options.items() if context.get_parameter_source(k) is ParameterSource.COMMANDLINE
    }
    if cors_origins:
        given["cors_origins"] = cors_origins
    try:
        return from_env(**given)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


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


@cli.command(epilog=_env_table(SETTINGS))
@_listen_options(port=MockConfig.port, threads=MockConfig.threads)
@click.option(
    "--seed", type=int, default=None, help="Seed every generated value: same seed and requests, same answers."
)
@click.option("--jwt-secret", default=None, help="Verify the JWT's HS256 signature with this client secret.")
@_state_file_option("SQLite file of journal and counters; kept across restarts.  [default: a temporary file]")
@click.option(
    "--body-limit",
    default=None,
    callback=_parsed(parse_size, "--body-limit"),
    help="Largest body, e.g. 1MiB; larger answers 413.",
)
@click.option(
    "--header-limit",
    default=None,
    callback=_parsed(parse_size, "--header-limit"),
    help="Largest header section, e.g. 64KiB; larger answers 431.",
)
@click.option(
    "--latency",
    default=None,
    callback=_parsed(parse_latency, "--latency"),
    metavar="MS[-MS]",
    help="Added delay per request.",
)
@click.option(
    "--error-rate", type=float, default=None, metavar="R", help="Fraction of valid requests answered 500/503."
)
@click.option(
    "--rate-limit",
    default=None,
    callback=_parsed(parse_rate_limit, "--rate-limit"),
    metavar="N/min",
    help="Per-account limit answering 429 (the platform: 60/min).",
)
@_cors_origin_option
@click.option(
    "--freeze-time",
    default=None,
    callback=_parsed(parse_instant, "--freeze-time"),
    metavar="ISO",
    help="Fix the clock of created tasks.",
)
@_contract_options(
    spec_help="Contract to serve.  [default: the bundled spec]", log_level_help="[default: info]"
)
@click.option("--dev", is_flag=True, help="Flask's reloader: restart when the spec or the code changes.")
def serve(dev: bool, cors_origins: tuple[str, ...], **options: Any) -> None:
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
    from mockserver._app import create_app
    from mockserver._serve import configure_logging
    from mockserver._serve import serve as run

    config = _config_from_command_line(MockConfig.from_env, cors_origins, options)
    configure_logging(config.log_level)
    run(config, dev=dev, create=create_app, banner=_banner)


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
    examples = load_spec(config.spec_path).request_examples
    body = orjson.dumps(next(iter(examples.values()))).decode().replace("'", "'\\''")
    click.echo(
        f"Kore Create a task mock on {base}\n"
        f"  docs:     {base}/docs/\n"
        f"  spec:     {base}/openapi.json\n"
        f"  journal:  {base}/__admin/requests\n"
        f"  state:    {config.state_file}\n"
        f"  seed:     {config.seed if config.seed is not None else 'random'}"
        f"{', time frozen at ' + config.freeze_time.isoformat() if config.freeze_time else ''}\n"
        f"Try:\n"
        f"  curl -s {base}/caseManagement/api/public/analytics/{_SAMPLE_STREAM}/createTask \\\n"
        f"    -H 'auth: {sample}' \\\n"
        f"    -H 'Content-Type: application/json' \\\n"
        f"    -d '{body}'",
        err=True,
    )


@cli.command(epilog=_env_table(PROXY_SETTINGS))
@click.option(
    "--upstream",
    default=None,
    metavar="URL",
    help="The implementation to forward to (required; or KORE_PROXY_UPSTREAM).",
)
@_listen_options(port=ProxyConfig.port, threads=ProxyConfig.threads)
@click.option(
    "--strict/--no-strict",
    default=False,
    help="Answer an invalid request 400 (401 without `auth`, 415 for a non-JSON body) instead of forwarding it.",
)
@click.option(
    "--timeout",
    default=None,
    callback=_parsed(parse_seconds, "--timeout"),
    metavar="SECONDS",
    help="Wait this long for the upstream, then answer 504.  [default: 30]",
)
@click.option(
    "--body-limit",
    default=None,
    callback=_parsed(parse_size, "--body-limit"),
    metavar="SIZE",
    help="Largest request body forwarded, e.g. 20MiB; a larger one is answered 413 and never forwarded.  "
    "[default: 10MiB]",
)
@_state_file_option(
    "SQLite file of the journal (the mock's format; may be the mock's own file).  [default: temporary]"
)
@_cors_origin_option
@_contract_options(
    spec_help="Contract to check against.  [default: the bundled spec]",
    log_level_help="[default: info]; warning shows only requests with violations.",
)
def proxy(cors_origins: tuple[str, ...], **options: Any) -> None:
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
    from mockserver._proxy import serve_proxy
    from mockserver._serve import configure_logging

    config = _config_from_command_line(ProxyConfig.from_env, cors_origins, options)
    configure_logging(config.log_level)
    try:
        serve_proxy(config, banner=_proxy_banner)
    except SpecError as exc:
        raise click.ClickException(f"the spec does not load: {exc}") from None


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
