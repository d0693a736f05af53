"""Rules for the package's files: layout, file types, secrets, translations and images."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

from server.marketplace.files import AppPackage
from server.marketplace.findings import Report, load_json

ROOT_FILES = ("manifest.json", "requirements.json")
FOLDERS = ("assets/", "translations/")
ALLOWED_ASSET_TYPES = (".html", ".js", ".css", ".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp",
                       ".woff", ".woff2", ".json", ".txt")
FORBIDDEN_EXTENSIONS = ("rar", "zip", "gz", "gzip", "tgz", "pdf", "doc", "docx", "avi", "bin", "bz",
                        "bz2", "csh", "sh", "jar", "mp3", "mpeg", "odt", "pptx", "ppt", "xls", "xlsx",
                        "7z", "exe", "dll", "map")
MAGIC = {  # leading bytes of the types the marketplace refuses
    b"PK\x03\x04": "zip/jar/office", b"\x1f\x8b": "gzip", b"%PDF": "pdf", b"Rar!": "rar",
    b"7z\xbc\xaf\x27\x1c": "7z", b"BZh": "bzip2", b"\xd0\xcf\x11\xe0": "ms-office", b"ID3": "mp3",
    b"#!": "shell script", b"MZ": "windows executable", b"\x7fELF": "executable",
}
TEXT_TYPES = (".html", ".js", ".css", ".json", ".svg", ".txt", ".md")
SECRETS = {
    "private key": re.compile(r"-----BEGIN (RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----"),
    "AWS access key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "Slack token": re.compile(r"\bxox[abpors]-[0-9A-Za-z-]{10,}"),
    "Groundswell API token": re.compile(r"\bgs_sk_[A-Za-z0-9_-]{20,}"),
    "Anthropic API key": re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "Zendesk webhook signing secret": re.compile(r"signing_secret\"?\s*[:=]\s*\"[A-Za-z0-9+/=_-]{16,}"),
}
SOURCE_MAP = re.compile(rb"[#@]\s*sourceMappingURL\s*=")
REMOTE_LOAD = re.compile(r"<(script|link|iframe|img)\b[^>]*\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", re.I)
MARKETPLACE_STRINGS = ("name", "short_description", "long_description", "installation_instructions")
MAX_LENGTHS = {"name": 50, "short_description": 80, "long_description": 65000,
               "installation_instructions": 65000}
LOCALE_FILE = re.compile(r"^translations/([a-z]{2,3}(-\w{2,3})?)\.json$")
SCREENSHOT = re.compile(r"^assets/screenshot-(\d+)\.(png|jpe?g|gif)$")
MAX_SCREENSHOTS = 3
MAX_ZIP_BYTES = 5 * 1024 * 1024
SVG_NS = "{http://www.w3.org/2000/svg}"
SVG_BANNED = ("script", "foreignObject", "image", "iframe", "embed", "object")


def check_layout(pkg: AppPackage, report: Report) -> None:
    """Only manifest.json, requirements.json, assets/ and translations/; no links, no hidden files."""
    for path in pkg.symlinks:
        report.error("files.symlink", path, "symbolic links are refused by the marketplace")
    for name in pkg.unsafe_names:
        report.error("files.unsafe_name", name[:200], "entry name is absolute, contains .., a backslash or repeats")
    for path in pkg.files:
        name = path.rsplit("/", 1)[-1]
        if any(part.startswith(".") for part in path.split("/")):
            report.error("files.hidden", path, "hidden files (.DS_Store, .git, ...) do not belong in the package")
        elif path not in ROOT_FILES and not path.startswith(FOLDERS):
            report.error("files.outside_allowed", path,
                         "only manifest.json, requirements.json, assets/ and translations/ may be packaged")
        elif path.startswith("translations/") and not name.endswith(".json"):
            report.error("files.outside_allowed", path, "translations/ holds only <locale>.json files")
    if pkg.zip_bytes is not None and pkg.zip_bytes > MAX_ZIP_BYTES:
        report.error("files.zip_size", pkg.source.rsplit("/", 1)[-1],
                     f"the zip is {pkg.zip_bytes} bytes (at most {MAX_ZIP_BYTES})")


def check_file_types(pkg: AppPackage, report: Report) -> None:
    """Refused types (by extension and by content), source maps, secrets, remote scripts."""
    for path, data in pkg.files.items():
        ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
        kind = next((k for magic, k in MAGIC.items() if data.startswith(magic)), None)
        if ext == "map" or SOURCE_MAP.search(data):
            report.error("files.source_map", path, "source maps (or a sourceMappingURL comment) must not ship")
        elif ext in FORBIDDEN_EXTENSIONS or kind:
            report.error("files.forbidden_type", path, f"file type {kind or ext!r} is refused by the marketplace")
        elif path.startswith("assets/") and not path.lower().endswith(ALLOWED_ASSET_TYPES) \
                and "/." not in path:  # hidden files have their own rule
            report.error("files.forbidden_type", path,
                         f"assets may only be {', '.join(t.lstrip('.') for t in ALLOWED_ASSET_TYPES)}")
        if not path.lower().endswith(TEXT_TYPES):
            continue
        text = data.decode("utf-8", errors="replace")
        for what, pattern in SECRETS.items():
            if pattern.search(text):
                report.error("files.secret", path, f"contains what looks like a {what}")
        if path.lower().endswith(".html") and REMOTE_LOAD.search(text):
            report.error("files.remote_load", path,
                         "loads a script, style, frame or image from another host; bundle it under assets/")


def _app_strings(pkg: AppPackage, path: str, report: Report) -> dict[str, Any] | None:
    try:
        doc = load_json(pkg.files[path])
    except (ValueError, UnicodeDecodeError) as e:
        report.error("translations.json", path, f"not valid JSON ({type(e).__name__})")
        return None
    if not isinstance(doc, dict):
        report.error("translations.json", path, "must be a JSON object")
        return None
    app = doc.get("app", {})
    if not isinstance(app, dict):
        report.error("translations.json", path, "app must be an object")
        return None
    return app


def check_translations(m: dict[str, Any], pkg: AppPackage, report: Report) -> None:
    """Locale file names, marketplace strings (present, bounded, step by step), setting labels."""
    default = m.get("defaultLocale") if isinstance(m.get("defaultLocale"), str) else "en"
    strings: dict[str, dict[str, Any] | None] = {}
    for path in pkg.files:
        if not (path.startswith("translations/") and path.endswith(".json")):
            continue
        if LOCALE_FILE.fullmatch(path):
            strings[path] = _app_strings(pkg, path, report)
        else:
            report.error("translations.locale", path, "file name must be a locale such as en.json or pt-br.json")
    path = f"translations/{default}.json"
    app = strings.get(path)
    if app is None:  # missing (manifest.default_locale says so) or unreadable (reported above)
        return
    public = m.get("private") is False
    required = MARKETPLACE_STRINGS if public else ("name",)
    for key in required:
        value = app.get(key)
        if not isinstance(value, str) or not value.strip():
            why = " (the app is public: private is false)" if public and key != "name" else ""
            report.error("translations.marketplace_string", path, f"app.{key} is required{why}")
    for key, limit in MAX_LENGTHS.items():
        value = app.get(key)
        if isinstance(value, str) and len(value) > limit:
            report.error("translations.length", path, f"app.{key} is {len(value)} characters (at most {limit})")
    name = app.get("name")
    if isinstance(name, str) and re.search(r"\bfor\s+zendesk\b", name, re.I):
        report.error("translations.name", path, "the marketplace refuses 'for Zendesk' in an app's name")
    steps = app.get("installation_instructions")
    if public and isinstance(steps, str) and steps.strip() and \
            len(re.findall(r"(?m)^\s*(\d+[.)]|[-*])\s+\S", steps)) < 2:
        report.error("translations.steps", path, "app.installation_instructions must be numbered steps, one per line")
    labels = app.get("parameters", {})
    if not isinstance(labels, dict):
        report.error("translations.label", path, "app.parameters must be an object")
        labels = {}
    for pname, leaf in labels.items():
        if not isinstance(leaf, dict) or not isinstance(leaf.get("label"), str) or not leaf["label"].strip():
            report.error("translations.label", path, f"app.parameters.{pname} needs a label")
    for p in m.get("parameters", []) if isinstance(m.get("parameters"), list) else []:
        if isinstance(p, dict) and isinstance(p.get("name"), str) and p.get("type") != "hidden" \
                and p["name"] not in labels:
            report.error("translations.label", path, f"setting {p['name']!r} has no app.parameters.{p['name']}.label")


def _image(pkg: AppPackage, path: str, rule: str, report: Report) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(pkg.files[path]))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        report.error(rule, path, "is not a readable image")
        return None
    return image


def check_logos(pkg: AppPackage, report: Report) -> None:
    """logo.png 320x320 with square corners; logo-small.png 128x128 PNG with transparency."""
    if not pkg.has("assets/logo.png"):
        report.error("assets.logo", "assets/logo.png", "missing (320x320 PNG, square corners)")
    elif (image := _image(pkg, "assets/logo.png", "assets.logo", report)) is not None:
        if image.format != "PNG" or image.size != (320, 320):
            report.error("assets.logo", "assets/logo.png", f"must be a 320x320 PNG, not {image.format} {image.size}")
        else:
            rgba = image.convert("RGBA")
            corners = [(0, 0), (319, 0), (0, 319), (319, 319)]
            if any(rgba.getpixel(c)[3] < 255 for c in corners):
                report.error("assets.logo", "assets/logo.png", "corners must be opaque (no rounded or cut corners)")
    if not pkg.has("assets/logo-small.png"):
        report.error("assets.logo_small", "assets/logo-small.png", "missing (128x128 PNG with transparency)")
    elif (image := _image(pkg, "assets/logo-small.png", "assets.logo_small", report)) is not None:
        if image.format != "PNG" or image.size != (128, 128):
            report.error("assets.logo_small", "assets/logo-small.png",
                         f"must be a 128x128 PNG, not {image.format} {image.size}")
        elif image.mode != "RGBA":
            report.error("assets.logo_small", "assets/logo-small.png",
                         f"must be PNG-24 with an alpha channel (RGBA), not {image.mode}")


def check_banner_and_screenshots(pkg: AppPackage, report: Report) -> None:
    if pkg.has("assets/banner.png") and (image := _image(pkg, "assets/banner.png", "assets.banner", report)):
        if image.format != "PNG" or image.size not in ((830, 200), (1660, 400)):
            report.error("assets.banner", "assets/banner.png", "must be an 830x200 or 1660x400 PNG")
    numbers = sorted(int(m.group(1)) for p in pkg.files if (m := SCREENSHOT.fullmatch(p)))
    for path in pkg.files:
        if path.startswith("assets/screenshot") and not SCREENSHOT.fullmatch(path):
            report.error("assets.screenshot", path, "screenshots are named screenshot-<n>.png from 0")
    if numbers and numbers != list(range(len(numbers))):
        report.error("assets.screenshot", "assets/",
                     f"screenshots must be numbered 0, 1, 2 without gaps, not {numbers}")
    if numbers and numbers[-1] >= MAX_SCREENSHOTS:
        report.error("assets.screenshot", "assets/", f"at most {MAX_SCREENSHOTS} screenshots (0-{MAX_SCREENSHOTS - 1})")
    for path in pkg.files:
        if SCREENSHOT.fullmatch(path):
            _image(pkg, path, "assets.screenshot", report)


def check_icons(locations: list[str], pkg: AppPackage, report: Report) -> None:
    """Locations shown in Zendesk's bars need an SVG icon; every SVG must be safe to inline."""
    for name in ("nav_bar", "top_bar", "system_top_bar", "ticket_editor"):
        if name in locations and not pkg.has(f"assets/icon_{name}.svg"):
            report.error("assets.icon", f"assets/icon_{name}.svg", f"the {name} location needs this SVG icon")
    for path, data in pkg.files.items():
        if path.startswith("assets/") and path.lower().endswith(".svg"):
            problem = svg_problem(data)
            if problem:
                report.error("assets.svg", path, problem)


def svg_problem(data: bytes) -> str | None:
    """Why an SVG is unsafe or unusable, or None.

    >>> svg_problem(b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>') is None
    True
    >>> svg_problem(b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>')
    'has an event handler attribute (onload)'
    """
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        return "must not declare a DOCTYPE or entities"
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return "is not well-formed XML"
    if root.tag not in (f"{SVG_NS}svg", "svg"):
        return "root element must be <svg>"
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        if tag in SVG_BANNED:
            return f"contains <{tag}> (scripts, embedded bitmaps and foreign content are stripped by Zendesk)"
        for attr, value in element.attrib.items():
            local = attr.split("}")[-1]
            if local.lower().startswith("on"):
                return f"has an event handler attribute ({local})"
            if local == "href" and not value.startswith("#"):
                return "links to another file or host (only #fragment links are allowed)"
    return None
