"""The token pages in the demo (server/pages.py): the 'Try it' strip leads to the demo's agent page and
sample product only where this server serves them (``DEMO_PAGES``)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest


class _Links(HTMLParser):
    """The links inside the element with id ``try-it``."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if self.depth:
            self.depth += 1
            if tag == "a":
                self.links.append(names)
        elif names.get("id") == "try-it":
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1


def _strip(client, path: str) -> list[dict[str, str | None]] | None:
    html = client.get(path).get_data(as_text=True)
    if 'id="try-it"' not in html:
        return None
    parser = _Links()
    parser.feed(html)
    return parser.links


@pytest.mark.parametrize("path", ["/", "/incidents"])
def test_the_demo_pages_offer_the_agents_side_and_the_customers(app_config, path):
    from server.app import create_app

    demo = create_app({**app_config, "DEMO_PAGES": "1"})
    try:
        links = _strip(demo.test_client(), path)
        assert links is not None
        assert [(a["href"], a["target"], a["rel"]) for a in links] == [
            ("/demo/zendesk", "_blank", "opener"),  # takes this tab's token, as the ticket links do
            ("/demo/acme/billing", "_blank", "noopener"),
        ]
    finally:
        demo.extensions["groundswell.db"].dispose()


@pytest.mark.parametrize("path", ["/", "/incidents"])
def test_without_the_demo_pages_there_is_no_strip(client, path):
    assert _strip(client, path) is None
