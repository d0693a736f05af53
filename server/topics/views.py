from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from server.accounts.service import account_note
from server.api.views import _api_limit, _token_key
from server.errors import NotFound
from server.extensions import limiter
from server.http import db_session, documented, json_body, require_token
from server.ingest.schemas import ErrorSchema
from server.metrics import utcnow
from server.tenants import Tenant
from server.topics import service
from server.topics.schemas import (
    TopicDetailQuerySchema,
    TopicListQuerySchema,
    TopicPatchSchema,
    ticket_context_out,
    topic_detail_out,
    topic_detail_query,
    topic_list_out,
    topic_list_query,
    topic_patch,
)
from server.zendesk.schemas import TicketContextQuerySchema, ticket_context_query
from server.zendesk.service import add_sidebar_state

bp = Blueprint("topics", __name__, url_prefix="/api/v1")
_AUTH_ERRORS = {400: (ErrorSchema(), "A parameter or body field failed validation (`error.fields` names it), "
                                     "or the body is not a JSON object."),
                401: (ErrorSchema(), "Missing or unknown API token."), 404: (ErrorSchema(), "Not found."),
                429: (ErrorSchema(), "Rate limit exceeded; retry after Retry-After seconds.")}


@bp.get("/topics")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="List live topics", tags=["topics"], query=TopicListQuerySchema(), auth="api_token",
            responses={200: (topic_list_out, "Topics, most recently active first."),
                       **_AUTH_ERRORS})
@require_token
def list_topics(tenant: Tenant) -> Any:
    args = topic_list_query.load(request.args.to_dict())
    return jsonify(topic_list_out.dump(service.list_topics(db_session(), tenant.id, now=utcnow(), **args)))


@bp.get("/topics/<int:topic_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="One topic with its representative tickets and hourly volume", tags=["topics"],
            query=TopicDetailQuerySchema(), auth="api_token",
            responses={200: (topic_detail_out, "The topic (or the one it was merged into)."), **_AUTH_ERRORS})
@require_token
def get_topic(tenant: Tenant, topic_id: int) -> Any:
    """A merged topic's id still resolves: the answer is its successor, with `redirected_from`."""
    args = topic_detail_query.load(request.args.to_dict())
    return jsonify(topic_detail_out.dump(service.topic_detail(db_session(), tenant.id, topic_id, now=utcnow(), **args)))


@bp.patch("/topics/<int:topic_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Name a topic", tags=["topics"], body=TopicPatchSchema(), auth="api_token",
            responses={200: (topic_detail_out, "The renamed topic."),
                       **_AUTH_ERRORS})
@require_token
def patch_topic(tenant: Tenant, topic_id: int) -> Any:
    """The name overrides the keyword label and survives later updates of the topic."""
    body = topic_patch.load(json_body())
    return jsonify(topic_detail_out.dump(service.rename(db_session(), tenant.id, topic_id, body["name"], now=utcnow())))


@bp.get("/tickets/<ticket_id>/context")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="What the sidebar shows for one Zendesk ticket", tags=["topics"], auth="api_token",
            query=TicketContextQuerySchema(),
            responses={200: (ticket_context_out, "The ticket's record and its topic."), **_AUTH_ERRORS})
@require_token
def ticket_context(tenant: Tenant, ticket_id: str) -> Any:
    if not re.fullmatch(r"[0-9]{1,20}", ticket_id):
        raise NotFound("Zendesk ticket ids are digits.")
    agent = ticket_context_query.load(request.args.to_dict()).get("by", "").strip()
    session, now = db_session(), utcnow()
    context = service.ticket_context(session, tenant.id, ticket_id, now=now)
    add_sidebar_state(session, tenant.id, context, agent=agent or None)
    cache = current_app.extensions.setdefault("groundswell.accounts_cache", {})
    accounts = [s["account_id"] for s in (context["in_app"] or {}).get("sessions", []) if s.get("account_id")]
    context["account"] = account_note(session, tenant.id, context["ticket"].get("organization_id"), now=now,
                                      account_ids=accounts, cache=cache)
    return jsonify(ticket_context_out.dump(context))
