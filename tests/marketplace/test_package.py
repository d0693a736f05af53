"""The zip builder, the ``groundswell app`` commands, and the project's own package."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main
from server.marketplace import PackageError, build_package, validate_path

from .conftest import read_json, write_json

ROOT = Path(__file__).resolve().parents[2]


def test_build_writes_a_valid_deterministic_zip(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist" / "app.zip"
    report = build_package(app_dir, out)
    assert report.ok
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert names == sorted(names) and "manifest.json" in names and "assets/logo.png" in names
    assert not any(n.startswith("app/") for n in names)  # the folder's contents, not the folder
    first = out.read_bytes()
    build_package(app_dir, out)
    assert out.read_bytes() == first


def test_allowed_domain_replaces_the_whitelist(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "app.zip"
    build_package(app_dir, out, ["Radar.Acme-Support.com"])
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["domainWhitelist"] == ["radar.acme-support.com"]
    assert read_json(app_dir / "manifest.json")["domainWhitelist"] == ["radar.fixture-org.net"]  # source untouched


def test_invalid_folder_writes_nothing(app_dir: Path, tmp_path: Path) -> None:
    (app_dir / "assets" / "logo.png").unlink()
    out = tmp_path / "app.zip"
    with pytest.raises(PackageError) as caught:
        build_package(app_dir, out)
    assert caught.value.report.rules() == {"assets.logo"}
    assert not out.exists()


def test_bad_allowed_domain_is_refused(app_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PackageError) as caught:
        build_package(app_dir, tmp_path / "app.zip", ["https://radar.acme.com/"])
    assert caught.value.report.rules() == {"secure.domain_whitelist"}


def test_cli_validate_exit_codes_and_messages(app_dir: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["app", "validate", str(app_dir)])
    assert ok.exit_code == 0 and "valid" in ok.output
    data = read_json(app_dir / "manifest.json")
    data["frameworkVersion"] = "1.0"
    write_json(app_dir / "manifest.json", data)
    bad = runner.invoke(main, ["app", "validate", str(app_dir)])
    assert bad.exit_code == 1
    assert "manifest.json" in bad.output and "[manifest.framework_version]" in bad.output


def test_cli_package(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "app.zip"
    result = CliRunner().invoke(main, ["app", "package", "--src", str(app_dir), "--out", str(out),
                                       "--allow-domain", "radar.acme.com"])
    assert result.exit_code == 0, result.output
    assert validate_path(out).ok
    (app_dir / "assets" / "app.js.map").write_text("{}")
    failed = CliRunner().invoke(main, ["app", "package", "--src", str(app_dir), "--out", str(tmp_path / "x.zip")])
    assert failed.exit_code == 1 and "assets/app.js.map" in failed.output and not (tmp_path / "x.zip").exists()
    missing = CliRunner().invoke(main, ["app", "package", "--src", str(tmp_path / "nope"), "--out", str(out)])
    assert missing.exit_code == 1 and "build the app first" in missing.output


def test_project_listing_files_are_valid(tmp_path: Path) -> None:
    """The repository's manifest, translations and generated images pass, with a stand-in page."""
    app = tmp_path / "app"
    shutil.copytree(ROOT / "zendesk_app" / "assets", app / "assets")
    shutil.copytree(ROOT / "zendesk_app" / "translations", app / "translations")
    shutil.copy(ROOT / "manifest.json", app / "manifest.json")
    if not (app / "assets" / "iframe.html").exists():
        (app / "assets" / "iframe.html").write_text("<!doctype html><title>Groundswell</title>")
    report = validate_path(app)
    assert report.ok, [str(f) for f in report.errors]
    # the repository's placeholders for the publisher's host and contact are flagged, nothing else
    assert report.rules("warning") <= {"secure.domain_whitelist", "manifest.author"}


def test_the_built_app_packages(tmp_path: Path) -> None:
    """Build the real sidebar app with its own build script, then package and validate it."""
    build = ROOT / "zendesk_app" / "build.mjs"
    node = shutil.which("node")
    if not build.exists() or node is None or not (ROOT / "node_modules").is_dir():
        pytest.skip("the sidebar app's build (zendesk_app/build.mjs, node, node_modules) is not available")
    done = subprocess.run([node, str(build)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "groundswell-zendesk-app.zip"
    report = build_package(ROOT / "dist" / "zendesk_app", out, ["radar.acme-support.com"])
    assert report.ok and report.rules("warning") <= {"manifest.author"}
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "translations/en.json", "assets/iframe.html", "assets/logo.png",
            "assets/logo-small.png", "assets/icon_nav_bar.svg"} <= names
