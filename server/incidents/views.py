from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from server.api.views import _api_limit, _token_key
from server.extensions import limiter
from server.http import AUTH_ERRORS, db_session, documented, json_body, require_token
from server.errors import BadRequest, Conflict, NotFound
from server.incidents import actions, backtest_runs, releases, report, service
from server.incidents.schemas import (
    BacktestInSchema,
    DetectionSettingsInSchema,
    FeedbackInSchema,
    IncidentFilterSchema,
    IncidentListQuerySchema,
    MergeInSchema,
    ReportQuerySchema,
    ReleaseInSchema,
    ReleaseListQuerySchema,
    StatusInSchema,
    UnmergeInSchema,
    backtest_in,
    backtest_list_out,
    backtest_out,
    feedback_in,
    incident_detail_out,
    incident_filter_query,
    incident_list_out,
    incident_list_query,
    merge_in,
    release_in,
    release_list_out,
    release_list_query,
    release_out,
    report_out,
    report_query,
    settings_in,
    settings_out,
    status_in,
    unmerge_in,
)
from server.ingest.schemas import ErrorSchema
from server.metrics import utcnow
from server.tenants import Tenant

bp = Blueprint("incidents", __name__, url_prefix="/api/v1")
_400 = {400: (ErrorSchema(), "A parameter or body field failed validation (`error.fields` names it), or the "
                             "body is not a JSON object.")}
_404 = {404: (ErrorSchema(), "No such incident for this tenant.")}


def _log() -> Any:
    return current_app.extensions["groundswell.log"]


@bp.get("/incidents")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="List incidents", tags=["incidents"], query=IncidentListQuerySchema(), auth="api_token",
            responses={200: (incident_list_out, "Incidents, most recently detected first; at most 50 ticket ids each."),
                       **_400, **AUTH_ERRORS})
@require_token
def list_incidents(tenant: Tenant) -> Any:
    args = incident_list_query.load(request.args.to_dict())
    return jsonify(incident_list_out.dump(service.list_incidents(db_session(), tenant.id, **args)))


@bp.get("/incidents/export")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Incidents as CSV, for a spreadsheet", tags=["incidents"], query=IncidentFilterSchema(),
            auth="api_token", text_response="text/csv",
            responses={200: (None, "One row per incident, newest first, at most 10,000; X-Total-Count says how "
                                   "many matched. UTF-8 with a byte-order mark (for Excel). Text that a spreadsheet would run as a "
                                   "formula starts with '."),
                       **_400, **AUTH_ERRORS})
@require_token
def export_incidents(tenant: Tenant) -> Any:
    args = incident_filter_query.load(request.args.to_dict())
    body, total = service.export_incidents(db_session(), tenant.id, **args)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    # UTF-8 with a byte-order mark: without one, Excel reads the file in the machine's legacy code page
    # and every non-ASCII character of a topic name or a ticket's words comes out garbled.
    return Response("\ufeff" + body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="groundswell-incidents-{stamp}.csv"',
        "X-Total-Count": str(total)})


@bp.get("/incidents/report")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="How detection went over a period: incidents, verdicts, response times, per week",
            tags=["incidents"], query=ReportQuerySchema(), auth="api_token",
            responses={200: (report_out, "The report of the incidents detected in the period."), **_400, **AUTH_ERRORS})
@require_token
def incident_report(tenant: Tenant) -> Any:
    """Incidents detected in [`since`, `until`) (default: the last 28 days; at most 366 days): by kind and
    status, people's useful/noise verdicts and the precision they give, the time from detection to a
    person's first acknowledgement, resolution, dismissal or merge and to resolution (median and 90th percentile), each week's counts and
    the series with the most incidents."""
    args = report_query.load(request.args.to_dict())
    until = args.get("until") or utcnow()
    since = args.get("since") or until - report.DEFAULT_SPAN
    if since >= until:
        raise BadRequest("The period must start before it ends.", fields={"since": ["must be before until"]})
    if until - since > report.MAX_SPAN:
        raise BadRequest(f"A report covers at most {report.MAX_SPAN.days} days.",
                         fields={"since": [f"at most {report.MAX_SPAN.days} days before until"]})
    return jsonify(report_out.dump(report.incident_report(db_session(), tenant.id, since=since, until=until)))


@bp.get("/incidents/<int:incident_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="One incident with its evidence, tickets, hourly volume and feedback", tags=["incidents"],
            auth="api_token", responses={200: (incident_detail_out, "The incident."), **_404, **AUTH_ERRORS})
@require_token
def get_incident(tenant: Tenant, incident_id: int) -> Any:
    """`volume` runs from 48 h before `first_seen_at` to 24 h after `resolved_at` (or now)."""
    return jsonify(incident_detail_out.dump(service.incident_detail(db_session(), tenant.id, incident_id,
                                                                    now=utcnow())))


@bp.post("/incidents/<int:incident_id>/feedback")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Mark an incident useful or noise", tags=["incidents"], body=FeedbackInSchema(),
            auth="api_token", responses={200: (incident_detail_out, "The incident with updated counts."),
                                         **_400, **_404, **AUTH_ERRORS})
@require_token
def add_feedback(tenant: Tenant, incident_id: int) -> Any:
    """Also appends a `control.feedback` event to the event log, so the detector learns the verdict."""
    body = feedback_in.load(json_body())
    return jsonify(incident_detail_out.dump(actions.add_feedback(db_session(), _log(), tenant.id, incident_id,
                                                                 now=utcnow(), **body)))


@bp.patch("/incidents/<int:incident_id>/status")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Acknowledge, resolve, dismiss or reopen an incident", tags=["incidents"],
            body=StatusInSchema(), auth="api_token",
            responses={200: (incident_detail_out, "The incident (unchanged when it already had that status)."),
                       **_400, **_404,
                       409: (ErrorSchema(), "The change is not allowed from the current status; "
                                            "`error.fields` has `from` and `to`."),
                       **AUTH_ERRORS})
@require_token
def set_status(tenant: Tenant, incident_id: int) -> Any:
    """open → acknowledged, resolved, dismissed; acknowledged → resolved, dismissed, open;
    resolved → open; dismissed → open. Appends a `control.status` event."""
    body = status_in.load(json_body())
    return jsonify(incident_detail_out.dump(actions.set_status(db_session(), _log(), tenant.id, incident_id,
                                                               now=utcnow(), **body)))


@bp.post("/incidents/<int:incident_id>/merge")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Merge an incident into another: one problem the detector saw twice", tags=["incidents"],
            body=MergeInSchema(), auth="api_token",
            responses={200: (incident_detail_out, "The incident that stays (`into`), with this one in "
                                                  "`evidence.merged_incidents`."),
                       **_400, **_404,
                       409: (ErrorSchema(), "One of them is resolved or dismissed, is in-app friction, or the two "
                                            "are of kinds that do not merge (a drop with a rise, sentiment with "
                                            "volume)."),
                       **AUTH_ERRORS})
@require_token
def merge_incident(tenant: Tenant, incident_id: int) -> Any:
    """This incident is resolved at once by `by`, with `evidence.merged_into_incident`; the detector then
    moves its tickets, customers and accounts to `into`, and what would have joined this one (tickets on
    its topic or series, a renewed rise there) joins `into` until `into` ends. Appends a `control.merge`
    event."""
    body = merge_in.load(json_body())
    return jsonify(incident_detail_out.dump(actions.merge(db_session(), _log(), tenant.id, incident_id,
                                                          now=utcnow(), **body)))


@bp.post("/incidents/<int:incident_id>/unmerge")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Undo a merge: the incident is active again with its own tickets", tags=["incidents"],
            body=UnmergeInSchema(), auth="api_token",
            responses={200: (incident_detail_out, "This incident, active again (no `evidence.merged_into_incident`)."),
                       **_400, **_404,
                       409: (ErrorSchema(), "This incident is not merged, the detector joined the two itself (their "
                                            "topics became one), or the incident it went into has been resolved or "
                                            "dismissed since."),
                       **AUTH_ERRORS})
@require_token
def unmerge_incident(tenant: Tenant, incident_id: int) -> Any:
    """This incident is active again, by `by`, in the status it had before the merge, and leaves the other's
    `evidence.merged_incidents`; the detector then gives it back its tickets, customers, accounts and pages,
    with the tickets that joined the other through this incident's topic meanwhile, and its topic or series
    leads to it again. Appends a `control.unmerge` event."""
    body = unmerge_in.load(json_body())
    return jsonify(incident_detail_out.dump(actions.unmerge(db_session(), _log(), tenant.id, incident_id,
                                                            now=utcnow(), **body)))


@bp.post("/releases")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Record a deploy", tags=["incidents"], body=ReleaseInSchema(), auth="api_token",
            responses={200: (release_out, "A release with this version existed and was updated."),
                       201: (release_out, "The release was recorded."), **_400, **AUTH_ERRORS})
@require_token
def record_release(tenant: Tenant) -> Any:
    """Incidents opening soon after a deploy name it in their evidence. Appends a `control.release` event."""
    body = release_in.load(json_body())
    release, created = releases.record_release(db_session(), _log(), tenant.id, now=utcnow(), **body)
    return jsonify(release_out.dump(release)), 201 if created else 200


@bp.get("/releases")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="List recorded deploys", tags=["incidents"], query=ReleaseListQuerySchema(), auth="api_token",
            responses={200: (release_list_out, "Releases, most recently deployed first."), **_400, **AUTH_ERRORS})
@require_token
def list_releases(tenant: Tenant) -> Any:
    args = release_list_query.load(request.args.to_dict())
    return jsonify(release_list_out.dump(releases.list_releases(db_session(), tenant.id, **args)))


@bp.get("/settings/detection")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="The tenant's detection settings", tags=["incidents"], auth="api_token",
            responses={200: (settings_out, "Effective values, defaults filled in."), **AUTH_ERRORS})
@require_token
def get_settings(tenant: Tenant) -> Any:
    return jsonify(settings_out.dump(actions.detection_settings(tenant).to_dict()))


@bp.patch("/settings/detection")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Change detection settings", tags=["incidents"], body=DetectionSettingsInSchema(),
            auth="api_token",
            responses={200: (settings_out, "The effective settings after the change."), **_400, **AUTH_ERRORS})
@require_token
def patch_settings(tenant: Tenant) -> Any:
    """Fields left out keep their values; `sensitivity` merges kind by kind; unknown keys are refused.
    Appends a `control.settings` event carrying the full effective settings."""
    body = settings_in.load(json_body(allow_empty=True))
    return jsonify(settings_out.dump(actions.update_detection_settings(db_session(), _log(), tenant.id, body,
                                                                       now=utcnow())))


_BACKTEST_404 = {404: (ErrorSchema(), "No such backtest for this tenant.")}


def _backtest(tenant: Tenant, backtest_id: int) -> Any:
    run = backtest_runs.get_run(db_session(), tenant.id, backtest_id)
    if run is None:
        raise NotFound(f"no backtest {backtest_id}")
    return run


@bp.post("/backtests")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Try detection settings on past data", tags=["incidents"], body=BacktestInSchema(),
            auth="api_token",
            responses={202: (backtest_out, "Queued; poll its `Location` until `status` is done, failed or cancelled."),
                       **_400, 409: (ErrorSchema(), "A backtest of this tenant is still queued or running; "
                                                    "`error.fields.backtest_id` names it."), **AUTH_ERRORS})
@require_token
def create_backtest(tenant: Tenant) -> Any:
    """The detector replays the tenant's whole event log once through two sets of detectors, the stored
    settings and these (`settings` applied to the stored ones as PATCH applies them), each used
    throughout, and compares the incidents each would have opened in
    the last `days` days, with the ratings people gave the real ones. `friction` changes the in-app
    friction detectors' settings the same way, on top of the stored widget settings. Nothing is changed:
    apply the settings with PATCH /api/v1/settings/detection (and `friction` with PUT
    /api/v1/settings/widget)."""
    body = backtest_in.load(json_body(allow_empty=True))
    session = db_session()
    try:
        overrides = {**body["settings"], **({"friction": body["friction"]} if body.get("friction") else {})}
        run = backtest_runs.create_run(session, _log(), tenant.id, days=body["days"], overrides=overrides,
                                       by=body.get("by"), now=utcnow())
    except backtest_runs.BacktestBusy as e:
        raise Conflict(str(e), fields={"backtest_id": e.run_id}) from None
    response = jsonify(backtest_out.dump(backtest_runs.run_view(run)))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/backtests/{run.id}"
    return response


@bp.get("/backtests")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Recent backtests", tags=["incidents"], auth="api_token",
            responses={200: (backtest_list_out, "The last 20, newest first, without their results."), **AUTH_ERRORS})
@require_token
def list_backtests(tenant: Tenant) -> Any:
    runs = backtest_runs.list_runs(db_session(), tenant.id)
    return jsonify(backtest_list_out.dump({"backtests": [backtest_runs.run_view(r) for r in runs]}))


@bp.get("/backtests/<int:backtest_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="One backtest: its progress, then what would have fired", tags=["incidents"],
            auth="api_token", responses={200: (backtest_out, "The backtest."), **_BACKTEST_404, **AUTH_ERRORS})
@require_token
def get_backtest(tenant: Tenant, backtest_id: int) -> Any:
    return jsonify(backtest_out.dump(backtest_runs.run_view(_backtest(tenant, backtest_id))))


@bp.delete("/backtests/<int:backtest_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Cancel a backtest", tags=["incidents"], auth="api_token",
            responses={200: (backtest_out, "The backtest, cancelled if it was queued or running (a finished one "
                                           "is unchanged)."), **_BACKTEST_404, **AUTH_ERRORS})
@require_token
def cancel_backtest(tenant: Tenant, backtest_id: int) -> Any:
    _backtest(tenant, backtest_id)
    run = backtest_runs.cancel_run(db_session(), tenant.id, backtest_id, now=utcnow())
    return jsonify(backtest_out.dump(backtest_runs.run_view(run)))
