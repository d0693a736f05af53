"""Request and response schemas for the ingest endpoints.

These schemas bound every field a client controls: sizes, counts, formats. Payloads that
later stages interpret in depth (ticket bodies) are checked for shape here and parsed there.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.validation import FullMatch

ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

WIDGET_EVENT_TYPES = (
    "page_view", "click", "rage_click", "dead_click", "js_error", "failed_request",
    "form_submit", "form_error", "form_abandon", "navigation", "idle",
    "nudge_shown", "nudge_clicked", "nudge_dismissed", "banner_shown", "banner_dismissed",
    "identify", "custom", "error_click",
)


#: Client times (``ts``, ``sent_at``) in milliseconds since the Unix epoch: 1970 up to 2200. A wrong
#: client clock is corrected at ingest; this only keeps the numbers within dates' range.
CLIENT_MS = validate.Range(0, 7_258_118_400_000, error="must be milliseconds since 1970, before 2200")


def _http_url(value: str) -> None:
    try:
        parts = urlsplit(value)
    except ValueError:  # a malformed IPv6 host ("http://[x/") or port
        raise ValidationError("must be an absolute http(s) URL") from None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValidationError("must be an absolute http(s) URL")


class BoundedDict(fields.Dict):
    """A flat mapping of short string keys to scalars: what a widget event may carry as data."""

    def __init__(self, max_items: int = 32, max_value_len: int = 1024, **kwargs: Any) -> None:
        super().__init__(keys=fields.String(validate=validate.Length(1, 64)), **kwargs)
        self.max_items = max_items
        self.max_value_len = max_value_len

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        result = super()._deserialize(value, attr, data, **kwargs)
        if len(result) > self.max_items:
            raise ValidationError(f"at most {self.max_items} entries")
        for key, item in result.items():
            if item is not None and not isinstance(item, (str, int, float, bool)):
                raise ValidationError(f"{key}: values must be strings, numbers, booleans or null")
            if isinstance(item, str) and len(item) > self.max_value_len:
                raise ValidationError(f"{key}: longer than {self.max_value_len} characters")
        return result


class WidgetEventSchema(Schema):
    id = fields.String(required=True, validate=FullMatch(ID_RE))
    type = fields.String(required=True, validate=validate.OneOf(WIDGET_EVENT_TYPES))
    ts = fields.Integer(required=True, strict=True, validate=CLIENT_MS,
                        metadata={"description": "Client time, milliseconds since the Unix epoch."})
    url = fields.String(required=True, validate=[validate.Length(max=2048), _http_url])
    title = fields.String(validate=validate.Length(max=300))
    target = fields.String(validate=validate.Length(max=300),
                           metadata={"description": "A selector or label of the element involved."})
    user_id = fields.String(validate=validate.Length(1, 128))
    account_id = fields.String(validate=validate.Length(1, 128))
    data = BoundedDict(load_default=dict)


class WidgetBatchSchema(Schema):
    site_key = fields.String(validate=validate.Length(1, 64),
                             metadata={"description": "Public site key; may also come in X-Groundswell-Site-Key."})
    session_id = fields.String(required=True, validate=FullMatch(ID_RE))
    sent_at = fields.Integer(strict=True, validate=CLIENT_MS,
                             metadata={"description": "Client time of sending, milliseconds since the Unix epoch."})
    events = fields.List(fields.Nested(WidgetEventSchema), required=True, validate=validate.Length(min=1))


class ZendeskEventSchema(Schema):
    """An event-subscribed delivery (``zen:event-type:ticket.*``): ids are strings there."""

    class Meta:
        unknown = "include"

    type = fields.String(required=True, validate=[validate.Length(max=80), FullMatch(r"^zen:event-type:[a-z_.]+$")])
    id = fields.String(required=True, validate=validate.Length(1, 128))
    time = fields.AwareDateTime(required=True, default_timezone=None)
    account_id = fields.Raw()
    subject = fields.String(validate=validate.Length(max=200))
    detail = fields.Dict(required=True)
    event = fields.Dict(load_default=dict)


class ZendeskTriggerSchema(Schema):
    """A trigger-connected delivery: custom JSON that must at least name the ticket."""

    class Meta:
        unknown = "include"

    ticket_id = fields.Raw(required=True)

    @validates_schema
    def _ticket_id(self, data: dict[str, Any], **_: Any) -> None:
        value = data.get("ticket_id")
        if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,20}", str(value)):
            raise ValidationError("must be a Zendesk ticket id (digits)", "ticket_id")


class IngestResultSchema(Schema):
    accepted = fields.Integer(required=True, metadata={"description": "Events newly stored."})
    duplicates = fields.Integer(required=True, metadata={"description": "Events already stored before."})


class ErrorSchema(Schema):
    error = fields.Dict(required=True)
    request_id = fields.String()


widget_batch_schema = WidgetBatchSchema()
zendesk_event_schema = ZendeskEventSchema()
zendesk_trigger_schema = ZendeskTriggerSchema()
ingest_result_schema = IngestResultSchema()
