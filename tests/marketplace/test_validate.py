"""One case per rule: the valid fixture with exactly that rule broken is refused for that rule alone."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from server.marketplace import content_rules, validate_path
from server.marketplace.package import write_zip
from server.marketplace.files import read_folder

from .conftest import read_json, write_json

Mutation = Callable[[Path], None]


def manifest(change: Callable[[dict[str, Any]], None]) -> Mutation:
    def apply(root: Path) -> None:
        data = read_json(root / "manifest.json")
        change(data)
        write_json(root / "manifest.json", data)
    return apply


def english(change: Callable[[dict[str, Any]], None]) -> Mutation:
    def apply(root: Path) -> None:
        data = read_json(root / "translations" / "en.json")
        change(data)
        write_json(root / "translations" / "en.json", data)
    return apply


def both(*mutations: Mutation) -> Mutation:
    def apply(root: Path) -> None:
        for mutation in mutations:
            mutation(root)
    return apply


def write(rel: str, data: bytes | str) -> Mutation:
    def apply(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return apply


def remove(rel: str) -> Mutation:
    return lambda root: (root / rel).unlink()


def image(rel: str, mode: str, size: tuple[int, int], fill: Any, fmt: str = "PNG") -> Mutation:
    return lambda root: Image.new(mode, size, fill).save(root / rel, format=fmt)


def label(name: str) -> Mutation:
    return english(lambda d: d["app"]["parameters"].update({name: {"label": name.title()}}))


def add_param(param: dict[str, Any]) -> Mutation:
    return both(manifest(lambda m: m["parameters"].append(param)), label(param["name"]))


def rounded_logo(root: Path) -> None:
    logo = Image.new("RGBA", (320, 320), (20, 80, 90, 255))
    for corner in ((0, 0), (319, 0), (0, 319), (319, 319)):
        logo.putpixel(corner, (0, 0, 0, 0))
    logo.save(root / "assets" / "logo.png")


def symlink(root: Path) -> None:
    os.symlink(root / "assets" / "logo.png", root / "assets" / "linked.png")


def set_url(url: str) -> Mutation:
    return manifest(lambda m: m["location"]["support"]["ticket_sidebar"].update(url=url))


def requirements(data: Any) -> Mutation:
    return lambda root: write_json(root / "requirements.json", data)


ICON, SVG = "assets/icon_nav_bar.svg", "http://www.w3.org/2000/svg"
WEBHOOK = {"name": "Groundswell", "status": "active", "endpoint": "https://radar.fixture-org.net/hook",
           "http_method": "POST", "request_format": "json"}

CASES: list[tuple[str, str, Mutation]] = [
    ("symlink", "files.symlink", symlink),
    ("hidden file", "files.hidden", write("assets/.DS_Store", b"\x00\x01")),
    ("file outside allowed folders", "files.outside_allowed", write("src/main.ts", "export {}")),
    ("non-JSON file in translations", "files.outside_allowed", write("translations/notes.txt", "hi")),
    ("shell script by extension", "files.forbidden_type", write("assets/setup.sh", "echo hi")),
    ("zip disguised as text", "files.forbidden_type", write("assets/data.txt", b"PK\x03\x04rest")),
    ("unknown asset type", "files.forbidden_type", write("assets/movie.webm", b"\x1aE\xdf\xa3")),
    ("source map file", "files.source_map", write("assets/app.js.map", '{"version":3}')),
    ("sourceMappingURL comment", "files.source_map", write("assets/app.js", "x()\n//# sourceMappingURL=app.js.map\n")),
    ("API token in the bundle", "files.secret", write("assets/app.js", "const t = 'gs_sk_" + "a1B2" * 8 + "';")),
    ("private key", "files.secret", write("assets/key.txt", "-----BEGIN PRIVATE KEY-----\nMII\n")),
    ("CDN script", "files.remote_load",
     write("assets/iframe.html", '<html><script src="https://cdn.example.net/zaf.js"></script></html>')),
    ("no manifest", "manifest.missing", remove("manifest.json")),
    ("manifest not JSON", "manifest.json", write("manifest.json", "{not json")),
    ("manifest duplicate key", "manifest.json", write("manifest.json", '{"name": "a", "name": "b"}')),
    ("author missing", "manifest.required_key", manifest(lambda m: m.pop("author"))),
    ("private not boolean", "manifest.type", manifest(lambda m: m.update(private="no"))),
    ("domainWhitelist not strings", "manifest.type", manifest(lambda m: m.update(domainWhitelist="a.net"))),
    ("author url not http", "manifest.author", manifest(lambda m: m["author"].update(url="ftp://fixture-org.net"))),
    ("author email", "manifest.author", manifest(lambda m: m["author"].update(email="nobody"))),
    ("locale without file", "manifest.default_locale", manifest(lambda m: m.update(defaultLocale="fr"))),
    ("bad locale", "manifest.default_locale", manifest(lambda m: m.update(defaultLocale="English"))),
    ("framework 1.0", "manifest.framework_version", manifest(lambda m: m.update(frameworkVersion="1.0"))),
    ("experiment", "manifest.experiments", manifest(lambda m: m.update(experiments={"turbo": True}))),
    ("unknown location", "manifest.location",
     manifest(lambda m: m["location"]["support"].update(ticket_footer="assets/iframe.html"))),
    ("unknown host", "manifest.location", manifest(lambda m: m["location"].update(guide={"x": "assets/iframe.html"}))),
    ("http location url", "manifest.location_url", set_url("http://radar.fixture-org.net/app")),
    ("location file missing", "manifest.location_url", set_url("assets/missing.html")),
    ("location outside assets", "manifest.location_url", set_url("manifest.json")),
    ("parameter called name", "manifest.parameters", add_param({"name": "name", "type": "text"})),
    ("duplicate parameter", "manifest.parameters", manifest(lambda m: m["parameters"].append(m["parameters"][0]))),
    ("required hidden parameter", "manifest.parameters",
     manifest(lambda m: m["parameters"].append({"name": "mode", "type": "hidden", "required": True}))),
    ("parameter type", "manifest.parameter_type", add_param({"name": "colour", "type": "color"})),
    ("oauth without oauth parameter", "manifest.oauth",
     manifest(lambda m: m.update(oauth={"client_id": "c", "client_secret": "s", "authorize_uri": "https://a.net/a",
                                        "access_token_uri": "https://a.net/t"}))),
    ("secure oauth parameter", "manifest.oauth", add_param({"name": "login", "type": "oauth", "secure": True,
                                                            "scopes": ["header"]})),
    ("secure without scopes", "secure.scopes", manifest(lambda m: m["parameters"][1].pop("scopes"))),
    ("unknown scope", "secure.scopes", manifest(lambda m: m["parameters"][1].update(scopes=["cookie"]))),
    ("scopes without secure", "secure.scopes", manifest(lambda m: m["parameters"][0].update(scopes=["url"]))),
    ("secure default", "secure.default", manifest(lambda m: m["parameters"][1].update(default="tok"))),
    ("token not secure", "secure.insecure_token", add_param({"name": "zendesk_token", "type": "text"})),
    ("no domainWhitelist", "secure.domain_whitelist", manifest(lambda m: m.pop("domainWhitelist"))),
    ("empty domainWhitelist", "secure.domain_whitelist", manifest(lambda m: m.update(domainWhitelist=[]))),
    ("URL in domainWhitelist", "secure.domain_whitelist",
     manifest(lambda m: m.update(domainWhitelist=["https://radar.fixture-org.net/api"]))),
    ("bare wildcard", "secure.domain_whitelist", manifest(lambda m: m.update(domainWhitelist=["*.net"]))),
    ("secret in location url", "secure.location_url", set_url("assets/iframe.html?t={{setting.api_token}}")),
    ("requirements not JSON", "requirements.json", write("requirements.json", "[")),
    ("requirements type", "requirements.type", requirements({"spaceships": {"a": {"title": "A"}}})),
    ("webhook keys", "requirements.webhook",
     requirements({"webhooks": {"hook": {k: v for k, v in WEBHOOK.items() if k != "endpoint"}}})),
    ("trigger title", "requirements.title", requirements({"triggers": {"t": {"conditions": {}}}})),
    ("too many requirements", "requirements.count",
     requirements({"ticket_fields": {f"f{i}": {"title": "F", "type": "text"} for i in range(5001)}})),
    ("bad translation file name", "translations.locale", write("translations/english.json", "{}")),
    ("en.json not JSON", "translations.json", write("translations/en.json", "{")),
    ("another locale not JSON", "translations.json", write("translations/fr.json", "[1, 2")),
    ("missing long_description", "translations.marketplace_string",
     english(lambda d: d["app"].pop("long_description"))),
    ("empty name", "translations.marketplace_string", english(lambda d: d["app"].update(name=" "))),
    ("short_description too long", "translations.length",
     english(lambda d: d["app"].update(short_description="x" * 81))),
    ("for Zendesk", "translations.name", english(lambda d: d["app"].update(name="Fixture for Zendesk"))),
    ("instructions not steps", "translations.steps",
     english(lambda d: d["app"].update(installation_instructions="Install it and enter the URL."))),
    ("setting without label", "translations.label", english(lambda d: d["app"]["parameters"].pop("api_token"))),
    ("label not a string", "translations.label",
     english(lambda d: d["app"]["parameters"].update(api_token={"helpText": "no label"}))),
    ("logo missing", "assets.logo", remove("assets/logo.png")),
    ("logo size", "assets.logo", image("assets/logo.png", "RGB", (300, 300), (1, 2, 3))),
    ("logo not PNG", "assets.logo", image("assets/logo.png", "RGB", (320, 320), (1, 2, 3), "JPEG")),
    ("logo rounded corners", "assets.logo", rounded_logo),
    ("small logo missing", "assets.logo_small", remove("assets/logo-small.png")),
    ("small logo size", "assets.logo_small", image("assets/logo-small.png", "RGBA", (64, 64), (0, 0, 0, 0))),
    ("small logo without alpha", "assets.logo_small", image("assets/logo-small.png", "RGB", (128, 128), (9, 9, 9))),
    ("logo unreadable", "assets.logo", write("assets/logo.png", b"\x89PNG broken")),
    ("nav bar icon missing", "assets.icon", remove("assets/icon_nav_bar.svg")),
    ("svg with script", "assets.svg",
     write("assets/icon_nav_bar.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')),
    ("svg with handler", "assets.svg", write(ICON, f'<svg xmlns="{SVG}" onload="x()"/>')),
    ("svg entity", "assets.svg", write(ICON, '<!DOCTYPE svg [<!ENTITY a "b">]><svg>&a;</svg>')),
    ("svg external link", "assets.svg", write(ICON, f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink">'
                                                    '<use xlink:href="https://x.net/i.svg#a"/></svg>')),
    ("svg not XML", "assets.svg", write("assets/icon_nav_bar.svg", "<svg")),
    ("banner size", "assets.banner", image("assets/banner.png", "RGB", (800, 200), (1, 2, 3))),
    ("screenshot gap", "assets.screenshot", image("assets/screenshot-2.png", "RGB", (640, 400), (1, 2, 3))),
    ("fourth screenshot", "assets.screenshot", both(*(image(f"assets/screenshot-{i}.png", "RGB", (64, 40), 0)
                                                       for i in (1, 2, 3)))),
    ("screenshot name", "assets.screenshot", image("assets/screenshot.png", "RGB", (64, 40), 0)),
]


def test_fixture_is_valid(app_dir: Path) -> None:
    report = validate_path(app_dir)
    assert report.findings == []


@pytest.mark.parametrize(("rule", "mutation"), [(rule, mutation) for _, rule, mutation in CASES],
                         ids=[name for name, _, _ in CASES])
def test_each_rule_rejects_its_breakage(app_dir: Path, rule: str, mutation: Mutation) -> None:
    mutation(app_dir)
    report = validate_path(app_dir)
    assert report.rules() == {rule}, [str(f) for f in report.findings]
    assert not report.ok
    assert all(f.path and f.message for f in report.errors)


@pytest.mark.parametrize(("rule", "mutation"),
                         [(rule, mutation) for name, rule, mutation in CASES if name != "symlink"],
                         ids=[name for name, _, _ in CASES if name != "symlink"])
def test_each_rule_also_rejects_the_zip(app_dir: Path, tmp_path: Path, rule: str, mutation: Mutation) -> None:
    mutation(app_dir)
    out = tmp_path / "app.zip"
    write_zip(read_folder(app_dir), out)
    assert validate_path(out).rules() == {rule}


def test_zip_symlink_and_unsafe_names_are_refused(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "app.zip"
    write_zip(read_folder(app_dir), out)
    with zipfile.ZipFile(out, "a") as archive:
        link = zipfile.ZipInfo("assets/link.png")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "logo.png")
    assert validate_path(out).rules() == {"files.symlink"}
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("../escape.txt", "x")
        archive.writestr("/etc/cron.d/x", "x")
    report = validate_path(out)
    assert report.rules() == {"files.symlink", "files.unsafe_name"}
    assert sum(f.rule == "files.unsafe_name" for f in report.errors) == 2


def test_zip_size_limit(app_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "app.zip"
    write_zip(read_folder(app_dir), out)
    assert validate_path(out).ok
    monkeypatch.setattr(content_rules, "MAX_ZIP_BYTES", out.stat().st_size - 1)
    assert validate_path(out).rules() == {"files.zip_size"}


def test_unreadable_package(tmp_path: Path) -> None:
    bogus = tmp_path / "app.zip"
    bogus.write_bytes(b"not a zip at all")
    assert validate_path(bogus).rules() == {"files.unreadable"}


def test_nested_manifest_is_explained(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "nested.zip"
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(app_dir.rglob("*")):
            if path.is_file():
                archive.write(path, "app/" + path.relative_to(app_dir).as_posix())
    report = validate_path(out)
    assert "manifest.missing" in report.rules()
    assert any("app/manifest.json" in f.message for f in report.errors)


def test_example_domain_is_a_warning_not_an_error(app_dir: Path) -> None:
    manifest(lambda m: m.update(domainWhitelist=["groundswell.example.org"]))(app_dir)
    report = validate_path(app_dir)
    assert report.ok and report.rules("warning") == {"secure.domain_whitelist"}


def test_example_author_is_a_warning(app_dir: Path) -> None:
    manifest(lambda m: m["author"].update(email="help@acme.example.com"))(app_dir)
    report = validate_path(app_dir)
    assert report.ok and report.rules("warning") == {"manifest.author"}


def test_private_app_needs_only_the_name(app_dir: Path) -> None:
    manifest(lambda m: m.update(private=True))(app_dir)
    english(lambda d: [d["app"].pop(k) for k in ("short_description", "long_description",
                                                 "installation_instructions")])(app_dir)
    assert validate_path(app_dir).ok


def test_remote_location_and_setting_urls_are_allowed(app_dir: Path) -> None:
    set_url("https://radar.fixture-org.net/sidebar")(app_dir)
    assert validate_path(app_dir).ok
    set_url("{{setting.backend_url}}/sidebar")(app_dir)
    assert validate_path(app_dir).ok


def test_valid_requirements_pass(app_dir: Path) -> None:
    requirements({"webhooks": {"hook": WEBHOOK}, "triggers": {"t": {"title": "Notify", "conditions": {}}}})(app_dir)
    assert validate_path(app_dir).ok
