"""Request and response schemas of the Zendesk app's endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.validation import FullMatch, TextSchema

_TICKET_ID = FullMatch(r"^[0-9]{1,20}$", error="must be a Zendesk ticket id (digits)")


class ProblemTicketInSchema(TextSchema):
    ticket_id = fields.String(required=True, validate=_TICKET_ID,
                              metadata={"description": "The Zendesk id of the agent's ticket (digits, as a string)."})
    by = fields.String(required=True, validate=validate.Length(1, 200),
                       metadata={"description": "The agent's name, kept with the link."})


class ProblemTicketOutSchema(Schema):
    problem_ticket_id = fields.Integer(required=True, metadata={"description": "The incident's Zendesk problem ticket."})
    linked_ticket_id = fields.String(required=True, metadata={"description": "The ticket now of type incident."})
    created = fields.Boolean(required=True, metadata={"description": "True when the problem ticket was made now."})


class TicketContextQuerySchema(TextSchema):
    by = fields.String(validate=validate.Length(max=200), metadata={
        "description": "Who is looking: the agent's name as the sidebar sends it with its actions. Each incident "
                       "then carries that person's own verdict (`your_verdict`)."})


class ZendeskSettingsInSchema(TextSchema):
    auto_link = fields.Boolean(required=True, metadata={
        "description": "Link every new ticket that joins an incident with a problem ticket to it, with an "
                       "internal note carrying the incident's evidence."})


class MarketplaceOutSchema(Schema):
    name = fields.String(allow_none=True)
    organization_id = fields.String(allow_none=True)
    app_id = fields.String(allow_none=True)


class ConnectionOutSchema(Schema):
    connected = fields.Boolean(required=True)
    subdomain = fields.String()
    auth = fields.String(metadata={"enum": ["api_token", "oauth"]})
    email = fields.String(allow_none=True)
    marketplace = fields.Nested(MarketplaceOutSchema)
    webhook_id = fields.String(allow_none=True)
    trigger_ids = fields.List(fields.Integer())
    installed_at = fields.AwareDateTime(allow_none=True)


class ZendeskSettingsOutSchema(Schema):
    auto_link = fields.Boolean(required=True)
    connection = fields.Nested(ConnectionOutSchema, required=True,
                               metadata={"description": "Never includes the token."})


problem_ticket_in = ProblemTicketInSchema()
problem_ticket_out = ProblemTicketOutSchema()
ticket_context_query = TicketContextQuerySchema()
zendesk_settings_in = ZendeskSettingsInSchema()
zendesk_settings_out = ZendeskSettingsOutSchema()
