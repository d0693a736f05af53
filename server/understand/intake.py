"""Parse every Zendesk payload kind in the event log into one `TicketUpdate`.

Three shapes reach the log, and this module is the only place that knows them:

- **event-subscribed** deliveries (kind ``zendesk.ticket.<event>``): Zendesk's fixed envelope,
  ids as strings, status/priority/type in UPPER case, the ticket snapshot in ``detail`` and the
  change in ``event`` (``{"previous": ..., "current": ...}``, or ``{"comment": {...}}``);
- **trigger** deliveries (kind ``zendesk.trigger``): the admin's own JSON with placeholders, at
  least ``ticket_id``; placeholders render as text (``"Web form"``, ``"Open"``, tags joined by
  spaces), and an empty one renders as ``""`` or ``"-"``;
- **REST tickets** from the incremental export (kind ``zendesk.backfill.ticket``): integers,
  lower case, ``via.channel``, ``custom_fields: [{id, value}]``.

Everything is normalised the same way: ids become digit strings, enums lower case, times aware
UTC datetimes, tags a bounded tuple, a requester email only its SHA-256 (the address itself is
never kept), custom fields only those named in the tenant's ``field_map``.

Pure: no Flask, database or network. `parse` never raises on malformed input; a payload that
cannot name a ticket gives None, and a field that cannot be read is left None.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from server.understand.record import TicketUpdate

__all__ = ["parse", "parse_time", "BACKFILL_KIND", "TRIGGER_KIND"]

BACKFILL_KIND = "zendesk.backfill.ticket"
TRIGGER_KIND = "zendesk.trigger"
EVENT_TYPE_PREFIX = "zen:event-type:"

MAX_SUBJECT = 500
MAX_ORGANIZATION_NAME = 255
MAX_DESCRIPTION = 20_000
MAX_TAGS = 50
MAX_TAG_LEN = 80
MAX_FIELD_TEXT = 1_000
MAX_FIELD_ITEMS = 50
MAX_EMAIL_LEN = 320

_DIGITS = re.compile(r"[0-9]{1,20}")
_ENUM = re.compile(r"[a-z0-9_]{1,40}")
_LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8}){0,3}")
_TICKET_SUBJECT = re.compile(r"zen:ticket:([0-9]{1,20})")
_TRIGGER_FIELD_KEY = re.compile(r"(?:ticket_field|custom_field|field)_([0-9]{1,20})")
_SPLIT_TAGS = re.compile(r"[\s,]+")
_EMPTY_PLACEHOLDERS = {"", "-"}
_SOLVED = {"solved", "closed"}
_ENUM_ALIASES = {"on_hold": "hold"}
_CREATED_EVENTS = {"created", "create", "new", "ticket.created", "ticket_created"}

#: Event types whose ``event.current`` carries the new value of one ticket field.
_EVENT_FIELDS = {
    "ticket.status_changed": "status",
    "ticket.priority_changed": "priority",
    "ticket.type_changed": "type",
    "ticket.subject_changed": "subject",
    "ticket.description_changed": "description",
    "ticket.group_assignment_changed": "group_id",
    "ticket.organization_changed": "organization_id",
    "ticket.requester_changed": "requester_id",
    "ticket.brand_changed": "brand_id",
    "ticket.problem_link_changed": "problem_id",
}
_DELETED_EVENTS = {"ticket.soft_deleted", "ticket.permanently_deleted"}

#: Times outside this range are garbage (a Zendesk account cannot predate 2007).
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)

#: Human date formats that trigger placeholders and old API versions render.
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S %z", "%B %d, %Y %H:%M", "%B %d, %Y", "%b %d, %Y %H:%M", "%b %d, %Y")


def parse(kind: str, payload: dict[str, Any], *, field_map: dict[str, str] | None = None) -> TicketUpdate | None:
    """The `TicketUpdate` a logged Zendesk payload describes, or None when it names no ticket.

    Parameters
    ----------
    kind
        The event-log kind: ``zendesk.ticket.<event>``, ``zendesk.trigger`` or
        ``zendesk.backfill.ticket``. Other kinds give None.
    payload
        The logged JSON body (``_delivery`` and other unknown keys are ignored).
    field_map
        Zendesk custom field id (as a string) -> our name, e.g. ``{"360001": "plan_tier"}``.
        Fields not in the map are dropped.

    Examples
    --------
    >>> u = parse("zendesk.ticket.status_changed", {
    ...     "type": "zen:event-type:ticket.status_changed", "time": "2026-01-02T10:00:00Z",
    ...     "subject": "zen:ticket:42", "detail": {"id": "42", "status": "SOLVED", "priority": "HIGH"},
    ...     "event": {"previous": "OPEN", "current": "SOLVED"}})
    >>> u.ticket_id, u.created, u.status, u.priority, u.solved_at.isoformat()
    ('42', False, 'solved', 'high', '2026-01-02T10:00:00+00:00')
    >>> u = parse("zendesk.trigger", {"ticket_id": "7", "event": "created", "via": "Web form",
    ...                               "tags": "billing  vip", "requester_email": " Ann@Example.com "})
    >>> u.created, u.channel, u.tags, u.requester_email_sha256[:12]
    (True, 'web_form', ('billing', 'vip'), '71d4f55f72fa')
    >>> parse("zendesk.backfill.ticket", {"id": 9, "status": "open", "via": {"channel": "email"},
    ...       "custom_fields": [{"id": 360001, "value": "enterprise"}, {"id": 5, "value": "x"}]},
    ...       field_map={"360001": "plan_tier"}).custom_fields
    {'plan_tier': 'enterprise'}
    >>> parse("zendesk.trigger", {"subject": "no ticket id"}) is None
    True
    """
    if not isinstance(payload, Mapping) or not isinstance(kind, str):
        return None
    fmap = _clean_field_map(field_map)
    if kind.startswith("zendesk.backfill"):
        ticket = payload.get("ticket") if "id" not in payload and isinstance(payload.get("ticket"), Mapping) \
            else payload
        return _from_rest(ticket, fmap)
    event_type = _event_type(kind, payload)
    if event_type is not None:
        return _from_event(event_type, payload, fmap)
    if kind == TRIGGER_KIND:
        return _from_trigger(payload, fmap)
    return None


# -- the three shapes ---------------------------------------------------------------------------

def _event_type(kind: str, payload: Mapping[str, Any]) -> str | None:
    """``ticket.<event>`` for an event-subscribed delivery; None for anything else."""
    declared = payload.get("type")
    if isinstance(declared, str) and declared.startswith(EVENT_TYPE_PREFIX):
        event_type = declared[len(EVENT_TYPE_PREFIX):]
    elif kind.startswith("zendesk.") and kind != TRIGGER_KIND and not kind.startswith("zendesk.backfill"):
        event_type = kind[len("zendesk."):]
    else:
        return None
    return event_type if event_type.startswith("ticket.") else None


def _from_event(event_type: str, payload: Mapping[str, Any], fmap: dict[str, str]) -> TicketUpdate | None:
    detail = _mapping(payload.get("detail"))
    event = _mapping(payload.get("event"))
    ticket_id = _id(detail.get("id"))
    if ticket_id is None:
        subject = payload.get("subject")
        match = _TICKET_SUBJECT.fullmatch(subject.strip()) if isinstance(subject, str) else None
        ticket_id = _id(match.group(1)) if match else None
    if ticket_id is None:
        return None
    values: dict[str, Any] = {
        "subject": _text(detail.get("subject"), MAX_SUBJECT),
        "description": _text(detail.get("description"), MAX_DESCRIPTION),
        "requester_id": _id(detail.get("requester_id")),
        "organization_id": _id(detail.get("organization_id")),
        "brand_id": _id(detail.get("brand_id")),
        "group_id": _id(detail.get("group_id")),
        "problem_id": _id(detail.get("problem_id")),
        "status": _enum(detail.get("status")),
        "priority": _enum(detail.get("priority")),
        "type": _enum(detail.get("type")),
    }
    name = _EVENT_FIELDS.get(event_type)
    current = event.get("current")
    if name is not None and current is not None and not isinstance(current, (Mapping, list)):
        if name in ("subject", "description"):
            new = _text(current, MAX_SUBJECT if name == "subject" else MAX_DESCRIPTION)
        elif name.endswith("_id"):
            new = _id(current)
        else:
            new = _enum(current)
        if new is not None:
            values[name] = new
    if event_type in _DELETED_EVENTS:
        values["status"] = "deleted"
    custom = _custom_fields(detail.get("custom_fields"), fmap)
    if event_type == "ticket.custom_field_changed":
        field = _mapping(event.get("custom_field"))
        field_id = _id(field.get("id"))
        if field_id is not None and field_id in fmap:
            value = _field_value(current)
            if value is not _SKIP:
                custom[fmap[field_id]] = value
    event_time = parse_time(payload.get("time"))
    updated_at = parse_time(detail.get("updated_at")) or event_time
    solved_at = None
    if values["status"] in _SOLVED:
        solved_at = (event_time or updated_at) if event_type == "ticket.status_changed" else (updated_at or event_time)
    return TicketUpdate(
        ticket_id=ticket_id,
        created=event_type == "ticket.created",
        requester_email_sha256=_email_sha256(detail.get("requester_email")),
        tags=_tags(detail.get("tags")),
        channel=_channel(detail.get("via")),
        locale=_locale(detail.get("locale")),
        custom_fields=custom,
        created_at=parse_time(detail.get("created_at")),
        updated_at=updated_at,
        solved_at=solved_at,
        **values,
    )


def _from_trigger(payload: Mapping[str, Any], fmap: dict[str, str]) -> TicketUpdate | None:
    ticket_id = _id(payload.get("ticket_id"))
    if ticket_id is None:
        return None
    requester = _mapping(payload.get("requester"))
    created_at = parse_time(payload.get("created_at"))
    updated_at = parse_time(payload.get("updated_at"))
    event = payload.get("event")
    if isinstance(event, str) and event.strip():
        created = event.strip().lower() in _CREATED_EVENTS
    else:
        created = created_at is not None and created_at == updated_at
    status = _enum(payload.get("status"))
    custom = _custom_fields(payload.get("custom_fields"), fmap)
    for key, value in payload.items():
        match = _TRIGGER_FIELD_KEY.fullmatch(key) if isinstance(key, str) else None
        field_id = _id(match.group(1)) if match else None
        if field_id is not None and field_id in fmap:
            cleaned = _field_value(value)
            if cleaned is not _SKIP:
                custom[fmap[field_id]] = cleaned
    for name in set(fmap.values()):  # an admin may also name the field directly: "plan_tier": "{{...}}"
        if name in payload and name not in custom:
            cleaned = _field_value(payload[name])
            if cleaned is not _SKIP:
                custom[name] = cleaned
    email = payload.get("requester_email")
    return TicketUpdate(
        ticket_id=ticket_id,
        created=created,
        subject=_text(payload.get("subject"), MAX_SUBJECT),
        description=_text(payload.get("description"), MAX_DESCRIPTION),
        requester_id=_id(payload.get("requester_id")) or _id(requester.get("id")),
        requester_email_sha256=_email_sha256(email if email is not None else requester.get("email")),
        organization_id=_id(payload.get("organization_id")),
        organization_name=_name(payload.get("organization_name")),
        tags=_tags(payload.get("tags")),
        channel=_channel(payload.get("via") if payload.get("via") is not None else payload.get("channel")),
        brand_id=_id(payload.get("brand_id")),
        locale=_locale(payload.get("locale")),
        custom_fields=custom,
        status=status,
        priority=_enum(payload.get("priority")),
        type=_enum(payload.get("type") if payload.get("type") is not None else payload.get("ticket_type")),
        group_id=_id(payload.get("group_id")),
        problem_id=_id(payload.get("problem_id")),
        created_at=created_at,
        updated_at=updated_at,
        solved_at=(updated_at or created_at) if status in _SOLVED else None,
    )


def _from_rest(ticket: Any, fmap: dict[str, str]) -> TicketUpdate | None:
    if not isinstance(ticket, Mapping):
        return None
    ticket_id = _id(ticket.get("id"))
    if ticket_id is None:
        return None
    fields = ticket.get("custom_fields")
    if fields is None:
        fields = ticket.get("fields")
    status = _enum(ticket.get("status"))
    updated_at = parse_time(ticket.get("updated_at"))
    return TicketUpdate(
        ticket_id=ticket_id,
        created=True,
        subject=_text(ticket.get("subject") if ticket.get("subject") is not None else ticket.get("raw_subject"),
                      MAX_SUBJECT),
        description=_text(ticket.get("description"), MAX_DESCRIPTION),
        requester_id=_id(ticket.get("requester_id")),
        organization_id=_id(ticket.get("organization_id")),
        organization_name=_name(ticket.get("organization_name")),
        tags=_tags(ticket.get("tags")),
        channel=_channel(ticket.get("via")),
        brand_id=_id(ticket.get("brand_id")),
        locale=_locale(ticket.get("locale")),
        custom_fields=_custom_fields(fields, fmap),
        status=status,
        priority=_enum(ticket.get("priority")),
        type=_enum(ticket.get("type")),
        group_id=_id(ticket.get("group_id")),
        problem_id=_id(ticket.get("problem_id")),
        created_at=parse_time(ticket.get("created_at")),
        updated_at=updated_at,
        solved_at=updated_at if status in _SOLVED else None,
    )


# -- field normalisers: each takes anything and returns a clean value or None --------------------

class _Skip:
    """Marks a custom field value that cannot be kept (an object, say)."""


_SKIP = _Skip()


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _clean_field_map(field_map: Any) -> dict[str, str]:
    if not isinstance(field_map, Mapping):
        return {}
    out: dict[str, str] = {}
    for key, name in field_map.items():
        field_id = _id(key)
        if field_id is not None and isinstance(name, str) and name:
            out[field_id] = name
    return out


def _id(value: Any) -> str | None:
    """A positive Zendesk id as a digit string (``7``, ``"7"`` and ``"007"`` all give ``"7"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 0 < value < 10**20 else None
    if isinstance(value, str):
        v = value.strip()
        if _DIGITS.fullmatch(v):
            v = v.lstrip("0")
            return v or None
    return None


def _clean(value: str) -> str:
    """Without NUL characters and lone surrogates (JSON allows both; databases and encoders do not)."""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    return _clean(value).strip()[:limit] or None


def _name(value: Any) -> str | None:
    """A display name from a payload: text, bounded; an unrendered placeholder is no name.

    >>> _name("  Kestrel Logistics "), _name("{{ticket.organization.name}}"), _name(""), _name(7)
    ('Kestrel Logistics', None, None, '7')
    """
    text = _text(value, MAX_ORGANIZATION_NAME)
    return None if text is None or (text.startswith("{{") and text.endswith("}}")) else text


def _enum(value: Any) -> str | None:
    """``"OPEN"``, ``"Open"``, ``"open"`` give ``"open"``; ``"On-hold"`` gives ``"hold"``."""
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    if v in _EMPTY_PLACEHOLDERS or len(v) > 40:
        return None
    v = re.sub(r"[\s-]+", "_", v)
    v = _ENUM_ALIASES.get(v, v)
    return v if _ENUM.fullmatch(v) else None


def _channel(via: Any) -> str | None:
    """``{"channel": "web"}`` (REST, events) or ``"Web form"`` (a trigger's ``{{ticket.via}}``)."""
    if isinstance(via, Mapping):
        via = via.get("channel")
    return _enum(via)


def _locale(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    v = value.strip()
    return v.lower().replace("_", "-") if _LOCALE.fullmatch(v) else None


def _tags(value: Any) -> tuple[str, ...] | None:
    """Tags from a list or a space-separated string: deduplicated, at most 50 of at most 80 chars."""
    if isinstance(value, str):
        items: list[Any] = [] if value.strip() in _EMPTY_PLACEHOLDERS else _SPLIT_TAGS.split(value[:20_000])
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        return None
    seen: dict[str, None] = {}
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            continue
        tag = _clean(str(item)).strip()[:MAX_TAG_LEN]
        if tag:
            seen.setdefault(tag, None)
        if len(seen) >= MAX_TAGS:
            break
    return tuple(seen)


def _email_sha256(value: Any) -> str | None:
    """SHA-256 (hex) of the lower-cased, stripped address; the address itself is never returned."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    if "@" not in email or len(email) > MAX_EMAIL_LEN:
        return None
    return hashlib.sha256(_clean(email).encode("utf-8")).hexdigest()


def _field_value(value: Any) -> Any:
    """A custom field value kept as JSON scalars (multi-selects as a list); objects are skipped."""
    if value is None or isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _SKIP
    if isinstance(value, str):
        return _clean(value[:MAX_FIELD_TEXT])
    if isinstance(value, (list, tuple)):
        items = [_field_value(v) for v in value[:MAX_FIELD_ITEMS]]
        return [v for v in items if v is not _SKIP and not isinstance(v, list)]
    return _SKIP


def _custom_fields(value: Any, fmap: dict[str, str]) -> dict[str, Any]:
    """``[{"id": 1, "value": v}, ...]`` or ``{"1": v}`` -> ``{our name: v}`` for mapped ids only."""
    if not fmap:
        return {}
    if isinstance(value, Mapping):
        pairs: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = [(f.get("id"), f.get("value")) for f in value if isinstance(f, Mapping)]
    else:
        return {}
    out: dict[str, Any] = {}
    for raw_id, raw_value in pairs:
        field_id = _id(raw_id)
        if field_id is None or field_id not in fmap:
            continue
        cleaned = _field_value(raw_value)
        if cleaned is not _SKIP:
            out[fmap[field_id]] = cleaned
    return out


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from what Zendesk sends, or None.

    Accepts ISO 8601 (``Z``, offsets, any fraction), Unix seconds or milliseconds, the old API's
    ``2011/05/05 10:38:52 -0700`` and the ``January 5, 2026`` of rendered placeholders. A time
    without a zone is taken as UTC; a time before 1990 or after 2199 is garbage (None).

    Examples
    --------
    >>> parse_time("2025-01-08T14:25:30.123456789Z").isoformat()
    '2025-01-08T14:25:30.123456+00:00'
    >>> parse_time("2011/05/05 10:38:52 -0700").isoformat()
    '2011-05-05T17:38:52+00:00'
    >>> parse_time(1767225600).isoformat(), parse_time("not a time"), parse_time(True)
    ('2026-01-01T00:00:00+00:00', None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    v = value.strip()
    if not v or len(v) > 64:
        return None
    if _DIGITS.fullmatch(v):
        return _from_epoch(int(v))
    try:
        return _utc(datetime.fromisoformat(v))
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:
        try:
            return _utc(datetime.strptime(v, fmt))
        except ValueError:
            continue
    return None


def _from_epoch(value: float) -> datetime | None:
    """Unix seconds, or milliseconds when the number is too large to be seconds."""
    if not (isinstance(value, int) or math.isfinite(value)) or value <= 0:
        return None
    seconds = value if value < 1e11 else value / 1000 if value < 1e14 else None
    if seconds is None:
        return None
    try:
        return _utc(datetime.fromtimestamp(seconds, tz=timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


def _utc(value: datetime) -> datetime | None:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        value = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    return value if _EARLIEST <= value < _LATEST else None
