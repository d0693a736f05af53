from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.incidents.models import KINDS
from server.notify.models import FORMATS
from server.notify.settings import MODES
from server.notify.slack import EVENTS
from server.validation import FullMatch, TextSchema

#: How a message to one target went.
STATES = ("pending", "delivered", "failed", "muted", "not_configured")


class AccountsDigestSchema(Schema):
    weekday = fields.Integer(required=True, validate=validate.Range(0, 6),
                             metadata={"description": "Day of the week, in UTC: 0 Monday ... 6 Sunday."})
    hour = fields.Integer(load_default=9, validate=validate.Range(0, 23),
                          metadata={"description": "Hour of that day, in UTC (default 9)."})


class NotificationSettingsInSchema(TextSchema):
    mode = fields.String(validate=validate.OneOf(MODES),
                         metadata={"description": "off, webhook (incoming webhook: one message per incident event) "
                                                  "or web_api (bot token: one thread per incident). Absent: keep the "
                                                  "stored one (as when only `accounts_digest` changes)."})
    webhook_url = fields.Url(schemes={"http", "https"}, require_tld=False, allow_none=True,
                             validate=validate.Length(max=500), load_only=True,
                             metadata={"description": "Incoming webhook URL (secret). Absent: keep the stored one; "
                                                      "null: remove it."})
    bot_token = fields.String(allow_none=True, load_only=True,
                              validate=[validate.Length(8, 300), FullMatch(r"^\S+$", error="no spaces")],
                              metadata={"description": "Bot token, xoxb-... (secret). Absent: keep; null: remove."})
    channel = fields.String(allow_none=True, validate=FullMatch(
        r"^[#@]?[A-Za-z0-9._-]{1,80}$", error="a channel id (C0123ABCD) or #name"),
        metadata={"description": "Web API mode: the channel to post in (the bot must be a member)."})
    signing_secret = fields.String(allow_none=True, load_only=True, validate=[
        validate.Length(16, 200), FullMatch(r"^[A-Za-z0-9]+$", error="letters and digits only")],
        metadata={"description": "The Slack app's signing secret (secret), either mode: incident messages then carry "
                                 "Acknowledge, Useful and Noise buttons, answered at `interactions_url`. Absent: keep; "
                                 "null: remove (no buttons)."})
    accounts_digest = fields.Nested(AccountsDigestSchema, allow_none=True, metadata={
        "description": "When to post the weekly digest of accounts that changed (the last 7 days against the "
                       "8 weeks before; docs/accounts.md). Absent: keep; null: no digest."})

    @validates_schema
    def _something(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError("give the mode, or another setting to change", "mode")


class AccountsDigestRecordSchema(Schema):
    slot = fields.DateTime(required=True, metadata={"description": "The scheduled hour last handled."})
    sent_at = fields.DateTime(required=True, allow_none=True, metadata={"description": "When it was posted; null if not."})
    accounts = fields.Integer(required=True, allow_none=True, metadata={"description": "Accounts it named."})
    error = fields.String(required=True, allow_none=True, metadata={
        "description": "Why it was not posted: Slack's error code, `late` (the detector was away past the slot) "
                       "or `not_configured`."})


class NotificationSettingsOutSchema(Schema):
    mode = fields.String(required=True, metadata={"enum": list(MODES)})
    channel = fields.String(allow_none=True)
    webhook_url_set = fields.Boolean(required=True, metadata={"description": "Whether a webhook URL is stored."})
    bot_token_set = fields.Boolean(required=True, metadata={"description": "Whether a bot token is stored."})
    signing_secret_set = fields.Boolean(required=True, metadata={
        "description": "Whether a signing secret is stored (messages carry buttons)."})
    interactions_url = fields.String(required=True, metadata={
        "description": "Where the Slack app's Interactivity settings must send requests: under PUBLIC_URL when it is "
                       "set, else under the address this request reached."})
    accounts_digest = fields.Nested(AccountsDigestSchema, required=True, allow_none=True,
                                    metadata={"description": "The weekly accounts digest's schedule, or null (off)."})
    accounts_digest_last = fields.Nested(AccountsDigestRecordSchema, allow_none=True, metadata={
        "description": "The last slot the detector handled (GET only; null before the first)."})


class NotificationTestOutSchema(Schema):
    ok = fields.Boolean(required=True)
    mode = fields.String(required=True)
    status = fields.Integer(allow_none=True, metadata={"description": "Slack's HTTP status, when it answered."})
    error = fields.String(allow_none=True, metadata={"description": "Slack's error code, e.g. channel_not_found."})


settings_in = NotificationSettingsInSchema()
settings_out = NotificationSettingsOutSchema()
test_out = NotificationTestOutSchema()


_INBOUND_SECRET = [validate.Length(16, 200), FullMatch(r"^[!-~]+$", error="printable characters, no spaces")]


def _events_field(**kw: object) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(EVENTS)), validate=validate.Length(1, len(EVENTS)),
                       metadata={"description": "Incident events to send (default all): " + ", ".join(EVENTS) + "."},
                       **kw)


def _kinds_field(**kw: object) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(KINDS)), allow_none=True,
                       validate=validate.Length(1, len(KINDS)),
                       metadata={"description": "Incident kinds to send; null: every kind."}, **kw)


class WebhookPatchInSchema(TextSchema):
    """Fields left out keep their stored values; at least one is given."""

    pagerduty_webhook_secret = fields.String(allow_none=True, load_only=True, validate=_INBOUND_SECRET,
                                             metadata={"description": "pagerduty format: the PagerDuty v3 webhook "
                                                                      "subscription's secret; null removes it."})
    events = _events_field()
    kinds = _kinds_field()
    description = fields.String(allow_none=True, validate=validate.Length(max=200),
                                metadata={"description": "A note for people; null removes it."})

    @validates_schema
    def _something(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError("give at least one of pagerduty_webhook_secret, events, kinds, description",
                                  "_schema")


class WebhookInSchema(TextSchema):
    format = fields.String(load_default="groundswell", validate=validate.OneOf(FORMATS), metadata={
        "description": "groundswell (signed JSON to your URL) or pagerduty (an Events API v2 alert per incident)."})
    url = fields.Url(schemes={"http", "https"}, require_tld=False, allow_none=True, validate=validate.Length(max=500),
                     metadata={"description": "groundswell format: where to POST: https (unless the deployment "
                                              "turned `WEBHOOK_REQUIRE_HTTPS` off; see `require_https` in the list), "
                                              "a public address (unless `WEBHOOK_ALLOW_PRIVATE`)."})
    routing_key = fields.String(allow_none=True, load_only=True, validate=[
        validate.Length(20, 64), FullMatch(r"^[A-Za-z0-9]+$", error="letters and digits only")],
        metadata={"description": "pagerduty format: the service's integration (routing) key (secret)."})
    events = _events_field(load_default=lambda: list(EVENTS))
    kinds = _kinds_field(load_default=None)
    description = fields.String(allow_none=True, validate=validate.Length(max=200),
                                metadata={"description": "A note for people (what receives these events)."})
    pagerduty_webhook_secret = fields.String(allow_none=True, load_only=True, validate=_INBOUND_SECRET, metadata={
        "description": "pagerduty format, optional: the secret of a PagerDuty v3 webhook subscription pointed at "
                       "`pagerduty_webhook_url`; with it, incidents acknowledged or resolved in PagerDuty are here too."})

    @validates_schema
    def _format_needs(self, data: dict, **_: object) -> None:
        if data.get("pagerduty_webhook_secret") and data.get("format", "groundswell") != "pagerduty":
            raise ValidationError("only for the pagerduty format", "pagerduty_webhook_secret")
        if data.get("format", "groundswell") == "pagerduty":
            if not data.get("routing_key"):
                raise ValidationError("required for the pagerduty format", "routing_key")
            if data.get("url"):
                raise ValidationError("not used by the pagerduty format (PAGERDUTY_EVENTS_URL is)", "url")
        else:
            if not data.get("url"):
                raise ValidationError("required for the groundswell format", "url")
            if data.get("routing_key"):
                raise ValidationError("only for the pagerduty format", "routing_key")


class WebhookLastDeliverySchema(Schema):
    """The last delivery attempted: sent, or given up on. A delivery held back by a mute is not one (it
    is `last_skipped`), nor is one still being retried (`failing`)."""

    incident_id = fields.Integer(required=True)
    event = fields.String(required=True)
    at = fields.DateTime(required=True, metadata={"description": "When it was delivered or given up."})
    ok = fields.Boolean(required=True)
    status = fields.Integer(allow_none=True, metadata={"description": "The receiver's HTTP status, if it answered."})
    error = fields.String(allow_none=True, metadata={
        "description": "Why it was given up: `gave up after <n> attempts: <code>` or `not retried: <code>`, the "
                       "code as in `failing.error`."})


class WebhookSkippedSchema(Schema):
    incident_id = fields.Integer(required=True)
    event = fields.String(required=True)
    at = fields.DateTime(required=True, metadata={"description": "When it was closed without being sent."})
    reason = fields.String(required=True, metadata={"enum": ["muted", "not_configured"],
                                                    "description": "muted: a mute held it back when it came due."})


class WebhookFailingSchema(Schema):
    """The oldest waiting delivery whose last attempt failed: it is tried again at `next_attempt_at`, and
    the later events of its incident wait behind it."""

    incident_id = fields.Integer(required=True)
    event = fields.String(required=True)
    created_at = fields.DateTime(required=True, metadata={"description": "When the event was queued."})
    attempts = fields.Integer(required=True, metadata={"description": "Attempts so far."})
    status = fields.Integer(allow_none=True, metadata={"description": "The receiver's HTTP status on the last "
                                                                      "attempt, if it answered."})
    error = fields.String(required=True, metadata={"description": "The last attempt's error: http_<status>, timeout, "
                                                                  "connection_error, unresolvable, ..."})
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "When it is tried next."})
    others = fields.Integer(required=True, metadata={
        "description": "How many other waiting deliveries failed their last attempt too (each incident's are "
                       "retried on their own)."})


class WebhookOutSchema(Schema):
    id = fields.Integer(required=True)
    format = fields.String(required=True, metadata={"enum": list(FORMATS)})
    url = fields.String(allow_none=True)
    events = fields.List(fields.String(), required=True)
    kinds = fields.List(fields.String(), allow_none=True)
    description = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    secret_hint = fields.String(required=True, metadata={
        "description": "The last characters of the signing secret or routing key, to tell them apart."})
    signing_secret = fields.String(metadata={
        "description": "groundswell format, in the answer to POST only: the secret to verify signatures with. "
                       "It is not shown again."})
    pending = fields.Integer(required=True, metadata={"description": "Deliveries waiting to be sent or retried."})
    last_delivery = fields.Nested(WebhookLastDeliverySchema, allow_none=True, metadata={
        "description": "The last delivery attempted (sent or given up); null before one. A muted delivery is "
                       "`last_skipped` instead."})
    last_skipped = fields.Nested(WebhookSkippedSchema, allow_none=True, metadata={
        "description": "The last delivery closed without an attempt (held back by a mute), or null."})
    failing = fields.Nested(WebhookFailingSchema, allow_none=True, metadata={
        "description": "Null unless a waiting delivery failed its last attempt: then the oldest such one, which holds "
                       "up its incident's later events while it is retried."})
    pagerduty_webhook_url = fields.String(required=True, allow_none=True, metadata={
        "description": "pagerduty format: where a PagerDuty v3 webhook subscription should deliver "
                       "(incident.acknowledged, incident.resolved); null for the groundswell format."})
    pagerduty_webhook_secret_set = fields.Boolean(required=True, metadata={
        "description": "Whether that subscription's secret is stored (PagerDuty's changes reach Groundswell)."})


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookOutSchema), required=True)
    require_https = fields.Boolean(required=True, metadata={
        "description": "Whether a groundswell-format URL must use https (`WEBHOOK_REQUIRE_HTTPS`, on unless the "
                       "deployment turned it off); plain http is refused when it is."})


class WebhookDeliverySchema(Schema):
    incident_id = fields.Integer(required=True)
    seq = fields.Integer(required=True, metadata={"description": "The incident's notification number (0: opened)."})
    event = fields.String(required=True)
    event_id = fields.String(required=True, metadata={"description": "The body's `id` (what receivers deduplicate on)."})
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    created_at = fields.DateTime(required=True)
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True, metadata={"description": "When it was delivered or given up."})
    status = fields.Integer(allow_none=True, metadata={"description": "The receiver's last HTTP status."})
    error = fields.String(allow_none=True)


class SlackNoteSchema(Schema):
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    attempts = fields.Integer(required=True)
    error = fields.String(allow_none=True)
    at = fields.AwareDateTime(allow_none=True, metadata={"description": "When it was delivered or closed."})


class WebhookNoteSchema(SlackNoteSchema):
    webhook_id = fields.Integer(required=True)
    format = fields.String(allow_none=True, metadata={"description": "Null when the webhook was removed since."})
    description = fields.String(allow_none=True, metadata={"description": "Untrusted text; render as text."})
    status = fields.Integer(allow_none=True, metadata={"description": "The receiver's last HTTP status."})


class IncidentNotificationSchema(Schema):
    seq = fields.Integer(required=True)
    event = fields.String(required=True, metadata={"enum": list(EVENTS)})
    created_at = fields.AwareDateTime(required=True)
    slack = fields.Nested(SlackNoteSchema, required=True)
    webhooks = fields.List(fields.Nested(WebhookNoteSchema), required=True)


class WebhookDeliveriesSchema(Schema):
    deliveries = fields.List(fields.Nested(WebhookDeliverySchema), required=True)


class WebhookDeliveriesQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class WebhookTestOutSchema(Schema):
    ok = fields.Boolean(required=True)
    status = fields.Integer(allow_none=True, metadata={"description": "The receiver's HTTP status, when it answered."})
    error = fields.String(allow_none=True, metadata={"description": "Why not: http_<status>, timeout, "
                                                                     "connection_error, address_not_allowed, ..."})


webhook_in = WebhookInSchema()
webhook_out = WebhookOutSchema()
webhook_list = WebhookListSchema()
webhook_deliveries_out = WebhookDeliveriesSchema()
webhook_deliveries_query = WebhookDeliveriesQuerySchema()
webhook_test_out = WebhookTestOutSchema()


#: The series incidents are on: a topic, a channel, a form, a product page, a plan or an organization.
SERIES_RE = r"^(all|(topic|channel|form|page|plan|organization):[^\x00-\x1f]{1,190})$"


class MuteInSchema(TextSchema):
    incident_id = fields.Integer(validate=validate.Range(1, 2**31 - 1), allow_none=True,
                                 metadata={"description": "Mute one incident's notifications."})
    series = fields.String(allow_none=True, validate=FullMatch(SERIES_RE, error="a series such as topic:17, "
                                                                                      "channel:email or page:/billing"),
                           metadata={"description": "Or mute every incident on a series (maintenance window)."})
    hours = fields.Float(validate=validate.Range(0.25, 720), metadata={"description": "How long (15 min to 30 days)."})
    until = fields.AwareDateTime(metadata={"description": "Or when it ends (ISO 8601 with a time zone)."})
    reason = fields.String(allow_none=True, validate=validate.Length(max=200))
    by = fields.String(allow_none=True, validate=validate.Length(max=100), metadata={"description": "Who muted."})

    @validates_schema
    def _one_of_each(self, data: dict, **_: object) -> None:
        if (data.get("incident_id") is None) == (data.get("series") is None):
            raise ValidationError("give exactly one of incident_id and series", "incident_id")
        if ("hours" in data) == ("until" in data):
            raise ValidationError("give exactly one of hours and until", "hours")


class MuteOutSchema(Schema):
    id = fields.Integer(required=True)
    scope = fields.String(required=True, metadata={"enum": ["incident", "series"]})
    incident_id = fields.Integer(allow_none=True)
    series = fields.String(allow_none=True)
    until = fields.AwareDateTime(required=True)
    reason = fields.String(allow_none=True, metadata={"description": "Untrusted text; render as text."})
    by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)


class MuteListSchema(Schema):
    mutes = fields.List(fields.Nested(MuteOutSchema), required=True)


mute_in = MuteInSchema()
mute_out = MuteOutSchema()
mute_list = MuteListSchema()


class SlackInteractionFormSchema(Schema):
    payload = fields.String(required=True, metadata={
        "description": "Slack's JSON: `type` block_actions, `user`, `actions` (action_id gs_ack, gs_useful or "
                       "gs_noise; value: the incident id) and `response_url`."})

webhook_patch_in = WebhookPatchInSchema()


class PagerDutyDeliverySchema(Schema):
    event = fields.Dict(required=True, metadata={
        "description": "PagerDuty's v3 event: `event_type`, `agent.summary`, `data.incident_key` "
                       "(groundswell-<tenant id>-<incident id> for Groundswell's alerts)."})


class PagerDutyResultSchema(Schema):
    incident_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The Groundswell incident changed; null when the event changed nothing."})
    status = fields.String(required=True, allow_none=True, metadata={"description": "Its new status, or null."})


pagerduty_result_out = PagerDutyResultSchema()
