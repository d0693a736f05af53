"""Build the marketplace zip from the built app folder, validating before and after.

The zip is what zcli would upload: the folder's files at the zip's root. Entries are sorted and
stamped with a fixed time, so one build gives byte-identical zips. The folder is validated first
(nothing is written when it fails) and the written zip is validated again.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

from server.marketplace.files import AppPackage, PackageReadError, read_folder
from server.marketplace.findings import Report, load_json
from server.marketplace.validate import validate_package, validate_path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """The app folder or the zip failed validation; ``report`` says why."""

    def __init__(self, report: Report, stage: str) -> None:
        super().__init__(f"the {stage} failed validation with {len(report.errors)} error(s)")
        self.report = report
        self.stage = stage


def with_allowed_domains(pkg: AppPackage, domains: list[str]) -> AppPackage:
    """The package with manifest.json's domainWhitelist replaced by ``domains``.

    A self-hosted backend lives on the installer's own host, and Zendesk only sends secure
    settings to the hosts the manifest lists, so each deployment packages its own host.
    """
    manifest = load_json(pkg.files["manifest.json"])
    manifest["domainWhitelist"] = [d.strip().lower() for d in domains if d.strip()]
    files = dict(pkg.files)
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    return AppPackage(files=files, symlinks=pkg.symlinks, unsafe_names=pkg.unsafe_names, source=pkg.source)


def write_zip(pkg: AppPackage, out: Path) -> None:
    """Write the package's files into ``out`` (atomically: a temporary file, then a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".pkg-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(pkg.files):
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                archive.writestr(info, pkg.files[name])
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_package(src: Path, out: Path, allow_domains: list[str] | None = None) -> Report:
    """Validate the app folder ``src``, zip it to ``out`` and validate the zip.

    Returns the zip's report (warnings only); raises :class:`PackageError` on any error, and
    :class:`~server.marketplace.files.PackageReadError` when ``src`` cannot be read.
    """
    if not src.is_dir():
        raise PackageReadError(f"{src} is not a folder: build the app first (npm run build)")
    pkg = read_folder(src)
    if allow_domains and "manifest.json" in pkg.files:
        try:
            pkg = with_allowed_domains(pkg, allow_domains)
        except (ValueError, TypeError, UnicodeDecodeError):
            pass  # validation below reports the broken manifest
    report = validate_package(pkg)
    if not report.ok:
        raise PackageError(report, "app folder")
    write_zip(pkg, out)
    zipped = validate_path(out)
    if not zipped.ok:
        out.unlink(missing_ok=True)
        raise PackageError(zipped, "zip")
    return zipped
