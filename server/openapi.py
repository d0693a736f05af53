"""The OpenAPI document, generated from the schemas the views use (apispec + its marshmallow plugin).

Each view declares its schemas with ``server.http.documented``; this module walks the app's URL
map and turns those declarations into operations. ``/api/v1/openapi.json`` serves the result and
``/api/v1/docs`` renders it as a page without any script from elsewhere: a contents list by tag, each
operation's parameters and how to send its credential, and every schema's fields.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, render_template
from markupsafe import Markup, escape

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

#: What each path argument names, keyed by its name in the URL rule; every operation with that argument gets
#: the same words. A route with a new argument needs its entry here (tests/ops/test_openapi.py checks).
PATH_PARAMETERS = {
    "backtest_id": "The backtest's `id`, from POST or GET /api/v1/backtests.",
    "incident_id": "The incident's `id`, from GET /api/v1/incidents.",
    "mute_id": "The mute's `id`, from POST or GET /api/v1/mutes.",
    "slug": "The tenant's slug (`tenant.slug` in GET /api/v1/status); GET /api/v1/settings/notifications "
            "gives the whole URL as `interactions_url`.",
    "tenant": "The tenant's slug (`tenant.slug` in GET /api/v1/status), as in the webhook URL the Zendesk "
              "install sets up.",
    "ticket_id": "The Zendesk ticket's id: 1 to 20 digits (anything else is a 404).",
    "topic_id": "The topic's `id`, from GET /api/v1/topics or an incident's `topic`.",
    "webhook_id": "The incident webhook's `id`, from GET /api/v1/settings/webhooks.",
}


def _schema_name(schema: Any) -> str:
    """A schema's component name: its class's, without "Schema"; an instance that takes any subset of its
    fields (``partial``, such as a backtest's proposed friction settings) is a component of its own."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    name = name[:-6] if name.endswith("Schema") else name
    return name + "Partial" if getattr(schema, "partial", None) is True else name


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
                op["description"] = inspect.cleandoc(meta["description"])  # a docstring's indentation dropped
            params: list[dict[str, Any]] = [
                {"in": "path", "name": arg, "required": True,
                 **({"description": PATH_PARAMETERS[arg]} if arg in PATH_PARAMETERS else {}),
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


METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def how_to_send(scheme: dict[str, Any]) -> tuple[str, str | None]:
    """How a client presents a security scheme: a lead-in and the literal text to send (None when there is none)."""
    kind = scheme.get("type")
    if kind == "http":
        name = str(scheme.get("scheme", ""))
        if name.lower() == "bearer":
            return "send the header", f"Authorization: Bearer <{scheme.get('bearerFormat') or 'token'}>"
        if name.lower() == "basic":
            return "send the header", "Authorization: Basic <base64 of user:password>"
        return "send the header", f"Authorization: {name} <credentials>"
    if kind == "apiKey":
        where, name = scheme.get("in"), scheme.get("name")
        if where == "query":
            return "add the query parameter", f"{name}=<value>"
        if where == "cookie":
            return "send the cookie", f"Cookie: {name}=<value>"
        return "send the header", f"{name}: <value>"
    if kind in ("oauth2", "openIdConnect"):
        return "send the header", "Authorization: Bearer <access token>"
    if kind == "mutualTLS":
        return "present a client TLS certificate", None
    return f"send a {kind} credential", None


def _parameter(spec: dict[str, Any], param: dict[str, Any]) -> dict[str, Any]:
    ref = param.get("$ref")
    if ref:
        return spec.get("components", {}).get("parameters", {}).get(ref.split("/")[-1], {"name": ref, "in": "?"})
    return param


def docs_sections(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations grouped by their first tag (the spec's declared tags first, then the rest by name), each
    with its path-level and own parameters resolved, for the page and its contents list."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        shared = [_parameter(spec, p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in METHODS:
                continue
            own = [_parameter(spec, p) for p in op.get("parameters", [])]
            keys = {(p.get("name"), p.get("in")) for p in own}
            params = [p for p in shared if (p.get("name"), p.get("in")) not in keys] + own
            tag = (op.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append({"method": method, "path": path, "op": op, "parameters": params,
                                               "security": op.get("security", spec.get("security", []))})
    declared = {t["name"]: t for t in spec.get("tags", [])}
    order = [t for t in declared if t in groups] + sorted(t for t in groups if t not in declared)
    return [{"name": tag, "id": "tag-" + re.sub(r"[^A-Za-z0-9_-]+", "-", tag),
             "description": declared.get(tag, {}).get("description"), "operations": groups[tag]} for tag in order]


#: A code span as CommonMark reads one: a run of backticks, then the nearest run of exactly as many.
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def _code(match: re.Match[str]) -> str:
    """A code span's text: line breaks read as spaces, and one space each side dropped when both are there."""
    content = match[2].replace("\r\n", " ").replace("\n", " ")
    if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
        content = content[1:-1]
    return content


@bp.app_template_filter("code_spans")
def code_spans(text: Any) -> Markup:
    """Spec text as HTML: escaped, with each Markdown code span (`field`, the only Markdown the
    descriptions use) made a ``<code>`` element. A backtick without its pair stays as it is.

    Examples
    --------
    >>> code_spans("`error.fields` names it")
    Markup('<code>error.fields</code> names it')
    >>> code_spans("`<id>` & <b>, 1 ` 2")
    Markup('<code>&lt;id&gt;</code> &amp; &lt;b&gt;, 1 ` 2')
    >>> code_spans("`` a`b `` and `c`")
    Markup('<code>a`b</code> and <code>c</code>')
    >>> code_spans(None)
    Markup('')
    """
    if not text:  # None, or a key the spec leaves out (the template's undefined)
        return Markup("")
    text, html, at = str(text), Markup(""), 0
    for match in _CODE_SPAN.finditer(text):
        html += escape(text[at:match.start()]) + Markup("<code>%s</code>") % _code(match)
        at = match.end()
    return html + escape(text[at:])


@bp.get("/docs")
def docs() -> Any:
    if "groundswell.openapi" not in current_app.extensions:
        current_app.extensions["groundswell.openapi"] = build_spec(current_app)
    spec = current_app.extensions["groundswell.openapi"]
    schemes = spec.get("components", {}).get("securitySchemes", {})
    auth = {name: dict(zip(("lead", "send"), how_to_send(scheme)), description=scheme.get("description"))
            for name, scheme in schemes.items()}
    return render_template("docs.html", spec=spec, sections=docs_sections(spec), auth=auth)
