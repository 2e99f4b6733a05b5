"""`python -m spec`: check the contract, write it as one bundled file, build its documentation."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from spec._loader import SPEC_PATH, SpecError, load_spec

_spec_option = click.option(
    "--spec",
    "spec_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=SPEC_PATH,
    show_default=True,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Tools for the Case Management contract (spec/openapi.yaml).

    \b
    Examples:
      python -m spec check
      python -m spec bundle --format json --output build/openapi.json
      python -m spec bundle --dereference --output build/openapi.resolved.yaml
      python -m spec docs --output build/docs
    """


@cli.command()
@_spec_option
def check(spec_path: Path) -> None:
    """Load and validate the spec; print a one-line summary."""
    contract = _load(spec_path)
    examples = sum(len(op.request_examples) for op in contract.operations.values())
    click.echo(
        f"ok: {contract.path} - {len(contract.operations)} operations "
        f"({', '.join(contract.operations)}), {examples} request examples, "
        f"{len(contract.relations)} answer relations, {len(contract.sequences.relations)} relations across calls, "
        f"{len(contract.decisions)} decisions"
    )


@cli.command()
@_spec_option
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@click.option(
    "--dereference",
    is_flag=True,
    help="Resolve every $ref instead of keeping $refs to #/components/...",
)
def bundle(spec_path: Path, fmt: str, output: Path | None, dereference: bool) -> None:
    """Write the spec as one file with no reference to another file.

    The schemas, responses, parameters and examples of the spec's other files keep their names under
    `components` and are referenced there (`$ref: '#/components/schemas/Task'`), so code generators
    get named models. `--dereference` writes the form with every $ref resolved.

    \b
    Examples:
      python -m spec bundle --format json -o build/openapi.json
      python -m spec bundle --format json --dereference -o build/openapi.resolved.json
    """
    contract = _load(spec_path)
    if fmt == "json":
        text = contract.bundle_json(dereference=dereference)
    else:
        text = contract.bundle_yaml(dereference=dereference)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@cli.command()
@_spec_option
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/docs"),
    show_default=True,
    help="Folder to write.",
)
def docs(spec_path: Path, output: Path) -> None:
    """Write the documentation as a folder that opens from disk (no network needed).

    \b
    Example:
      python -m spec docs --output build/docs && xdg-open build/docs/index.html
    """
    from spec.docs import write_docs

    index = write_docs(output, _load(spec_path))
    click.echo(f"wrote {index}", err=True)


def _load(spec_path: Path):  # type: ignore[no-untyped-def]
    try:
        return load_spec(spec_path)
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    cli()
