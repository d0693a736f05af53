"""Schemas of the account-changes report."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

SIGNALS = ("tickets", "sessions", "users")


class AccountChangesQuerySchema(Schema):
    days = fields.Integer(load_default=7, validate=validate.Range(1, 28),
                          metadata={"description": "Length of the current window and of each past one, in days."})
    weeks = fields.Integer(load_default=8, validate=validate.Range(2, 26),
                           metadata={"description": "How many past windows of that length the account is judged by "
                                                    "(a week apart when `days` is under 7: the same days of the week)."})
    fdr = fields.Float(load_default=0.05, validate=validate.Range(0.001, 0.5),
                       metadata={"description": "Expected share of false flags among the flags "
                                                "(Benjamini-Hochberg over every test of the report)."})
    min_ratio = fields.Float(load_default=1.5, validate=validate.Range(1.0, 20.0),
                             metadata={"description": "Least change that is flagged: this many times the expected "
                                                      "count up, or at most its inverse down."})

    @validates_schema
    def _span(self, data: dict, **_kwargs: object) -> None:
        if max(data.get("days", 7), 7) * (data.get("weeks", 8) + 1) > 400:
            raise ValidationError("The windows may reach at most 400 days back: max(days, 7) x (weeks + 1).",
                                  "weeks")


class AccountFlagSchema(Schema):
    account_id = fields.String(required=True, metadata={"description": "The Zendesk organization id or the "
                                                                       "product's account id (see `source`)."})
    name = fields.String(required=True, allow_none=True,
                         metadata={"description": "The Zendesk organization's name, when a ticket payload carried it "
                                                  "(the install's trigger sends it); for a product account, the name "
                                                  "of the organization it is linked to. Untrusted text."})
    organization_id = fields.String(allow_none=True, metadata={
        "description": "A product account's Zendesk organization, learnt from the tickets its users wrote after "
                       "widget sessions (docs/accounts.md); null when there is no clear one, and for organizations."})
    source = fields.String(required=True, validate=validate.OneOf(("organization", "account")),
                           metadata={"description": "`organization`: a Zendesk organization's tickets; `account`: "
                                                    "the widget's account_id, its sessions and active users."})
    signal = fields.String(required=True, validate=validate.OneOf(SIGNALS))
    direction = fields.String(required=True, validate=validate.OneOf(("up", "down")))
    label = fields.String(required=True, metadata={"description": "What the change may mean, in words."})
    observed = fields.Integer(required=True, metadata={"description": "Count in the current window."})
    expected = fields.Float(required=True, metadata={"description": "The count the account would have had if it "
                                                                    "had moved as the rest of the tenant did."})
    ratio = fields.Float(required=True, allow_none=True)
    p_value = fields.Float(required=True, metadata={"description": "Two-sided: the count against gamma-Poisson counts around the "
                                                                  "expected one, integrated over its uncertainty."})
    q_value = fields.Float(required=True, metadata={"description": "Benjamini-Hochberg adjusted."})
    history = fields.List(fields.Integer(), required=True,
                          metadata={"description": "The account's counts in the past windows, oldest first."})
    requesters = fields.Integer(required=True, allow_none=True,
                                metadata={"description": "For tickets: distinct people who wrote in the window."})
    sentence = fields.String(required=True)


class SignalTotalSchema(Schema):
    observed = fields.Integer(required=True)
    history = fields.List(fields.Integer(), required=True)


class AccountChangesOutSchema(Schema):
    window_start = fields.DateTime(required=True)
    window_end = fields.DateTime(required=True)
    days = fields.Integer(required=True)
    weeks = fields.Integer(required=True)
    fdr = fields.Float(required=True)
    min_ratio = fields.Float(required=True)
    tested = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "Accounts tested per signal (enough history and counts)."})
    totals = fields.Dict(keys=fields.String(), values=fields.Nested(SignalTotalSchema), required=True,
                         metadata={"description": "The tenant's count per signal, current window and past ones."})
    dispersion = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                             metadata={"description": "Per signal: how much more accounts' windows vary than a "
                                                      "binomial (1: not at all)."})
    accounts = fields.List(fields.Nested(AccountFlagSchema), required=True,
                           metadata={"description": "Flagged accounts, most significant first; at most 200."})


account_changes_query = AccountChangesQuerySchema()
account_changes_out = AccountChangesOutSchema()
