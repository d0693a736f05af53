from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from server.incidents.models import KINDS, STATUSES
from server.incidents.settings import MAX_PLAN_NAME, MAX_PLANS, RANGES, SENSITIVITY_KINDS
from server.notify.schemas import IncidentNotificationSchema, MuteOutSchema
from server.validation import FullMatch, TextSchema
from server.widget.schemas import FrictionSettingsSchema

MAX_ID = 2**31 - 1


class CommaList(fields.String):
    """A comma-separated query value (``open,acknowledged``), loaded as a list of allowed words."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if s not in self.choices]
        if bad or not items:
            raise ValidationError(f"a comma-separated list of {', '.join(self.choices)}")
        return list(dict.fromkeys(items))


def _range(name: str) -> validate.Range:
    low, high = RANGES[name]
    return validate.Range(low, high)


# --- incidents ---------------------------------------------------------------------------------------


#: ``since`` lies within the report's years: near the ends of the date range, converting it to UTC overflows.
_SINCE_TIMES = validate.Range(datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(9000, 1, 1, tzinfo=timezone.utc),
                              error="must be between 2000 and 9000")


class IncidentFilterSchema(Schema):
    status = CommaList(STATUSES, metadata={"description": "Comma list of statuses (default: all).",
                                           "example": "open,acknowledged"})
    kind = fields.String(validate=validate.OneOf(KINDS))
    topic_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    since = fields.AwareDateTime(validate=_SINCE_TIMES,
                                 metadata={"description": "Only incidents detected at or after this time."})
    q = fields.String(validate=[validate.Length(1, 200),
                                FullMatch(r"^[^\x00]*$", error="must not contain NUL characters")], metadata={
        "description": "Words that must all appear (any case) in the title, the sentence, Claude's summary or "
                       "the name agents gave the topic; the first 8 words count.", "example": "invoice pdf"})


class IncidentListQuerySchema(IncidentFilterSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class TopicRefSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True, metadata={"description": "The agents' name if set, else the keyword label."})
    name = fields.String(allow_none=True, metadata={
        "description": "The name agents gave the topic, or null: it then goes by its keyword label."})
    keyword_label = fields.String(allow_none=True, metadata={
        "description": "Words from the topic's tickets it goes by without a name (null if the topic is gone). "
                       "Customers' words: not for customer-facing text unless an agent chose them."})


class IncidentOutSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    status_by = fields.String(required=True)
    status_changed_at = fields.AwareDateTime(required=True)
    topic = fields.Nested(TopicRefSchema, allow_none=True,
                          metadata={"description": "Null for series that are not a topic (channel, form, all)."})
    series = fields.String(required=True, metadata={"description": "topic:<id>, channel:<name>, form:<id> or all."})
    title = fields.String(required=True, metadata={"description": "Untrusted text; render as text."})
    sentence = fields.String(required=True, metadata={"description": "One-sentence summary; render as text."})
    llm_summary = fields.String(required=True, allow_none=True, metadata={
        "description": "What Claude made of the incident's redacted tickets, when an API key is configured; "
                       "null before the first summary or without a key. Untrusted text; render as text."})
    direction = fields.String(required=True, metadata={"description": "up or down."})
    first_seen_at = fields.AwareDateTime(required=True)
    detected_at = fields.AwareDateTime(required=True)
    last_activity_at = fields.AwareDateTime(required=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    ticket_count = fields.Integer(required=True)
    requester_count = fields.Integer(required=True)
    account_count = fields.Integer(required=True)
    p_value = fields.Float(required=True)
    surprise = fields.Float(required=True, metadata={"description": "-log10 of the p-value."})
    useful_count = fields.Integer(required=True)
    noise_count = fields.Integer(required=True)
    evidence = fields.Dict(required=True, metadata={"description": "As the detector stored it: observed, expected, "
                                                    "band, segments, top terms, representatives, release."})
    ticket_ids = fields.List(fields.String(), required=True,
                             metadata={"description": "Zendesk ids, in the order they were attached."})
    ticket_ids_truncated = fields.Boolean(
        metadata={"description": "In lists: true when more tickets are attached than `ticket_ids` shows."})
    problem_ticket_id = fields.Integer(allow_none=True, metadata={
        "description": "The incident's Zendesk problem ticket (made from the sidebar), or null when it has none."})


class IncidentListOutSchema(Schema):
    incidents = fields.List(fields.Nested(IncidentOutSchema), required=True)
    total = fields.Integer(required=True)


class VolumeOutSchema(Schema):
    start = fields.AwareDateTime(required=True)
    tickets = fields.Integer(required=True)
    requesters = fields.Integer(required=True)
    expected = fields.Float(required=True)
    lower = fields.Float(required=True)
    upper = fields.Float(required=True)
    partial = fields.Boolean(required=True, metadata={
        "description": "True for an active incident's open hour: its counts so far against the whole hour's "
                       "expectation and band (always the last point)."})
    as_of = fields.AwareDateTime(metadata={"description": "Partial hour only: the event time its counts run to."})


class FeedbackOutSchema(Schema):
    verdict = fields.String(required=True)
    by = fields.String(required=True)
    note = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)


class RelatedIncidentSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    title = fields.String(required=True, metadata={"description": "Untrusted text; render as text."})
    pages = fields.List(fields.String(), required=True, metadata={"description": "The pages both name."})
    shared_tickets = fields.Integer(required=True, metadata={
        "description": "How many tickets both hold (0 when they are related by a page alone)."})


class IncidentAccountSchema(Schema):
    organization_id = fields.String(required=True)
    name = fields.String(required=True, allow_none=True, metadata={"description": "As Zendesk names it, if known."})
    tickets = fields.Integer(required=True)
    requesters = fields.Integer(required=True)
    first_ticket_at = fields.AwareDateTime(required=True, allow_none=True)


class HistoryItemSchema(Schema):
    at = fields.AwareDateTime(required=True)
    event = fields.String(required=True, metadata={"enum": ["first_seen", "opened", "grew", "reopened", "resolved",
                                                            "status", "merged", "merged_in", "unmerged",
                                                            "feedback"]})
    by = fields.String(required=True, metadata={"description": "detector, or the name a person gave; render as text."})
    text = fields.String(required=True, metadata={"description": "A line for people; render as text."})


class IncidentDetailOutSchema(IncidentOutSchema):
    volume = fields.List(fields.Nested(VolumeOutSchema), required=True,
                         metadata={"description": "The series' closed hours with the baseline band, oldest first; "
                                                      "an active incident's open hour last, marked partial."})
    feedback = fields.List(fields.Nested(FeedbackOutSchema), required=True)
    zendesk_url = fields.String(required=True, allow_none=True, metadata={
        "description": "The tenant's Zendesk (https://<subdomain>.zendesk.com), where each ticket opens at "
                       "/agent/tickets/<id>; null when no subdomain is known."})
    notifications = fields.List(fields.Nested(IncidentNotificationSchema), required=True, metadata={
        "description": "What was sent about it, oldest first: each event (opened, grew, acknowledged, resolved, reopened) and "
                       "how it went to Slack and to each webhook."})
    history = fields.List(fields.Nested(HistoryItemSchema), required=True, metadata={
        "description": "What happened to it, oldest first (at most 200, the latest): first seen, opened, grew, "
                       "rose again, resolved by the detector, people's status changes, merges and feedback."})
    mute = fields.Nested(MuteOutSchema, required=True, allow_none=True, metadata={
        "description": "The notification mute covering this incident now (its own or its series'), or null."})
    related = fields.List(fields.Nested(RelatedIncidentSchema), required=True, metadata={
        "description": "Other incidents within a day of it that name one of its product pages (a page's "
                       "friction incident and the ticket incidents whose requesters met friction there) or "
                       "hold at least two of its tickets (an organization's change of tone and the rise its "
                       "tickets make), newest first, at most 10."})
    accounts = fields.List(fields.Nested(IncidentAccountSchema), required=True, metadata={
        "description": "The Zendesk organizations whose people wrote its tickets, most tickets first, at most 20."})
    accounts_total = fields.Integer(required=True, metadata={"description": "How many organizations in all."})


class IncidentBriefSchema(Schema):
    """An active incident as the ticket sidebar's known-issue banner shows it."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    title = fields.String(required=True)
    sentence = fields.String(required=True)
    llm_summary = fields.String(required=True, allow_none=True, metadata={
        "description": "Claude's summary of the incident's redacted tickets, or null. Untrusted text; render as text."})
    first_seen_at = fields.AwareDateTime(required=True)
    detected_at = fields.AwareDateTime(required=True)
    ticket_count = fields.Integer(required=True)
    requester_count = fields.Integer(required=True)
    account_count = fields.Integer(required=True, metadata={"description": "Distinct customer accounts."})
    topic = fields.Nested(TopicRefSchema, allow_none=True)
    attached = fields.Boolean(required=True,
                              metadata={"description": "True when the ticket is one of the incident's tickets; "
                                                       "false when it only shares the incident's topic."})
    problem_ticket_id = fields.Integer(allow_none=True, required=True,
                                       metadata={"description": "The incident's Zendesk problem ticket, if made."})
    ticket_linked = fields.Boolean(metadata={
        "description": "True when this ticket is an incident of that problem ticket (Zendesk said so, or "
                       "Groundswell linked it)."})
    your_verdict = fields.String(allow_none=True, metadata={
        "enum": ["useful", "noise"],
        "description": "The verdict the person named by the request's `by` gave on the incident, or null."})
    volume = fields.List(fields.Nested(VolumeOutSchema), required=True,
                         metadata={"description": "The series' last 48 closed hours with the baseline band, "
                                                      "then its open hour so far, marked partial."})
    evidence = fields.Dict(required=True)


class FeedbackInSchema(TextSchema):
    verdict = fields.String(required=True, validate=validate.OneOf(["useful", "noise"]))
    by = fields.String(required=True, validate=validate.Length(1, 200))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class MergeInSchema(TextSchema):
    into = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_ID),
                          metadata={"description": "The incident that stays; this one joins it."})
    by = fields.String(required=True, validate=validate.Length(1, 200))


class UnmergeInSchema(TextSchema):
    by = fields.String(required=True, validate=validate.Length(1, 200))


class StatusInSchema(TextSchema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    by = fields.String(required=True, validate=validate.Length(1, 200))


# --- releases ----------------------------------------------------------------------------------------


class ReleaseInSchema(TextSchema):
    version = fields.String(required=True, validate=validate.Length(1, 100))
    deployed_at = fields.AwareDateTime(metadata={"description": "Default: now. At most one day ahead."})
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    url = fields.Url(allow_none=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=500))


class ReleaseOutSchema(Schema):
    version = fields.String(required=True)
    deployed_at = fields.AwareDateTime(required=True)
    description = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    recorded_at = fields.AwareDateTime(required=True)


class ReleaseListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class ReleaseListOutSchema(Schema):
    releases = fields.List(fields.Nested(ReleaseOutSchema), required=True)
    total = fields.Integer(required=True)


# --- detection settings ------------------------------------------------------------------------------


def _sensitivity_fields(required: bool) -> dict[str, fields.Field]:
    return {kind: fields.Float(required=required, validate=_range("sensitivity"))
            for kind in SENSITIVITY_KINDS}


SensitivityInSchema = Schema.from_dict(_sensitivity_fields(False), name="SensitivityInSchema")
SensitivityOutSchema = Schema.from_dict(_sensitivity_fields(True), name="SensitivityOutSchema")

_PLAN_SENSITIVITY_DOC = {"description": f"Plan tier (at most {MAX_PLAN_NAME} characters, {MAX_PLANS} tiers) -> "
                                        "multiplier of the kind's sensitivity. Replaced as a whole on PATCH."}


class DetectionSettingsInSchema(TextSchema):
    """Every field optional; unknown keys are refused by name."""

    enabled = fields.Boolean()
    alarm_budget_per_week = fields.Float(validate=_range("alarm_budget_per_week"))
    sensitivity = fields.Nested(SensitivityInSchema, metadata={"description": "Merged key by key on PATCH."})
    plan_sensitivity = fields.Dict(keys=fields.String(validate=validate.Length(1, MAX_PLAN_NAME)),
                                   values=fields.Float(validate=_range("plan_sensitivity")),
                                   validate=validate.Length(max=MAX_PLANS), metadata=_PLAN_SENSITIVITY_DOC)
    resolve_after_minutes = fields.Integer(strict=True, validate=_range("resolve_after_minutes"))
    min_requesters = fields.Integer(strict=True, validate=_range("min_requesters"))
    drop_min_expected = fields.Float(validate=_range("drop_min_expected"))

    @pre_load
    def _trimmed_plans(self, data: Any, **_: Any) -> Any:
        """A plan tier is matched to tickets' plans as written: spaces around its name would never match, so
        they are taken off (as the settings form does); two names that are then the same are refused."""
        plans = data.get("plan_sensitivity") if isinstance(data, dict) else None
        if not isinstance(plans, dict):
            return data
        trimmed = {k.strip() if isinstance(k, str) else k: v for k, v in plans.items()}
        if len(trimmed) != len(plans):
            raise ValidationError("two plan tiers with the same name once spaces are taken off", "plan_sensitivity")
        return {**data, "plan_sensitivity": trimmed}


class DetectionSettingsOutSchema(Schema):
    enabled = fields.Boolean(required=True)
    alarm_budget_per_week = fields.Float(required=True,
                                         metadata={"description": "Expected false alarms per week, all kinds."})
    sensitivity = fields.Nested(SensitivityOutSchema, required=True)
    plan_sensitivity = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    resolve_after_minutes = fields.Integer(required=True)
    min_requesters = fields.Integer(required=True)
    drop_min_expected = fields.Float(required=True)


# --- backtests ---------------------------------------------------------------------------------------


class BacktestInSchema(TextSchema):
    days = fields.Integer(strict=True, load_default=30, validate=validate.Range(1, 90),
                          metadata={"description": "Report incidents detected in the last this many days."})
    settings = fields.Nested(DetectionSettingsInSchema, load_default=dict,
                             metadata={"description": "Proposed detection settings, on top of the stored ones "
                                                      "(the PATCH /api/v1/settings/detection body)."})
    friction = fields.Nested(FrictionSettingsSchema(partial=True), metadata={
        "description": "Proposed in-app friction settings (`weekly_false_alarms`, `min_sessions`, `warmup_hours`), on "
                       "top of the stored widget settings' `friction`: the page friction detectors replay with them."})
    by = fields.String(validate=validate.Length(1, 200), metadata={"description": "Who asked."})


class BacktestTotalsSchema(Schema):
    count = fields.Integer(required=True)
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    per_week = fields.Float(required=True, allow_none=True, metadata={
        "description": "`count` over the result's `weeks`: the part of the period that has data (from `data_since`); "
                       "null under a week of data, too little for a rate a week."})


class BacktestRatingSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "The real incident this replayed one matches."})
    status = fields.String(required=True)
    useful = fields.Integer(required=True)
    noise = fields.Integer(required=True)
    verdict = fields.String(allow_none=True, required=True,
                            metadata={"description": "`useful` or `noise`, whichever people gave more; null if neither."})


class BacktestIncidentSchema(Schema):
    kind = fields.String(required=True)
    series = fields.String(required=True)
    title = fields.String(required=True)
    sentence = fields.String(required=True)
    first_seen_at = fields.String(required=True)
    detected_at = fields.String(required=True)
    ticket_count = fields.Integer(required=True)
    requester_count = fields.Integer(required=True)
    p_value = fields.Float(required=True)
    # "in" is a Python keyword: data_key keeps the JSON name
    in_ = fields.String(data_key="in", attribute="in", required=True,
                        metadata={"description": "`both`, `current_only` (lost with the proposed settings) or "
                                                 "`proposed_only` (added by them)."})
    actual = fields.Nested(BacktestRatingSchema, allow_none=True, required=True)


class BacktestWeekSchema(Schema):
    week_start = fields.String(required=True, metadata={
        "description": "The Monday 00:00 UTC that starts the week, as the incidents report's weeks; the first "
                       "week holds `data_since` (so it may start before it) and the last one ends at or after "
                       "`until`."})
    current = fields.Integer(required=True, metadata={
        "description": "Incidents the stored settings detected in the week, within the period."})
    proposed = fields.Integer(required=True, metadata={"description": "The same with the proposed settings."})


class BacktestResultSchema(Schema):
    since = fields.String(required=True, metadata={"description": "Start of the period asked for (`days` back)."})
    until = fields.String(required=True, metadata={"description": "When the replay finished: the end of the period."})
    data_since = fields.String(allow_none=True, metadata={
        "description": "Where the data begins within the period: `since`, or the first stored ticket (its creation "
                       "time) or in-app event when that is later, as for a tenant connected two weeks before a 30-day "
                       "backtest; null when none is stored. `weeks`, the rates a week and `weekly` start there. "
                       "Absent from results stored before it was added, whose rates are over the whole period."})
    weeks = fields.Float(required=True, metadata={
        "description": "Weeks from `data_since` (or `since` when there is no data) to `until`, at least a day's "
                       "worth: what `per_week` is counted over."})
    events = fields.Integer(required=True)
    tickets = fields.Integer(required=True)
    current = fields.Nested(BacktestTotalsSchema, required=True, metadata={"description": "Stored settings."})
    proposed = fields.Nested(BacktestTotalsSchema, required=True, metadata={"description": "Proposed settings."})
    added = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    ratings = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                          metadata={"description": "Rated real incidents the proposed settings keep or drop: "
                                                   "useful_kept, useful_dropped, noise_kept, noise_dropped."})
    weekly = fields.List(fields.Nested(BacktestWeekSchema), required=True, metadata={
        "description": "Every week from the one `data_since` is in (Monday 00:00 UTC) to `until`, oldest first, "
                       "empty ones too; none before the data begins."})
    incidents = fields.List(fields.Nested(BacktestIncidentSchema), required=True,
                            metadata={"description": "Newest first, at most 300."})
    incidents_total = fields.Integer(required=True)


class BacktestProgressSchema(Schema):
    events_done = fields.Integer(required=True)
    events_total = fields.Integer(required=True)
    seconds_left = fields.Float(allow_none=True, metadata={
        "description": "About how long a running backtest has left: the tickets and in-app events still to "
                       "replay, each priced at what one of its kind has cost lately; null until one of each kind "
                       "still to come has been replayed, and once the run is not running."})


class BacktestSummarySchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "queued, running, done, failed or cancelled."})
    since = fields.AwareDateTime(required=True)
    settings = fields.Dict(required=True, metadata={"description": "The proposed settings."})
    requested_by = fields.String(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)
    started_at = fields.AwareDateTime(allow_none=True, required=True)
    finished_at = fields.AwareDateTime(allow_none=True, required=True)
    progress = fields.Nested(BacktestProgressSchema, required=True)
    error = fields.String(allow_none=True, required=True)


class BacktestOutSchema(BacktestSummarySchema):
    result = fields.Nested(BacktestResultSchema, allow_none=True, required=True,
                           metadata={"description": "Once `status` is done."})


class BacktestListOutSchema(Schema):
    backtests = fields.List(fields.Nested(BacktestSummarySchema), required=True,
                            metadata={"description": "Newest first; results only in the single view."})


# --- report ------------------------------------------------------------------------------------------


#: Report periods lie within these years (a period's default start and its weeks are computed from them).
_REPORT_TIMES = validate.Range(datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(9000, 1, 1, tzinfo=timezone.utc),
                               error="must be between 2000 and 9000")


class ReportQuerySchema(Schema):
    since = fields.AwareDateTime(validate=_REPORT_TIMES, metadata={
        "description": "Start of the period (incidents detected at or after it); default: 28 days before `until`."})
    until = fields.AwareDateTime(validate=_REPORT_TIMES, metadata={
        "description": "End of the period (detected before it); default: now."})



class ResponseTimesSchema(Schema):
    count = fields.Integer(required=True, metadata={"description": "Incidents measured."})
    median_minutes = fields.Float(required=True, allow_none=True)
    p90_minutes = fields.Float(required=True, allow_none=True, metadata={
        "description": "Nine in ten took at most this long (nearest rank)."})


class ReportFeedbackSchema(Schema):
    useful = fields.Integer(required=True, metadata={"description": "Incidents with at least as many useful votes "
                                                                    "as noise votes (and one or more)."})
    noise = fields.Integer(required=True, metadata={"description": "Incidents with more noise votes than useful."})
    unrated = fields.Integer(required=True)
    precision = fields.Float(required=True, allow_none=True, metadata={
        "description": "useful / (useful + noise): the share of rated incidents people found real; null unrated."})


class ReportWeekSchema(Schema):
    start = fields.AwareDateTime(required=True, metadata={"description": "Monday 00:00 UTC."})
    incidents = fields.Integer(required=True)
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    useful = fields.Integer(required=True)
    noise = fields.Integer(required=True)


class ReportSeriesSchema(Schema):
    series = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "The topic's name, or the series; render as text."})
    incidents = fields.Integer(required=True)
    useful = fields.Integer(required=True)
    noise = fields.Integer(required=True)


class ReportOutSchema(Schema):
    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)
    incidents = fields.Integer(required=True, metadata={"description": "Incidents detected in the period."})
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            metadata={"description": "Their status now."})
    merged = fields.Integer(required=True, metadata={"description": "Merged by people into another incident."})
    feedback = fields.Nested(ReportFeedbackSchema, required=True)
    time_to_respond = fields.Nested(ResponseTimesSchema, required=True, metadata={
        "description": "From detection to the first time a person acknowledged, resolved, dismissed or merged it."})
    time_to_resolve = fields.Nested(ResponseTimesSchema, required=True, metadata={
        "description": "From detection to resolution (by the detector or a person), for incidents resolved so far "
                       "and not merged."})
    weeks = fields.List(fields.Nested(ReportWeekSchema), required=True, metadata={
        "description": "Every week of the period, oldest first."})
    top_series = fields.List(fields.Nested(ReportSeriesSchema), required=True, metadata={
        "description": "The series with the most incidents (at most 10)."})


incident_list_query = IncidentListQuerySchema()
incident_filter_query = IncidentFilterSchema()
incident_list_out = IncidentListOutSchema()
incident_detail_out = IncidentDetailOutSchema()
feedback_in = FeedbackInSchema()
status_in = StatusInSchema()
merge_in = MergeInSchema()
unmerge_in = UnmergeInSchema()
release_in = ReleaseInSchema()
release_out = ReleaseOutSchema()
release_list_query = ReleaseListQuerySchema()
release_list_out = ReleaseListOutSchema()
settings_in = DetectionSettingsInSchema()
settings_out = DetectionSettingsOutSchema()
backtest_in = BacktestInSchema()
backtest_out = BacktestOutSchema()
backtest_list_out = BacktestListOutSchema()
report_query = ReportQuerySchema()
report_out = ReportOutSchema()
