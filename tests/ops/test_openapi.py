from __future__ import annotations


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


def test_dashboard_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and b"dashboard.js" in page.data
    assert client.get("/static/dashboard.js").status_code == 200
