"""Request and response schemas of the widget endpoints (decisions, known issues, settings, measurement)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.ingest.schemas import ID_RE
from server.widget.features import SIGNALS
from server.validation import FullMatch, TextSchema

ITEM_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PATTERN_RE = re.compile(r"^/[A-Za-z0-9_.~:/*%+@!$&'(),;=-]{0,199}$")
MAX_ITEMS = 50


def _link(value: str) -> None:
    if value.startswith("/") and not value.startswith("//"):
        return
    try:
        parts = urlsplit(value)
    except ValueError:  # a malformed IPv6 host: "http://[x/", "http://[zz]/"
        raise ValidationError("must be an http(s) URL or a path starting with /") from None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValidationError("must be an http(s) URL or a path starting with /")


def _text(max_len: int, required: bool = True, **kw: Any) -> fields.String:
    return fields.String(required=required, validate=validate.Length(1 if required else 0, max_len), **kw)


def _url_field(**kw: Any) -> fields.String:
    return fields.String(allow_none=True, load_default=None, validate=[validate.Length(1, 500), _link], **kw)


def _pattern() -> fields.String:
    return fields.String(required=True, validate=FullMatch(PATTERN_RE),
                         metadata={"description": "Page path pattern; `*` matches any run of characters.",
                                   "example": "/billing*"})


class TriggerSchema(TextSchema):
    """Friction a nudge answers; at least one of the two."""

    signal = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(SIGNALS),
                           metadata={"description": "The friction signal, e.g. `failed_request`, `form_error`."})
    target = fields.String(allow_none=True, load_default=None, validate=validate.Length(1, 200), metadata={
        "description": "What it happened to (`*` for any run of characters): a failed request's `METHOD /path` "
                       "(or `/path`), a rejected form's `form` or `form/field`, a clicked element's descriptor "
                       "(`button#pay`), an abandoned flow's name.",
        "example": "POST /api/pay"})

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("signal") and not data.get("target"):
            raise ValidationError("name a signal, a target or both", "signal")


class NudgeSchema(TextSchema):
    id = fields.String(required=True, validate=FullMatch(ITEM_ID_RE))
    match = _pattern()
    title = _text(120)
    body = _text(500)
    link_url = _url_field()
    link_text = fields.String(allow_none=True, load_default=None, validate=validate.Length(1, 80))
    when = fields.List(fields.Nested(TriggerSchema), load_default=list, validate=validate.Length(max=10), metadata={
        "description": "The friction this tip answers. Empty: any friction on a matching page (when no tip "
                       "naming friction matches what the session met there)."})


class DeclaredIssueSchema(TextSchema):
    id = fields.String(required=True, validate=FullMatch(ITEM_ID_RE))
    match = _pattern()
    message = _text(300)
    link_url = _url_field()


class ColdStartSchema(Schema):
    enabled = fields.Boolean(load_default=True)
    min_outcomes = fields.Integer(load_default=200, validate=validate.Range(1, 1_000_000))
    min_positives = fields.Integer(load_default=20, validate=validate.Range(1, 1_000_000))
    repeat_failures = fields.Integer(load_default=3, validate=validate.Range(2, 20))


class FrictionSettingsSchema(Schema):
    weekly_false_alarms = fields.Float(load_default=1.0, validate=validate.Range(0.01, 50))
    min_sessions = fields.Integer(load_default=3, validate=validate.Range(1, 1000))
    warmup_hours = fields.Integer(load_default=24, validate=validate.Range(1, 24 * 28))


class WidgetSettingsSchema(TextSchema):
    """A tenant's widget configuration; PUT replaces it as a whole."""

    nudges = fields.List(fields.Nested(NudgeSchema), load_default=list, validate=validate.Length(max=MAX_ITEMS))
    known_issues = fields.List(fields.Nested(DeclaredIssueSchema), load_default=list,
                               validate=validate.Length(max=MAX_ITEMS))
    threshold = fields.Float(load_default=0.5, validate=validate.Range(0.0, 1.0),
                             metadata={"description": "Least P(ticket within 24 h) that counts as stuck."})
    cap_per_session = fields.Integer(load_default=1, validate=validate.Range(0, 100))
    cap_per_day = fields.Integer(load_default=3, validate=validate.Range(0, 1000),
                                 metadata={"description": "Most nudges per identified user (else session) per 24 h."})
    holdout = fields.Float(load_default=0.1, validate=validate.Range(0.0, 0.9),
                           metadata={"description": "Share of sessions never nudged (their would-be nudges recorded)."})
    identity_required = fields.Boolean(load_default=False, metadata={
        "description": "Ignore user ids without a valid user_hash (needs an identity secret)."})
    status_page_url = fields.String(allow_none=True, load_default=None,
                                    validate=[validate.Length(1, 500), _link], metadata={
        "description": "Where a detected incident's banner links (\"Status and updates\"): your status page."})
    ticket_user_keys = fields.List(
        fields.String(validate=FullMatch(r"^(email|requester_id|field:[A-Za-z0-9_.-]{1,64})$")),
        load_default=lambda: ["email", "field:user_id"], validate=validate.Length(1, 5),
        metadata={"description": "How a ticket's requester is joined to the widget's user_id."})
    cold_start = fields.Nested(ColdStartSchema, load_default=lambda: ColdStartSchema().load({}))
    friction = fields.Nested(FrictionSettingsSchema, load_default=lambda: FrictionSettingsSchema().load({}))

    @validates_schema
    def _unique_ids(self, data: dict[str, Any], **_: Any) -> None:
        for name in ("nudges", "known_issues"):
            ids = [item["id"] for item in data.get(name, [])]
            if len(ids) != len(set(ids)):
                raise ValidationError("ids must be unique", name)


class DeclaredIssueOutSchema(DeclaredIssueSchema):
    pages_matched = fields.Integer(dump_only=True, metadata={
        "description": "How many of the pages the widget saw lately (`pages_seen`) the pattern matches; 0: its "
                       "banner shows on none of them (a page mounted under a prefix, such as /app/billing, "
                       "needs the prefix or a leading `*`)."})


class PagesSeenSchema(Schema):
    days = fields.Integer(required=True, metadata={"description": "How far back sessions are looked at."})
    count = fields.Integer(required=True, metadata={
        "description": "Distinct pages (ids as `:id`) in the widget's newest sessions seen in those days (at "
                       "most 2,000 sessions)."})
    paths = fields.List(fields.String(), required=True, metadata={
        "description": "Up to 50 of those pages, the most visited first."})


class WidgetSettingsOutSchema(WidgetSettingsSchema):
    known_issues = fields.List(fields.Nested(DeclaredIssueOutSchema), required=True)
    identity_secret_set = fields.Boolean(required=True, dump_only=True)
    pages_seen = fields.Nested(PagesSeenSchema, required=True, dump_only=True)


class IdentitySecretOutSchema(Schema):
    identity_secret = fields.String(required=True, metadata={"description": "Shown once; store it server-side."})


class DecideInSchema(TextSchema):
    site_key = fields.String(validate=validate.Length(1, 64),
                             metadata={"description": "Public site key; may also come in X-Groundswell-Site-Key."})
    session_id = fields.String(required=True, validate=FullMatch(ID_RE))
    url = fields.String(required=True, validate=validate.Length(1, 2048))
    user_id = fields.String(validate=validate.Length(1, 128))
    user_hash = fields.String(validate=FullMatch(r"^[0-9a-fA-F]{64}$"),
                              metadata={"description": "hex HMAC-SHA256(identity secret, user_id)."})
    closed = fields.List(fields.String(validate=FullMatch(ITEM_ID_RE)), load_default=list,
                         validate=validate.Length(max=20), metadata={
        "description": "Ids of the tips the person closed in this session (at most 20): never offered again in it, "
                       "even before the server has read the closings from the session's events."})


class NudgeOutSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    link_url = fields.String(required=True, allow_none=True)
    link_text = fields.String(required=True, allow_none=True)


class KnownIssueOutSchema(Schema):
    id = fields.String(required=True)
    message = fields.String(required=True)
    link_url = fields.String(required=True, allow_none=True)
    incident_id = fields.Integer(required=True, allow_none=True)


REASONS = ("nudge", "holdout", "cap_session", "cap_day", "below_threshold", "cold_start", "learning", "no_content",
           "no_data")


class DecideOutSchema(Schema):
    nudge = fields.Nested(NudgeOutSchema, required=True, allow_none=True)
    reason = fields.String(required=True, metadata={"enum": list(REASONS)})
    holdout = fields.Boolean(required=True)
    p_ticket = fields.Float(required=True, allow_none=True)
    banners = fields.List(fields.Nested(KnownIssueOutSchema), required=True)


class KnownIssuesQuerySchema(TextSchema):
    site_key = fields.String(validate=validate.Length(1, 64))
    url = fields.String(required=True, validate=validate.Length(1, 2048))


class KnownIssuesOutSchema(Schema):
    issues = fields.List(fields.Nested(KnownIssueOutSchema), required=True)


class ArmSchema(Schema):
    sessions = fields.Integer(required=True, metadata={"description": "Sessions with a decided 24 h outcome."})
    tickets = fields.Integer(required=True)
    rate = fields.Float(required=True, allow_none=True)
    interval = fields.List(fields.Float(), required=True, allow_none=True,
                           metadata={"description": "95 % Wilson interval of the rate."})


class MeasurementQuerySchema(Schema):
    days = fields.Integer(load_default=28, validate=validate.Range(1, 365))


class MeasurementOutSchema(Schema):
    nudged = fields.Nested(ArmSchema, required=True)
    holdout = fields.Nested(ArmSchema, required=True)
    difference = fields.Float(required=True, allow_none=True,
                              metadata={"description": "Nudged rate minus holdout rate (negative: fewer tickets)."})
    interval = fields.List(fields.Float(), required=True, allow_none=True,
                           metadata={"description": "95 % Newcombe interval of the difference."})
    pending = fields.Integer(required=True, metadata={"description": "Would-nudge sessions still in their 24 h."})
    anonymous = fields.Integer(required=True, metadata={"description": "Would-nudge sessions without a user."})
    days = fields.Integer(required=True)
    sentence = fields.String(required=True)


widget_settings_schema = WidgetSettingsSchema()
widget_settings_out_schema = WidgetSettingsOutSchema()
decide_in_schema = DecideInSchema()
decide_out_schema = DecideOutSchema()
known_issues_query_schema = KnownIssuesQuerySchema()
known_issues_out_schema = KnownIssuesOutSchema()
measurement_query_schema = MeasurementQuerySchema()
measurement_out_schema = MeasurementOutSchema()
identity_secret_out_schema = IdentitySecretOutSchema()
