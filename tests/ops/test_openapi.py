from __future__ import annotations

import re

import pytest
from marshmallow import ValidationError

from server.validation import FullMatch


def test_openapi_document_covers_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert set(paths) >= {"/api/v1/events", "/webhooks/zendesk/{tenant}", "/api/v1/status", "/healthz", "/readyz",
                          "/metrics"}
    events = paths["/api/v1/events"]["post"]
    assert events["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/WidgetBatch")
    assert set(events["responses"]) >= {"202", "400", "403", "413", "429"}
    batch = spec["components"]["schemas"]["WidgetBatch"]
    assert "events" in batch["required"]
    event = spec["components"]["schemas"]["WidgetEvent"]
    assert "rage_click" in event["properties"]["type"]["enum"]
    assert paths["/api/v1/status"]["get"]["security"] == [{"api_token": []}]
    assert paths["/webhooks/zendesk/{tenant}"]["post"]["parameters"][0]["name"] == "tenant"


def test_docs_page_renders_every_operation(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for path in ("/api/v1/events", "/webhooks/zendesk/{tenant}", "/api/v1/status"):
        assert path in html
    assert "<script" not in html  # nothing fetched from elsewhere, nothing to run


def _section(html, anchor):
    start = html.index(f'id="{anchor}"')
    return html[start:html.index("</section>", start)]


def test_docs_page_shows_parameters_and_links_request_bodies(client):
    before = client.get("/api/v1/openapi.json").get_json()
    html = client.get("/api/v1/docs").get_data(as_text=True)
    changes = _section(html, "accounts_account_changes")
    row = changes[changes.index("<code>min_ratio</code>"):]
    row = row[:row.index("</tr>")]
    assert "<td data-label=\"In\">query</td>" in row and "number" in row
    assert "From 1.0 to 20.0." in row and "Default: <code>1.5</code>." in row
    assert "Least change that is flagged" in row
    for name in ("days", "weeks", "fdr"):
        assert f"<code>{name}</code>" in changes
    incident = _section(html, "incidents_get_incident")
    assert "<code>incident_id</code></td><td data-label=\"In\">path</td>" in incident
    assert "<td data-label=\"Required\">yes</td>" in incident
    events = _section(html, "ingest_post_events")
    assert '<a href="#schema-WidgetBatch">WidgetBatch</a>' in events
    batch = _section(html, "schema-WidgetBatch")
    assert '<code>events</code>' in batch and 'array of <a href="#schema-WidgetEvent">WidgetEvent</a>' in batch
    assert "One of: " in _section(html, "schema-WidgetEvent")
    assert client.get("/api/v1/openapi.json").get_json() == before  # the page leaves the served document alone


def test_docs_page_says_how_to_send_each_credential(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    status = _section(html, "api_status")
    assert ('Authentication (<a href="#auth-api_token">api_token</a>): send the header '
            "<code>Authorization: Bearer &lt;token&gt;</code>.") in status
    assert "send the header <code>X-Groundswell-Site-Key: &lt;value&gt;</code>" in _section(html, "ingest_post_events")
    spec = client.get("/api/v1/openapi.json").get_json()
    auth = _section(html, "authentication")
    for name in spec["components"]["securitySchemes"]:
        assert f'<dt id="auth-{name}"><code>{name}</code></dt>' in auth


def test_docs_page_has_contents_grouped_by_tag(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    html = client.get("/api/v1/docs").get_data(as_text=True)
    nav = html[html.index('<nav class="contents" id="contents"'):html.index("</nav>")]
    for tag in {op["tags"][0] for ops in spec["paths"].values() for op in ops.values()}:
        assert f'<a href="#tag-{tag}">{tag}</a>' in nav and f'id="tag-{tag}"' in html
    for ops in spec["paths"].values():
        for op in ops.values():
            assert f'href="#{op["operationId"]}"' in nav and f'id="{op["operationId"]}"' in html
    assert ('<a href="#accounts_account_changes"><span class="method get">GET</span> '
            '<code>/api/v1/accounts/changes</code></a>') in nav
    order = [nav.index(f'href="#{anchor}"') for anchor in ("tag-accounts", "accounts_account_changes", "tag-incidents")]
    assert order == sorted(order)
    assert 'href="#authentication"' in nav and 'href="#schemas"' in nav


def test_docs_page_escapes_spec_text_and_reads_schemes_from_the_spec(app, client):
    from server.openapi import build_spec

    evil = "<img src=x onerror=alert(1)>"
    with app.app_context():
        spec = build_spec(app)
    spec["info"]["description"] = evil
    changes = spec["paths"]["/api/v1/accounts/changes"]["get"]
    changes["tags"] = [evil]
    changes["parameters"][0]["description"] = evil
    changes["parameters"][0]["schema"]["enum"] = [evil]
    changes["security"] = [{"probe_key": []}]
    spec["components"]["securitySchemes"]["probe_key"] = {"type": "apiKey", "in": "query", "name": "probe",
                                                          "description": evil}
    spec["components"]["schemas"]["WidgetEvent"]["properties"]["url"]["description"] = evil
    app.extensions["groundswell.openapi"] = spec
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
    assert "add the query parameter <code>probe=&lt;value&gt;</code>." in _section(html, "accounts_account_changes")
    assert "&lt;X-Slack-Request-Timestamp&gt;" in html and "<X-Slack" not in html


def test_dashboard_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and b"dashboard.js" in page.data
    assert client.get("/static/dashboard.js").status_code == 200


def test_docs_page_shows_backtick_spans_as_code(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "`" not in html  # every description the spec has goes through code_spans
    changes = _section(html, "accounts_account_changes")
    assert "the last <code>days</code> days" in changes  # the operation's description
    assert "(a week apart when <code>days</code> is under 7" in changes  # a parameter's
    assert "<td>A parameter failed validation; <code>error.fields</code> names it.</td>" in changes  # a response's
    assert "(see <code>source</code>)" in _section(html, "schema-AccountFlag")  # a schema field's


def test_code_spans_stay_escaped_inside_and_out(app, client):
    from server.openapi import build_spec

    with app.app_context():
        spec = build_spec(app)
    text = "Send `<b>&amp;` as <i>; ``a`b`` keeps its backtick; a lone ` stays."
    code = "Send <code>&lt;b&gt;&amp;amp;</code> as &lt;i&gt;; <code>a`b</code> keeps its backtick; a lone ` stays."
    spec["info"]["description"] = text
    changes = spec["paths"]["/api/v1/accounts/changes"]["get"]
    changes["description"] = text
    changes["parameters"][0]["description"] = text
    changes["responses"]["200"]["description"] = text
    spec["components"]["securitySchemes"]["api_token"]["description"] = text
    spec["components"]["schemas"]["WidgetEvent"]["properties"]["url"]["description"] = text
    app.extensions["groundswell.openapi"] = spec
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "<b>" not in html and "<i>" not in html
    assert code in html[:html.index("</header>")]
    # the operation's description, its parameter's and response's, and how to send its credential
    assert _section(html, "accounts_account_changes").count(code) == 4
    assert code in _section(html, "authentication") and code in _section(html, "schema-WidgetEvent")


def test_every_path_parameter_has_a_description_on_the_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    html = client.get("/api/v1/docs").get_data(as_text=True)
    seen = set()
    for path, item in spec["paths"].items():
        for op in item.values():
            for p in op.get("parameters", []):
                if p["in"] != "path":
                    continue
                assert p.get("description", "").strip(), f"{path}: path parameter {p['name']} has no description"
                seen.add(p["name"])
    assert {"incident_id", "tenant", "ticket_id"} <= seen
    incident = _section(html, "incidents_get_incident")
    row = incident[incident.index("<code>incident_id</code>"):]
    row = row[:row.index("</tr>")]
    assert "The incident&#39;s <code>id</code>, from GET /api/v1/incidents. From 0 to 2147483647." in row


def test_operation_descriptions_lose_their_docstring_indentation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    merge = spec["paths"]["/api/v1/incidents/{incident_id}/merge"]["post"]["description"]
    assert "\n" in merge and "\n " not in merge


def test_docs_page_counts_one_item_in_the_singular(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "At least 1 item." in _section(html, "schema-WidgetBatch")
    assert " 1 items." not in html and " 1 characters." not in html and " 1 entries." not in html


def test_every_published_pattern_means_the_same_to_clients_and_to_the_server(client):
    """Patterns are published as written and checked over the whole value: no Python-only anchor, and a
    final newline (which Python's $ lets through re.match) is refused where the pattern ends in $."""
    spec = client.get("/api/v1/openapi.json").get_json()
    patterns = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.append(node["pattern"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    assert len(patterns) >= 10
    for pattern in patterns:
        assert "\\Z" not in pattern and "\\z" not in pattern and "(?" not in pattern, pattern
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
    check = FullMatch(r"^[0-9]{1,20}$")
    assert check("123") == "123" and re.match(r"^[0-9]{1,20}$", "123\n")  # the hole FullMatch closes
    with pytest.raises(ValidationError):
        check("123\n")


def test_the_document_is_built_without_warnings(app):
    """apispec warns (into the server's log) when two schemas resolve to one name; each has its own."""
    import warnings

    from server.openapi import build_spec

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = build_spec(app)
    assert {"FrictionSettings", "FrictionSettingsPartial"} <= set(spec["components"]["schemas"])
