from __future__ import annotations

from marshmallow import Schema, fields


class RatesSchema(Schema):
    last_1m = fields.Float(required=True, metadata={"description": "Events in the last whole minute."})
    last_5m = fields.Float(required=True, metadata={"description": "Average per minute over the last 5 whole minutes."})
    last_60m = fields.Float(required=True, metadata={"description": "Average per minute over the last hour."})


class MinuteSchema(Schema):
    minute = fields.AwareDateTime(required=True)
    count = fields.Integer(required=True)


class SourceStatusSchema(Schema):
    source = fields.String(required=True)
    total = fields.Integer(required=True)
    events_per_minute = fields.Nested(RatesSchema, required=True)
    series = fields.List(fields.Nested(MinuteSchema), required=True,
                         metadata={"description": "Events per minute (receive time) for the last 60 minutes."})
    kinds = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    first_received_at = fields.AwareDateTime(allow_none=True)
    last_received_at = fields.AwareDateTime(allow_none=True)
    last_event_time = fields.AwareDateTime(allow_none=True)


class DetectorStatusSchema(Schema):
    processed_offset = fields.Integer(required=True, metadata={"description": "Last of this tenant's events the detector processed."})
    head_offset = fields.Integer(required=True, metadata={"description": "Last of this tenant's events in the log."})
    pending_events = fields.Integer(required=True)
    pending_by_source = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, metadata={
        "description": "The events still to process by source (zendesk, widget, control: people's changes); "
                       "empty when caught up, or when more than 100,000 wait (the total alone then)."})
    lag_seconds = fields.Float(required=True, metadata={"description": "Age of the oldest unprocessed event (0 when caught up)."})
    skipped_events = fields.Integer(required=True, metadata={
        "description": "This tenant's events the detector could not process and skipped (dead letters; "
                       "`groundswell dead-letters` lists them with their errors)."})
    last_skipped_at = fields.AwareDateTime(required=True, allow_none=True,
                                           metadata={"description": "When the latest of them was skipped."})


class TenantRefSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class StatusOutSchema(Schema):
    tenant = fields.Nested(TenantRefSchema, required=True)
    generated_at = fields.AwareDateTime(required=True)
    sources = fields.List(fields.Nested(SourceStatusSchema), required=True)
    detector = fields.Nested(DetectorStatusSchema, required=True)


status_out_schema = StatusOutSchema()
