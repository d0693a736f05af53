"""What the browser code may use: the Zendesk app is built for Safari 14 and the server's pages are not
compiled at all, so a regular expression with a lookbehind (Safari 16.4 and later) would stop the whole
script before it runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "server" / "static").rglob("*.js")), *sorted((ROOT / "zendesk_app" / "src").rglob("*.ts")),
           *sorted((ROOT / "widget" / "src").rglob("*.ts"))]
LOOKBEHIND = re.compile(r"\(\?<[=!]")


def test_browser_code_has_no_regex_lookbehind():
    assert len(SOURCES) > 20
    found = [f"{path.relative_to(ROOT)}:{n}" for path in SOURCES
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if LOOKBEHIND.search(line)]
    assert found == []
