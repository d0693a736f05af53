from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.demo.replay import trigger_payload, zendesk_event
from server.understand.intake import MAX_DESCRIPTION, MAX_SUBJECT, MAX_TAG_LEN, MAX_TAGS, parse, parse_time
from server.understand.record import TicketUpdate
from tests.conftest import log_rows, post_zendesk
from tests.conftest import zendesk_event as conftest_event
from tests.zendesk.fake_zendesk import make_ticket

UTC = timezone.utc
FIELD_MAP = {"360001": "plan_tier", "360005": "product_area"}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def event(event_type: str, detail: dict, ev: dict | None = None, time: str = "2026-01-08T14:25:30.123456789Z"):  # type: ignore[no-untyped-def]
    return {"type": f"zen:event-type:{event_type}", "account_id": 22129848, "id": "d4f5c389-8f4a-4c2e",
            "time": time, "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{detail.get('id', '5158')}",
            "detail": detail, "event": ev if ev is not None else {}}


DETAIL = {"id": "5158", "subject": "Cannot login to mobile app", "description": "<p>Login fails with 500</p>",
          "status": "OPEN", "priority": "URGENT", "type": "PROBLEM", "tags": ["mobile", "login"],
          "requester_id": "8447388090494", "group_id": "360100", "brand_id": "360001",
          "organization_id": "360555", "created_at": "2026-01-08T10:12:07Z", "updated_at": "2026-01-08T14:25:30Z",
          "via": {"channel": "web_service"}, "actor_id": "8447388090495", "is_public": True,
          "custom_status": "8447388090496", "form_id": "360200"}


# -- event-subscribed payloads --------------------------------------------------------------------

def test_ticket_created_event():
    u = parse("zendesk.ticket.created", event("ticket.created", DETAIL))
    assert u == TicketUpdate(
        ticket_id="5158", created=True, subject="Cannot login to mobile app",
        description="<p>Login fails with 500</p>", requester_id="8447388090494", organization_id="360555",
        tags=("mobile", "login"), channel="web_service", brand_id="360001", status="open", priority="urgent",
        type="problem", group_id="360100", created_at=at(2026, 1, 8, 10, 12, 7),
        updated_at=at(2026, 1, 8, 14, 25, 30))


def test_status_changed_to_solved_sets_solved_at_from_the_event_time():
    detail = dict(DETAIL, status="SOLVED")
    u = parse("zendesk.ticket.status_changed",
              event("ticket.status_changed", detail, {"previous": "OPEN", "current": "SOLVED"}))
    assert (u.created, u.status) == (False, "solved")
    assert u.solved_at == datetime(2026, 1, 8, 14, 25, 30, 123456, tzinfo=UTC)


def test_event_current_wins_over_a_stale_snapshot():
    detail = {"id": "5158", "status": "OPEN", "priority": "LOW"}
    u = parse("zendesk.ticket.priority_changed", event("ticket.priority_changed", detail,
                                                       {"previous": "LOW", "current": "HIGH"}))
    assert (u.priority, u.status, u.solved_at) == ("high", "open", None)
    u = parse("zendesk.ticket.problem_link_changed", event("ticket.problem_link_changed", {"id": "5158"},
                                                           {"previous": None, "current": "4000"}))
    assert u.problem_id == "4000"
    u = parse("zendesk.ticket.group_assignment_changed", event("ticket.group_assignment_changed", {"id": "5158"},
                                                               {"previous": "1", "current": "360101"}))
    assert u.group_id == "360101"


def test_comment_added_updates_nothing_it_does_not_carry():
    payload = event("ticket.comment_added", {"id": "5158", "subject": "Cannot login", "status": "OPEN",
                                             "priority": "HIGH", "created_at": "2025-01-08T10:12:07Z",
                                             "updated_at": "2025-01-08T14:25:30Z"},
                    {"comment": {"id": 9876543210, "body": "We are investigating.", "is_public": True,
                                 "author": {"id": 8447388090495, "is_staff": True, "name": "Support Agent"}}})
    u = parse("zendesk.ticket.comment_added", payload)
    assert (u.ticket_id, u.created, u.subject, u.status, u.description, u.tags) == \
        ("5158", False, "Cannot login", "open", None, None)


def test_custom_field_changed_is_mapped_or_dropped():
    payload = event("ticket.custom_field_changed", {"id": "5158"},
                    {"custom_field": {"id": 360001, "title": "Plan", "field_type": "tagger"},
                     "previous": "pro", "current": "enterprise"})
    assert parse("zendesk.ticket.custom_field_changed", payload, field_map=FIELD_MAP).custom_fields == \
        {"plan_tier": "enterprise"}
    assert parse("zendesk.ticket.custom_field_changed", payload).custom_fields == {}


def test_deleted_and_mixed_case_events():
    u = parse("zendesk.ticket.soft_deleted", event("ticket.soft_deleted", {"id": "77", "status": "OPEN"}))
    assert u.status == "deleted"
    # Zendesk's own test sends have been seen with "Open" and the status under event.current
    payload = {"type": "zen:event-type:ticket.created", "id": "01HNX", "time": "2024-04-17T17:18:10Z",
               "subject": "zen:ticket:35436", "detail": {"id": "35436", "status": "Open", "via": {"channel": "web"}},
               "event": {"current": {"status": "Open"}}}
    u = parse("zendesk.ticket.created", payload)
    assert (u.ticket_id, u.created, u.status, u.channel) == ("35436", True, "open", "web")


def test_ticket_id_from_the_subject_when_detail_lacks_it():
    u = parse("zendesk.ticket.tags_changed", {"type": "zen:event-type:ticket.tags_changed",
                                              "subject": "zen:ticket:42", "detail": {"tags": ["a"]}})
    assert (u.ticket_id, u.tags) == ("42", ("a",))


def test_non_ticket_events_and_unknown_kinds_give_none():
    user = {"type": "zen:event-type:user.created", "subject": "zen:user:1", "detail": {"id": "1"}}
    assert parse("zendesk.user.created", user) is None
    assert parse("widget.click", {"ticket_id": "1"}) is None
    assert parse("zendesk.ticket.created", {"type": "zen:event-type:ticket.created", "detail": {"id": "abc"}}) is None


def test_the_demo_and_fixture_payloads_parse():
    ticket = {"id": 1001, "subject": "Export to CSV hangs", "description": "Spinner forever.",
              "tags": ["export", "csv"], "requester": {"id": "555", "org_id": "77", "org": "Kestrel Logistics"},
              "created_at": at(2026, 3, 1, 9, 30)}
    u = parse("zendesk.ticket.created", zendesk_event(ticket))
    assert (u.ticket_id, u.created, u.requester_id, u.organization_id, u.status, u.type, u.channel) == \
        ("1001", True, "555", "77", "new", "question", "web_form")
    t = parse("zendesk.trigger", trigger_payload(ticket))
    assert (t.ticket_id, t.created, t.tags, t.channel, t.updated_at) == \
        ("1001", True, ("export", "csv"), "web_form", at(2026, 3, 1, 9, 30))
    assert (t.organization_id, t.organization_name, u.organization_name) == ("77", "Kestrel Logistics", None)
    c = parse("zendesk.ticket.created", conftest_event(42))
    assert (c.ticket_id, c.tags, c.created_at) == ("42", ("billing",), at(2026, 1, 1))


# -- trigger payloads -----------------------------------------------------------------------------

def test_trigger_with_rendered_placeholders():
    body = {"ticket_id": "4711", "event": "updated", "subject": "  Refund not received ",
            "description": "I was charged twice.", "requester_id": "8001", "requester_email": " Jane.Doe@Example.COM",
            "organization_id": "", "tags": "billing refund  billing", "status": "Solved", "priority": "-",
            "ticket_type": "Incident", "via": "Web form", "created_at": "2026-01-01T09:00:00Z",
            "updated_at": "2026-01-02T10:00:00+01:00", "ticket_field_360001": "pro", "ticket_field_999": "x",
            "_delivery": {"invocation_id": "abc"}}
    u = parse("zendesk.trigger", body, field_map=FIELD_MAP)
    assert u.ticket_id == "4711" and u.created is False
    assert u.subject == "Refund not received" and u.organization_id is None and u.priority is None
    assert u.requester_email_sha256 == hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert "jane" not in repr(u).lower()
    assert (u.tags, u.status, u.type, u.channel) == (("billing", "refund"), "solved", "incident", "web_form")
    assert u.updated_at == at(2026, 1, 2, 9) and u.solved_at == at(2026, 1, 2, 9)
    assert u.custom_fields == {"plan_tier": "pro"}


def test_trigger_created_without_an_event_field():
    same = {"ticket_id": 12, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    later = dict(same, updated_at="2026-01-01T00:05:00Z")
    assert parse("zendesk.trigger", same).created is True
    assert parse("zendesk.trigger", later).created is False
    assert parse("zendesk.trigger", {"ticket_id": "12", "event": "Created"}).created is True
    minimal = parse("zendesk.trigger", {"ticket_id": "12", "event": "created",
                                        "updated_at": "2026-01-01T00:00:00Z", "via": "Email"})
    assert (minimal.channel, minimal.subject, minimal.tags, minimal.custom_fields) == ("email", None, None, {})


def test_trigger_custom_fields_in_every_spelling():
    body = {"ticket_id": "1", "custom_fields": [{"id": "360001", "value": "pro"}], "product_area": "billing",
            "custom_field_360002": "ignored"}
    assert parse("zendesk.trigger", body, field_map=FIELD_MAP).custom_fields == \
        {"plan_tier": "pro", "product_area": "billing"}
    assert parse("zendesk.trigger", {"ticket_id": "1", "custom_fields": {"360005": ["a", "b", {"x": 1}]}},
                 field_map=FIELD_MAP).custom_fields == {"product_area": ["a", "b"]}


def test_trigger_without_a_ticket_id_gives_none():
    for body in ({}, {"ticket_id": ""}, {"ticket_id": "abc"}, {"ticket_id": True}, {"ticket_id": -3},
                 {"ticket_id": 1.5}, {"ticket_id": "0"}):
        assert parse("zendesk.trigger", body) is None, body


# -- REST tickets (backfill) ----------------------------------------------------------------------

def test_rest_ticket_from_the_incremental_export():
    ticket = make_ticket(8, status="closed", channel="email", tags=["vip", "outage"], plan_tier="enterprise")
    u = parse("zendesk.backfill.ticket", ticket, field_map=FIELD_MAP)
    assert (u.ticket_id, u.created, u.status, u.priority, u.channel, u.brand_id, u.group_id) == \
        ("8", True, "closed", "normal", "email", "360001", "360100")
    assert (u.requester_id, u.organization_id, u.tags) == ("90008", "502", ("vip", "outage"))
    assert u.custom_fields == {"plan_tier": "enterprise"}
    assert u.created_at == at(2026, 1, 1, 0, 8) and u.solved_at == u.updated_at
    assert u.description == ticket["description"]
    wrapped = parse("zendesk.backfill.ticket", {"ticket": ticket})
    assert wrapped is not None and wrapped.ticket_id == "8"


def test_bounds_on_strings_and_tags():
    ticket = {"id": 1, "subject": "s" * 2000, "description": "d" * 50_000,
              "tags": [f"t{i}" for i in range(200)] + ["x" * 500], "status": "OPEN"}
    u = parse("zendesk.backfill.ticket", ticket)
    assert len(u.subject) == MAX_SUBJECT and len(u.description) == MAX_DESCRIPTION
    assert len(u.tags) == MAX_TAGS
    long_tag = parse("zendesk.backfill.ticket", {"id": 1, "tags": ["x" * 500]}).tags
    assert long_tag == ("x" * MAX_TAG_LEN,)


def test_nul_characters_and_lone_surrogates_are_cleaned():
    u = parse("zendesk.trigger", {"ticket_id": "1", "subject": "Blank\x00 PDF \ud800", "tags": "a\x00b \udfff",
                                  "requester_email": "\ud800@x.com"})
    assert u.subject == "Blank PDF ?" and u.tags == ("ab", "?")
    assert u.requester_email_sha256 == hashlib.sha256(b"?@x.com").hexdigest()


def test_times_are_aware_utc_and_garbage_is_none():
    assert parse_time("2026-01-01T01:00:00+01:00") == at(2026, 1, 1)
    assert parse_time("2026-01-01T00:00:00") == at(2026, 1, 1)
    assert parse_time(1767225600000) == at(2026, 1, 1)  # milliseconds
    assert parse_time("January 1, 2026") == at(2026, 1, 1)
    for garbage in ("", "yesterday", "2026-13-45", None, {}, [], float("nan"), float("inf"), -5, 10**30, 12, "1970-01-01T00:00:00Z",
                    "0001-01-01T00:00:00+05:00"):
        assert parse_time(garbage) is None, garbage
    u = parse("zendesk.backfill.ticket", {"id": 1, "created_at": "garbage", "updated_at": 12})
    assert u.created_at is None and u.updated_at is None


def test_a_webhook_through_ingest_parses_from_the_log(db, client, tenant):
    t, creds = tenant
    assert post_zendesk(client, t.slug, creds.webhook_secret, conftest_event(99)).status_code == 202
    trigger = {"ticket_id": "100", "event": "created", "tags": "a b"}
    assert post_zendesk(client, t.slug, creds.webhook_secret, trigger, invocation="inv-1").status_code == 202
    rows = log_rows(db, t.id)
    parsed = [parse(r.kind, r.payload) for r in rows]
    assert [(r.kind, p.ticket_id, p.created) for r, p in zip(rows, parsed)] == \
        [("zendesk.ticket.created", "99", True), ("zendesk.trigger", "100", True)]


# -- never raises ---------------------------------------------------------------------------------

KEYS = ["id", "ticket_id", "type", "subject", "description", "detail", "event", "time", "status", "priority",
        "tags", "via", "channel", "requester_id", "requester_email", "requester", "organization_id",
        "custom_fields", "fields", "created_at", "updated_at", "current", "previous", "custom_field", "value",
        "brand_id", "group_id", "problem_id", "locale", "ticket", "ticket_field_360001", "plan_tier", "comment"]
KINDS = ["zendesk.ticket.created", "zendesk.ticket.status_changed", "zendesk.ticket.comment_added",
         "zendesk.ticket.custom_field_changed", "zendesk.ticket.problem_link_changed", "zendesk.trigger",
         "zendesk.backfill.ticket", "zendesk.user.created", "widget.click"]

scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(st.characters(codec=None, categories=None), max_size=30)
           | st.sampled_from(["OPEN", "solved", "On-hold", "-", "", "42", "007", "zen:ticket:5",
                              "zen:event-type:ticket.created", "2026-01-01T00:00:00Z", "a@b.c", "Web form",
                              "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]))
keys = st.sampled_from(KEYS) | st.text(max_size=12)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(keys, inner, max_size=5), max_leaves=25)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS) | st.text(max_size=30), payload=st.dictionaries(keys, json_values, max_size=10),
       field_map=st.none() | st.dictionaries(st.sampled_from(["360001", "7", "x"]) | st.text(max_size=5),
                                             st.text(max_size=10), max_size=3))
def test_parse_never_raises_and_keeps_its_invariants(kind, payload, field_map):
    u = parse(kind, payload, field_map=field_map)
    if u is None:
        return
    assert re.fullmatch(r"[1-9][0-9]{0,19}", u.ticket_id)
    for ident in (u.requester_id, u.organization_id, u.brand_id, u.group_id, u.problem_id):
        assert ident is None or re.fullmatch(r"[1-9][0-9]*", ident)
    for text in (u.subject, u.description, *(u.tags or ())):
        assert text is None or ("\x00" not in text and text.encode("utf-8"))
    assert u.subject is None or 0 < len(u.subject) <= MAX_SUBJECT
    assert u.description is None or 0 < len(u.description) <= MAX_DESCRIPTION
    assert u.tags is None or (len(u.tags) <= MAX_TAGS and all(0 < len(t) <= MAX_TAG_LEN for t in u.tags))
    for enum in (u.status, u.priority, u.type, u.channel):
        assert enum is None or re.fullmatch(r"[a-z0-9_]+", enum)
    assert u.requester_email_sha256 is None or re.fullmatch(r"[0-9a-f]{64}", u.requester_email_sha256)
    for t in (u.created_at, u.updated_at, u.solved_at):
        assert t is None or t.utcoffset() is not None and t.utcoffset().total_seconds() == 0
    assert set(u.custom_fields) <= set((field_map or {}).values())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(detail=st.dictionaries(st.sampled_from(KEYS), json_values, max_size=12),
       ev=st.dictionaries(st.sampled_from(["current", "previous", "custom_field", "comment"]), json_values),
       event_type=st.sampled_from(["created", "status_changed", "custom_field_changed", "subject_changed",
                                   "group_assignment_changed", "soft_deleted"]))
def test_event_shaped_garbage_never_raises(detail, ev, event_type):
    parse(f"zendesk.ticket.{event_type}", {"type": f"zen:event-type:ticket.{event_type}", "time": "x",
                                           "subject": "zen:ticket:1", "detail": detail, "event": ev},
          field_map={"360001": "plan_tier"})
