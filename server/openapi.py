"""The OpenAPI document, generated from the schemas the views use (apispec + its marshmallow plugin).

Each view declares its schemas with ``server.http.documented``; this module walks the app's URL
map and turns those declarations into operations. ``/api/v1/openapi.json`` serves the result and
``/api/v1/docs`` renders it as a page without any script from elsewhere.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, render_template

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

SECURITY = {
    "api_token": {"type": "http", "scheme": "bearer", "description": "The tenant's API token (gs_sk_...)."},
    "site_key": {"type": "apiKey", "in": "header", "name": "X-Groundswell-Site-Key",
                 "description": "The tenant's public widget site key; the request Origin must be allowed."},
    "zendesk_signature": {"type": "apiKey", "in": "header", "name": "X-Zendesk-Webhook-Signature",
                          "description": "base64 HMAC-SHA256 of X-Zendesk-Webhook-Signature-Timestamp + raw body."},
    "pagerduty_signature": {"type": "apiKey", "in": "header", "name": "X-PagerDuty-Signature",
                            "description": "v1= and the hex HMAC-SHA256 of the raw body with the webhook "
                                           "subscription's secret; several, comma-separated, while it rotates."},
    "slack_signature": {"type": "apiKey", "in": "header", "name": "X-Slack-Signature",
                        "description": "v0= and the hex HMAC-SHA256, with the Slack app's signing secret, of "
                                       "v0:<X-Slack-Request-Timestamp>:<raw body>."},
}


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") else name


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(title="Groundswell API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": "Ingest, read and operations endpoints of a Groundswell backend."})
    for name, scheme in SECURITY.items():
        spec.components.security_scheme(name, scheme)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        converters = {name: conv for conv, name in re.findall(r"<([a-z]+):([a-z_]+)>", rule.rule)}
        operations = {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"summary": meta["summary"], "tags": meta["tags"], "responses": {},
                                  "operationId": rule.endpoint.replace(".", "_")}
            if meta["description"]:
                op["description"] = meta["description"]
            params = [{"in": "path", "name": arg, "required": True,
                       "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1} if converters.get(arg) == "int" else {"type": "string"}}
                      for arg in sorted(rule.arguments)]
            if meta["query"] is not None:
                params.append({"in": "query", "schema": meta["query"]})
            if params:
                op["parameters"] = params
            if meta["body"] is not None:
                op["requestBody"] = {"required": True,
                                     "content": {meta["body_content_type"]: {"schema": meta["body"]}}}
            if meta["auth"]:
                op["security"] = [{meta["auth"]: []}]
            for status, (schema, description) in sorted(meta["responses"].items()):
                resp: dict[str, Any] = {"description": description}
                if schema is not None:
                    resp["content"] = {"application/json": {"schema": schema}}
                elif meta.get("text_response") and status < 300:
                    resp["content"] = {meta["text_response"]: {"schema": {"type": "string"}}}
                op["responses"][str(status)] = resp
            operations[method.lower()] = op
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json() -> Any:
    if "groundswell.openapi" not in current_app.extensions:
        current_app.extensions["groundswell.openapi"] = build_spec(current_app)
    return jsonify(current_app.extensions["groundswell.openapi"])


@bp.get("/docs")
def docs() -> Any:
    if "groundswell.openapi" not in current_app.extensions:
        current_app.extensions["groundswell.openapi"] = build_spec(current_app)
    return render_template("docs.html", spec=current_app.extensions["groundswell.openapi"])
