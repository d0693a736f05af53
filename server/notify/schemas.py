from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.notify.settings import MODES
from server.validation import TextSchema


class AccountsDigestSchema(Schema):
    weekday = fields.Integer(required=True, validate=validate.Range(0, 6),
                             metadata={"description": "Day of the week, in UTC: 0 Monday ... 6 Sunday."})
    hour = fields.Integer(load_default=9, validate=validate.Range(0, 23),
                          metadata={"description": "Hour of that day, in UTC (default 9)."})


class NotificationSettingsInSchema(TextSchema):
    mode = fields.String(required=True, validate=validate.OneOf(MODES),
                         metadata={"description": "off, webhook (incoming webhook: one message per incident event) "
                                                  "or web_api (bot token: one thread per incident)."})
    webhook_url = fields.Url(schemes={"http", "https"}, require_tld=False, allow_none=True,
                             validate=validate.Length(max=500), load_only=True,
                             metadata={"description": "Incoming webhook URL (secret). Absent: keep the stored one; "
                                                      "null: remove it."})
    bot_token = fields.String(allow_none=True, load_only=True,
                              validate=[validate.Length(8, 300), validate.Regexp(r"^\S+$", error="no spaces")],
                              metadata={"description": "Bot token, xoxb-... (secret). Absent: keep; null: remove."})
    channel = fields.String(allow_none=True, validate=validate.Regexp(
        r"^[#@]?[A-Za-z0-9._-]{1,80}$", error="a channel id (C0123ABCD) or #name"),
        metadata={"description": "Web API mode: the channel to post in (the bot must be a member)."})
    accounts_digest = fields.Nested(AccountsDigestSchema, allow_none=True, metadata={
        "description": "When to post the weekly digest of accounts that changed (the last 7 days against the "
                       "8 weeks before; docs/accounts.md). Absent: keep; null: no digest."})


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
