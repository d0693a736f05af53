"""``groundswell app``: validate and package the Zendesk app for the marketplace."""

from __future__ import annotations

from pathlib import Path

import click

from server.marketplace.files import PackageReadError
from server.marketplace.findings import Report
from server.marketplace.package import PackageError, build_package
from server.marketplace.validate import validate_path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SRC = ROOT / "dist" / "zendesk_app"
DEFAULT_OUT = ROOT / "dist" / "groundswell-zendesk-app.zip"


def _print(report: Report) -> None:
    for finding in sorted(report.findings, key=lambda f: (f.severity != "error", f.path, f.rule)):
        click.echo(str(finding), err=finding.severity == "error")


@click.group("app")
def app_group() -> None:
    """The Zendesk app's marketplace package."""


@app_group.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def validate_cmd(path: Path) -> None:
    """Check the app package PATH (a folder or a zip) against the marketplace rules.

    Exits 1 when any rule is broken; warnings alone exit 0.
    """
    report = validate_path(path)
    _print(report)
    if not report.ok:
        raise click.exceptions.Exit(1)
    click.echo(f"{path}: valid ({len(report.warnings)} warning(s))")


@app_group.command("package")
@click.option("--src", type=click.Path(path_type=Path), default=DEFAULT_SRC, show_default=True,
              help="The built app folder (npm run build writes it).")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True,
              help="Where to write the zip.")
@click.option("--allow-domain", "domains", multiple=True, envvar="GROUNDSWELL_APP_DOMAINS",
              help="Host of your Groundswell backend; replaces the manifest's domainWhitelist "
                   "(repeatable; env GROUNDSWELL_APP_DOMAINS, space-separated).")
def package_cmd(src: Path, out: Path, domains: tuple[str, ...]) -> None:
    """Validate the built app, zip it for upload, and validate the zip."""
    try:
        report = build_package(src, out, list(domains) or None)
    except PackageReadError as e:
        raise click.ClickException(str(e)) from None
    except PackageError as e:
        _print(e.report)
        click.echo(f"not packaged: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    _print(report)
    click.echo(f"wrote {out} ({out.stat().st_size} bytes), valid")
