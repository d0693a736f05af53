from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.accounts.schemas import AccountFlagSchema
from server.incidents.schemas import IncidentBriefSchema
from server.validation import TextSchema


class TopicListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))
    sort = fields.String(load_default="recent", validate=validate.OneOf(["recent", "size"]))
    include_merged = fields.Boolean(load_default=False)
    volume_hours = fields.Integer(load_default=0, validate=validate.Range(0, 168),
                                  metadata={"description": "Also return each topic's hourly volume for this many hours."})


class TopicDetailQuerySchema(Schema):
    hours = fields.Integer(load_default=48, validate=validate.Range(1, 24 * 90),
                           metadata={"description": "Length of the hourly volume series."})


class RepresentativeSchema(Schema):
    ticket_id = fields.String(required=True)
    similarity = fields.Float(required=True)
    text = fields.String(required=True, metadata={"description": "Redacted; render as text, never as HTML."})


class TopicOutSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True, metadata={"description": "Distinctive keywords, kept up to date."})
    name = fields.String(allow_none=True, metadata={"description": "Name given by an agent; overrides the label."})
    display_name = fields.String(required=True)
    keywords = fields.List(fields.String(), required=True)
    summary = fields.String(required=True, metadata={"description": "Extractive: keywords and the most central ticket."})
    llm_summary = fields.String(allow_none=True, metadata={"description": "Model-written summary; untrusted text."})
    size = fields.Integer(required=True)
    first_seen_at = fields.AwareDateTime(required=True)
    last_seen_at = fields.AwareDateTime(required=True)
    merged_into = fields.Integer(allow_none=True)


class VolumePointSchema(Schema):
    start = fields.AwareDateTime(required=True)
    count = fields.Integer(required=True)


class TopicDetailOutSchema(TopicOutSchema):
    representatives = fields.List(fields.Nested(RepresentativeSchema), required=True)
    volume = fields.List(fields.Nested(VolumePointSchema), required=True,
                         metadata={"description": "Tickets per hour (creation time), oldest first."})
    redirected_from = fields.Integer(allow_none=True,
                                     metadata={"description": "The id asked for, when it was merged into this topic."})


class TopicListItemSchema(TopicOutSchema):
    volume = fields.List(fields.Nested(VolumePointSchema),
                         metadata={"description": "Tickets per hour, when volume_hours was asked for."})


class TopicListOutSchema(Schema):
    topics = fields.List(fields.Nested(TopicListItemSchema), required=True)
    total = fields.Integer(required=True)


class TopicPatchSchema(TextSchema):
    name = fields.String(required=True, allow_none=True, validate=validate.Length(1, 200),
                         metadata={"description": "A name agents recognise; null goes back to the keyword label."})


class TicketOutSchema(Schema):
    zendesk_id = fields.String(required=True)
    subject = fields.String(allow_none=True)
    excerpt = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    organization_id = fields.String(allow_none=True)
    tags = fields.List(fields.String(), allow_none=True)
    created_at = fields.AwareDateTime(allow_none=True)
    topic_id = fields.Integer(allow_none=True)
    topic_similarity = fields.Float(allow_none=True)


class BannerSchema(Schema):
    incident_id = fields.Integer(required=True)
    title = fields.String(required=True, metadata={"description": "Untrusted text; render as text."})
    sentence = fields.String(required=True, metadata={"description": "Untrusted text; render as text."})


class SessionFailureSchema(Schema):
    request = fields.String(required=True, metadata={"description": "'METHOD path status', ids dropped."})
    count = fields.Integer(required=True)


class SessionIncidentSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)


class SessionPageSchema(Schema):
    path = fields.String(required=True, metadata={"description": "The page's path, ids and query dropped."})
    views = fields.Integer(required=True)
    seconds = fields.Integer(required=True, metadata={"description": "Time on the page."})
    signals = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                          metadata={"description": "Friction signals met on the page (rage_click, failed_request, "
                                                   "js_error, ...) and how often."})
    failures = fields.List(fields.Nested(SessionFailureSchema), required=True,
                           metadata={"description": "The page's failing requests, most frequent first."})
    stuck = fields.Boolean(required=True, metadata={"description": "The cold-start friction rule said the customer "
                                                                   "was stuck on this page."})
    incident = fields.Nested(SessionIncidentSchema, allow_none=True, required=True,
                             metadata={"description": "The page's open or acknowledged friction incident."})


class SessionNudgeSchema(Schema):
    nudge_id = fields.String(allow_none=True, required=True)
    title = fields.String(allow_none=True, required=True,
                          metadata={"description": "The nudge's title in the widget settings; null if it was removed."})
    path = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class TicketSessionSchema(Schema):
    session_id = fields.String(required=True)
    started_at = fields.AwareDateTime(required=True)
    last_seen_at = fields.AwareDateTime(required=True)
    minutes_before_ticket = fields.Integer(required=True)
    last_path = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True, metadata={"description": "The product account the widget named "
                                                                         "(identify's traits.accountId), if any."})
    signals = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    pages = fields.List(fields.Nested(SessionPageSchema), required=True,
                        metadata={"description": "Pages with friction first, at most 8."})
    nudges = fields.List(fields.Nested(SessionNudgeSchema), required=True,
                         metadata={"description": "Help nudges the widget showed in the session, at most 3."})


class InAppSchema(Schema):
    ticket_at = fields.AwareDateTime(required=True)
    sessions = fields.List(fields.Nested(TicketSessionSchema), required=True,
                           metadata={"description": "The requester's widget sessions that started in the day "
                                                    "before the ticket, newest first, at most 5."})


class AccountNoteSchema(AccountFlagSchema):
    days = fields.Integer(required=True, metadata={"description": "The window the flag is of, in days."})


class TicketContextOutSchema(Schema):
    ticket = fields.Nested(TicketOutSchema, required=True)
    topic = fields.Nested(TopicDetailOutSchema, allow_none=True)
    incidents = fields.List(fields.Nested(IncidentBriefSchema), required=True,
                            metadata={"description": "Open or acknowledged incidents the ticket is attached to, "
                                                     "or whose topic is the ticket's when the ticket was not written "
                                                     "more than 6 h (or the incident's own test window) before the "
                                                     "incident began: the banner's first, then newest first."})
    banner = fields.Nested(BannerSchema, allow_none=True, required=True,
                           metadata={"description": "The known-issue banner: the open or acknowledged incident the "
                                                    "ticket is attached to; null if none."})
    account = fields.Nested(AccountNoteSchema, allow_none=True,
                            metadata={"description": "The ticket's organization, or the product account of the "
                                                     "requester's sessions in `in_app`, when the accounts report "
                                                     "flags it (the most significant of the day and week windows; "
                                                     "see GET /api/v1/accounts/changes); null otherwise."})
    in_app = fields.Nested(InAppSchema, allow_none=True,
                           metadata={"description": "What the requester met in the product before writing (the "
                                                    "widget's sessions joined by the tenant's ticket_user_keys); "
                                                    "null when none is known."})


topic_list_query = TopicListQuerySchema()
topic_detail_query = TopicDetailQuerySchema()
topic_list_out = TopicListOutSchema()
topic_detail_out = TopicDetailOutSchema()
topic_patch = TopicPatchSchema()
ticket_context_out = TicketContextOutSchema()
