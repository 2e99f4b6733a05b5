"""`python -m contract_tests` (or `kore-contract`): test an implementation of the Case Management API against the contract."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click
from click.core import ParameterSource
from jwt.warnings import InsecureKeyLengthWarning

from contract_tests._config import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_MAX_RESPONSE_TIME_MS,
    DEFAULT_MAX_TIME_S,
    DEFAULT_SEQUENCE_LENGTH,
    SEQUENCES_PER_EXAMPLES,
    ContractConfig,
    operations_option,
    rate_option,
)
from contract_tests._errors import ContractTestError
from contract_tests._report import Progress
from contract_tests._runner import run_contract
from spec import SpecError


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--base-url", required=True, help="Scheme and host of the implementation, e.g. http://127.0.0.1:4010."
)
@click.option("--stream-id", required=True, help="The bot's stream id, the {streamId} of the path.")
@click.option(
    "--jwt", "jwt_token", envvar="KORE_JWT", help="The app's JWT, sent in the `auth` header [env: KORE_JWT]."
)
@click.option(
    "--client-id",
    envvar="KORE_CLIENT_ID",
    help="Mint tokens (HS256, appId claim) instead of --jwt [env: KORE_CLIENT_ID].",
)
@click.option(
    "--client-secret", envvar="KORE_CLIENT_SECRET", help="The app's client secret [env: KORE_CLIENT_SECRET]."
)
@click.option("--account-id", help="Send this `accountId` header; the created tasks must belong to it.")
@click.option(
    "--second-account-id",
    help="A second account the token may act in: the sequences check that neither account sees the "
    "other's objects. Without it (off loopback) isolation across accounts is reported as not run.",
)
@click.option(
    "--second-stream-id",
    help="A second stream of the account: the sequences check isolation across streams. On loopback the "
    "run makes up its own second account and stream.",
)
@click.option(
    "--seed", type=int, help="Seed of the generated requests; the same seed sends the same requests."
)
@click.option(
    "--max-examples",
    type=int,
    default=DEFAULT_MAX_EXAMPLES,
    show_default=True,
    help="Generated requests per scenario (valid, invalid).",
)
@click.option(
    "--sequences",
    type=int,
    help=f"Sequences of calls of the stateful phase (0: none). Default: --max-examples / {SEQUENCES_PER_EXAMPLES}.",
)
@click.option(
    "--sequence-length",
    type=int,
    default=DEFAULT_SEQUENCE_LENGTH,
    show_default=True,
    help="Calls per sequence at most.",
)
@click.option(
    "--repro-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each failing sequence here as a shell script that replays it (curl, bash, python3).",
)
@click.option(
    "--only-sequences",
    is_flag=True,
    help="Run only the sequences (the stateful phase), no single-call scenarios.",
)
@click.option(
    "--max-time",
    type=float,
    default=DEFAULT_MAX_TIME_S,
    show_default=True,
    help="Budget of the whole run, in seconds.",
)
@click.option(
    "--max-response-time",
    type=float,
    default=DEFAULT_MAX_RESPONSE_TIME_MS,
    show_default=True,
    help="Slower answers fail max_response_time (ms).",
)
@click.option(
    "--rate-limit",
    help="Pace requests: N/s, N/min or N/h (a bare N is per minute), e.g. 60/min; `none` for no limit. "
    "Default: none on loopback, 1/s elsewhere.",
)
@click.option(
    "--operations",
    help="Test only these operations (operationIds, comma-separated), e.g. createTask. Default: every "
    "operation of the spec.",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The spec to test against. Default: the project's own spec/openapi.yaml.",
)
@click.option(
    "--allow-writes",
    is_flag=True,
    help="Allow a target that is not this machine (every check creates tasks).",
)
@click.option(
    "--strict", is_flag=True, help="Fail, not warn, on rules the spec decided beyond the seed page."
)
@click.option(
    "--show-secrets", is_flag=True, help="Show tokens in the reproduction commands instead of $KORE_JWT."
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as JUnit XML here.",
)
@click.option(
    "--json-report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as JSON here (each failure with its finding's fields).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    base_url: str,
    stream_id: str,
    jwt_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    account_id: str | None,
    second_account_id: str | None,
    second_stream_id: str | None,
    seed: int | None,
    max_examples: int,
    sequences: int | None,
    sequence_length: int,
    repro_dir: Path | None,
    only_sequences: bool,
    max_time: float,
    max_response_time: float,
    rate_limit: str | None,
    operations: str | None,
    spec_path: Path | None,
    allow_writes: bool,
    strict: bool,
    show_secrets: bool,
    junit_xml: Path | None,
    json_report: Path | None,
) -> None:
    """Check that an implementation of the spec's operations keeps the documented contract.

    For every operation (or those of --operations): sends valid requests of every documented shape
    and media-type spelling, requests that each break one documented rule, hostile path and header
    values, and bad tokens; judges every answer by the spec's statuses, media types, schemas and
    x-contract-relations. Then runs sequences of calls (create, list, walk pages, update, update
    unknown and foreign ids) against a model of what the target should hold, judged by the spec's
    x-contract-sequences; a failing sequence shrinks to the shortest, shown as numbered curl commands.
    The report ends with what was exercised and what the run created.

    \b
    Exit status:
      0  no violation: every answer judged kept the contract (warnings allowed; a run that
         --max-time stopped counts what it judged)
      1  violations found (also when the run was interrupted or stopped after finding one)
      2  no verdict: a usage error (an option missing, malformed or unsafe; a malformed
         --spec), the target unreachable, no answer judged (e.g. every request refused with 429
         until the budget ran out), or the run interrupted (Ctrl-C) before a violation was found
    A crash of this command itself prints a Python traceback and exits 1.

    \b
    Example: the project's mock on loopback, verifying tokens with a client secret (any secret works;
    use 32 bytes or more, as PyJWT advises), tested with client credentials so that expired and
    claim-less tokens are tried too:
      SECRET=kore-mock-client-secret-0123456789
      python -m mockserver serve --port 4010 --jwt-secret "$SECRET" &
      python -m contract_tests --base-url http://127.0.0.1:4010 \\
          --stream-id st-084d3c5e-376a-559f-9987-a012bb2b0001 \\
          --client-id cs-5f2c9a1e-0000-4000-8000-000000000001 --client-secret "$SECRET" --seed 1
    \b
    The same with a token the mock mints (`python -m mockserver token --help`):
      python -m contract_tests --base-url http://127.0.0.1:4010 \\
          --stream-id st-084d3c5e-376a-559f-9987-a012bb2b0001 --seed 1 \\
          --jwt "$(python -m mockserver token --app-id cs-5f2c9a1e-0000-4000-8000-000000000001 \\
                   --secret "$SECRET" --expires-in 3600)"
    \b
    Against staging (paced to 1 request a second; tasks are created there):
      KORE_JWT=eyJ... python -m contract_tests --base-url https://staging.example.com \\
          --stream-id st-... --allow-writes --junit-xml build/contract.xml
    """
    # Client secrets are the platform's, whatever their length: PyJWT's advice to use 32 bytes or
    # more is not this command's user's to follow. Only this command's process is affected.
    warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
    from_environment = ctx.get_parameter_source("jwt_token") == ParameterSource.ENVIRONMENT
    if jwt_token is not None and (client_id or client_secret) and from_environment:
        jwt_token = None  # Explicit client credentials win over a KORE_JWT left in the environment.
    try:
        rate, unlimited_rate = rate_option(rate_limit)
        config = ContractConfig(
            base_url=base_url,
            stream_id=stream_id,
            jwt=jwt_token,
            client_id=client_id,
            client_secret=client_secret,
            account_id=account_id,
            seed=seed,
            max_examples=max_examples,
            max_time_s=max_time,
            max_response_time_ms=max_response_time,
            rate_limit=rate,
            unlimited_rate=unlimited_rate,
            allow_writes=allow_writes,
            strict=strict,
            show_secrets=show_secrets,
            operations=operations_option(operations),
            spec_path=spec_path,
            second_account_id=second_account_id,
            second_stream_id=second_stream_id,
            sequences=sequences,
            sequence_length=sequence_length,
            repro_dir=repro_dir,
            single_calls=not only_sequences,
        )
        report = run_contract(config, progress=Progress(sys.stderr))
    except ContractTestError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except SpecError as exc:  # --spec names a file that is not a valid contract
        click.echo(f"error: --spec: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("error: interrupted (Ctrl-C, SIGINT)", err=True)
        sys.exit(2)
    click.echo(report.render(), nl=False)
    if junit_xml is not None:
        report.write_junit(junit_xml)
        click.echo(f"wrote {junit_xml}", err=True)
    if json_report is not None:
        report.write_json(json_report)
        click.echo(f"wrote {json_report}", err=True)
    sys.exit(report.exit_code)


if __name__ == "__main__":
    cli()
