"""A valid Zendesk app package folder, made from scratch in tmp_path, that each test breaks once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

MANIFEST: dict[str, Any] = {
    "name": "Fixture app",
    "author": {"name": "Fixture Org", "email": "help@fixture-org.net", "url": "https://fixture-org.net"},
    "defaultLocale": "en",
    "private": False,
    "singleInstall": True,
    "location": {"support": {"ticket_sidebar": {"url": "assets/iframe.html", "flexible": True},
                             "nav_bar": {"url": "assets/iframe.html"}}},
    "parameters": [
        {"name": "backend_url", "type": "url", "required": True},
        {"name": "api_token", "type": "text", "required": True, "secure": True, "scopes": ["header"]},
    ],
    "domainWhitelist": ["radar.fixture-org.net"],
    "version": "1.2.3",
    "frameworkVersion": "2.0",
}

EN: dict[str, Any] = {
    "app": {
        "name": "Fixture app",
        "short_description": "Shows fixture data beside each ticket.",
        "long_description": "A long description of what the fixture app does for agents, in detail.",
        "installation_instructions": "1. Open the marketplace.\n2. Click Install.\n3. Enter the backend URL.",
        "parameters": {"backend_url": {"label": "Backend URL", "helpText": "Where the backend runs."},
                       "api_token": {"label": "API token"}},
    },
    "sidebar": {"loading": "Loading..."},
}

ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 18 18"><path d="M1 9 L17 9" stroke="currentColor"/></svg>'
PAGE = '<!doctype html><html><head><link rel="stylesheet" href="app.css"></head>' \
       '<body><main id="root"></main><script src="app.js"></script></body></html>'


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def make_valid_app(root: Path) -> Path:
    """Write a package folder that passes every rule."""
    assets = root / "assets"
    assets.mkdir(parents=True)
    write_json(root / "manifest.json", MANIFEST)
    write_json(root / "translations" / "en.json", EN)
    Image.new("RGB", (320, 320), (20, 80, 90)).save(assets / "logo.png")
    small = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    small.paste((20, 80, 90, 255), (32, 32, 96, 96))
    small.save(assets / "logo-small.png")
    (assets / "icon_nav_bar.svg").write_text(ICON, encoding="utf-8")
    (assets / "iframe.html").write_text(PAGE, encoding="utf-8")
    (assets / "app.js").write_text("document.getElementById('root').textContent = 'ok';\n", encoding="utf-8")
    (assets / "app.css").write_text("main { font: 14px sans-serif; }\n", encoding="utf-8")
    Image.new("RGB", (1280, 800), (240, 240, 240)).save(assets / "screenshot-0.png")
    return root


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A valid app package folder."""
    return make_valid_app(tmp_path / "app")
