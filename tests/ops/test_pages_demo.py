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


def _known_issue_examples(html: str) -> tuple[str, list[str]]:
    """The Page field's placeholder and the code examples of the known-issues section's hint."""
    section = html[html.index('id="known-issues"'):html.index("</section>", html.index('id="known-issues"'))]
    hint = section[:section.index("</p>")]
    placeholder = section.split('id="known-match"', 1)[1].split('placeholder="', 1)[1].split('"', 1)[0]
    return placeholder, [c.split("</code>", 1)[0] for c in hint.split("<code>")[1:]]


def test_the_demos_known_issue_example_is_a_pattern_of_its_own_pages(app_config, client):
    from server.app import create_app
    from server.widget.settings import path_matches

    demo = create_app({**app_config, "DEMO_PAGES": "1"})
    try:
        placeholder, codes = _known_issue_examples(demo.test_client().get("/incidents").get_data(as_text=True))
    finally:
        demo.extensions["groundswell.db"].dispose()
    # the demo's pages live under /demo/acme/: "/billing*" would match none of them
    assert placeholder == "/demo/acme/billing*" and "/demo/acme/billing*" in codes
    assert path_matches(placeholder, "/demo/acme/billing")
    # without the demo, the product's own pages
    assert _known_issue_examples(client.get("/incidents").get_data(as_text=True))[0] == "/billing*"
