"""Validate a Zendesk app package offline, as the marketplace's upload check would.

zcli's ``apps:validate`` posts the zip to a live Zendesk account, so CI cannot use it. This module
re-implements the rules we rely on from the Zendesk Apps Support gem (manifest, locations,
parameters, translations, logos, refused file types, requirements.json) and adds the policy rules
of a public app (secure settings only to allowed hosts, no secrets or source maps in the package).
docs/marketplace.md lists every rule by its id.

Examples
--------
>>> from server.marketplace.files import AppPackage
>>> report = validate_package(AppPackage(files={}))
>>> [f.rule for f in report.errors]
['manifest.missing', 'assets.logo', 'assets.logo_small']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.marketplace import content_rules as content
from server.marketplace import manifest_rules as rules
from server.marketplace.files import AppPackage, PackageReadError, read_package
from server.marketplace.findings import DuplicateKeyError, Report, load_json


def _manifest(pkg: AppPackage, report: Report) -> dict[str, Any] | None:
    if not pkg.has(rules.MANIFEST):
        nested = sorted(p for p in pkg.files if p.count("/") == 1 and p.endswith("/manifest.json"))
        if nested:
            report.error("manifest.missing", rules.MANIFEST,
                         f"manifest.json must be at the package root, found {nested[0]}: zip the folder's "
                         "contents, not the folder")
        else:
            report.error("manifest.missing", rules.MANIFEST, "manifest.json is missing")
        return None
    try:
        manifest = load_json(pkg.files[rules.MANIFEST])
    except DuplicateKeyError as e:
        report.error("manifest.json", rules.MANIFEST, f"key {str(e)[:80]!r} appears twice")
        return None
    except (ValueError, UnicodeDecodeError) as e:
        report.error("manifest.json", rules.MANIFEST, f"not valid JSON ({type(e).__name__})")
        return None
    if not isinstance(manifest, dict):
        report.error("manifest.json", rules.MANIFEST, "must be a JSON object")
        return None
    return manifest


def validate_package(pkg: AppPackage) -> Report:
    """Run every rule on a package held in memory."""
    report = Report()
    content.check_layout(pkg, report)
    content.check_file_types(pkg, report)
    manifest = _manifest(pkg, report)
    if manifest is not None:
        rules.check_manifest_keys(manifest, report)
        rules.check_default_locale(manifest, pkg, report)
        locations = rules.check_locations(manifest, pkg, report)
        rules.check_parameters(manifest, report)
        rules.check_domain_whitelist(manifest, report)
        rules.check_oauth(manifest, report)
        rules.check_requirements(pkg, report)
        content.check_translations(manifest, pkg, report)
        content.check_icons(locations, pkg, report)
    content.check_logos(pkg, report)
    content.check_banner_and_screenshots(pkg, report)
    return report


def validate_path(path: Path) -> Report:
    """Validate a package folder or zip; an unreadable one is reported, not raised."""
    try:
        pkg = read_package(path)
    except PackageReadError as e:
        report = Report()
        report.error("files.unreadable", path.name, str(e))
        return report
    return validate_package(pkg)
