"""Block Kit messages for incident notifications: pure functions, no I/O.

``incident_blocks(payload, event, base_url)`` turns an incident snapshot (the outbox row's payload)
into a Slack message: a ``text`` fallback (what notifications and screen readers show) and ``blocks``.

- ``opened``: the full message: header, the evidence sentence, the numbers as fields, top terms,
  up to three representative tickets quoted, the release that preceded it, a button to the incident
  page and a context line. In Web API mode the same builder redraws the thread's parent with the
  current status (``chat.update``), so the parent always shows where the incident stands.
- ``grew``, ``acknowledged``, ``resolved`` and ``reopened``: short replies for the incident's thread. They
  name the incident, so they also read well on their own (incoming-webhook mode posts them as separate
  messages). ``acknowledged`` is a person's (page, API, sidebar, Slack button or PagerDuty): the thread
  says who is on it.

Everything that comes from tickets or people (titles, terms, ticket text, segment and release names)
is untrusted: ``escape`` replaces ``&``, ``<`` and ``>`` as Slack's formatting rules ask, so that text
can neither mention (``<!channel>``) nor link, and sections with such text are ``verbatim`` so Slack
does not auto-link or auto-mention either. Lengths are clipped to Block Kit's limits after escaping.

Examples
--------
>>> escape("<!channel> & <img src=x>")
'&lt;!channel&gt; &amp; &lt;img src=x&gt;'
>>> msg = incident_blocks({"id": 3, "kind": "spike", "status": "open", "title": "Spike: 'login'",
...                        "sentence": "9 tickets", "evidence": {}}, "opened", None)
>>> msg["text"], [b["type"] for b in msg["blocks"]][:2]
("Incident #3 opened: Spike: 'login'", ['header', 'section'])
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from server.widget.features import SIGNAL_NOUNS, and_list

#: Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
MAX_FIELDS = 10
CONTEXT_CHARS = 2000
BUTTON_TEXT_CHARS = 75
URL_CHARS = 3000
#: The fallback ``text`` is not a block; Slack truncates it past 40,000 characters, we keep it short.
FALLBACK_CHARS = 500

EVENTS = ("opened", "grew", "acknowledged", "resolved", "reopened")
KIND_LABELS = {"spike": "Spike", "new_topic": "New topic", "drop": "Drop", "sentiment": "Sentiment falling",
               "concentration": "Concentrated rise"}
STATUS_EMOJI = {"open": ":rotating_light:", "acknowledged": ":eyes:", "resolved": ":white_check_mark:",
                "dismissed": ":heavy_minus_sign:"}
MAX_REPRESENTATIVES = 3
REPRESENTATIVE_CHARS = 600
MAX_TERMS = 8
MAX_SEGMENTS = 3

_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")


def escape(text: Any) -> str:
    """Escape untrusted text for Slack: ``&``, ``<`` and ``>`` only (Slack decodes nothing else)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in an ellipsis when cut, never inside an ``&..;`` entity.

    Examples
    --------
    >>> clip("abcdef", 4)
    'abc…'
    >>> clip("ab &amp; cd", 6)
    'ab …'
    """
    if len(text) <= limit:
        return text
    cut = _ENTITY_TAIL.sub("", text[: limit - 1])
    return cut + "…"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def _mrkdwn(text: str, limit: int = SECTION_CHARS) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit) or " ", "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(*parts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(p, CONTEXT_CHARS) for p in parts if p][:10]}


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "?"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "?"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}".rstrip("0").rstrip(".")
    return escape(value)


def _p_value(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "?"
    return f"{value:.2g}" if value >= 0.001 else f"{value:.1e}"


def _utc(iso: Any) -> datetime | None:
    """An ISO time from a stored snapshot, in UTC (naive ones are UTC), or None."""
    try:
        at = datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _when(iso: Any) -> str:
    """A Slack date token (shown in the reader's time zone) with a UTC fallback, or '?'."""
    at = _utc(iso)
    if at is None:
        return "?"
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


#: A clock as the detector writes it in sentences: "23:04 UTC". Its edges are ASCII word boundaries, as in
#: the incidents page and the Zendesk app (tests/fixtures/utc_clock_cases.json): a clock in text that does
#: not space its words ("12:00 UTCから") is still a clock; one after a colon is a time's minutes and
#: seconds ("12:00:30 UTC"), not a clock.
_CLOCK = re.compile(r"(?<![\w:])([01][0-9]|2[0-3]):([0-5][0-9]) UTC\b", re.ASCII)


def _local_clock(text: str, first_seen: Any) -> str:
    """The sentence's clocks ("first seen 23:04 UTC", "in the hour from 14:00 UTC"; the detector writes
    them in UTC) as Slack date tokens, so that each reader sees them in their own time zone. Each is the
    moment with that clock nearest the incident's first-seen time; without one the text is unchanged."""
    at = _utc(first_seen)
    if at is None:
        return text

    def token(m: re.Match[str]) -> str:
        same_day = at.replace(hour=int(m[1]), minute=int(m[2]), second=0, microsecond=0)
        moment = min((same_day + timedelta(days=d) for d in (-1, 0, 1)), key=lambda c: abs(c - at))
        return f"<!date^{int(moment.timestamp())}^{{time}}|{m[0]}>"

    return _CLOCK.sub(token, text)


def incident_url(base_url: str | None, incident_id: Any) -> str | None:
    """The incident page, or None without a base URL (or with an id that is not a number)."""
    if not base_url or not isinstance(incident_id, int) or isinstance(incident_id, bool):
        return None
    url = f"{base_url.rstrip('/')}/incidents#id={incident_id}"
    return url if len(url) <= URL_CHARS else None


def _title(payload: dict[str, Any]) -> str:
    title = str(payload.get("title") or "").strip()
    kind = KIND_LABELS.get(str(payload.get("kind")), str(payload.get("kind") or "Incident"))
    return title if title.startswith(kind) else f"{kind}: {title}" if title else kind


def _ref(payload: dict[str, Any]) -> str:
    return f"#{payload.get('id', '?')}"


def _evidence(payload: dict[str, Any]) -> dict[str, Any]:
    ev = payload.get("evidence")
    return ev if isinstance(ev, dict) else {}


def _is_friction(payload: dict[str, Any]) -> bool:
    return payload.get("kind") == "friction"


def _friction_counts(payload: dict[str, Any]) -> str:
    """A friction incident's signals in their worst hour: "43 failed requests and 75 rage clicks"."""
    ev = _evidence(payload)
    signals = [x for x in ev.get("signals") or [] if isinstance(x, dict)] or [ev]
    parts = [f"{_number(x.get('observed'))} {escape(SIGNAL_NOUNS.get(str(x.get('signal')), str(x.get('signal'))))}"
             for x in signals[:MAX_SEGMENTS]]
    return and_list(parts)


def _friction_sessions(payload: dict[str, Any]) -> str:
    ev = _evidence(payload)
    signed = f" ({_number(ev.get('users'))} signed-in)" if ev.get("users") else ""
    return f"{_number(ev.get('sessions'))} sessions{signed} on `{escape(ev.get('path') or '?')}`"


def _observed_field(payload: dict[str, Any]) -> str:
    ev = _evidence(payload)
    if _is_friction(payload):
        signal = str(ev.get("signal"))
        ev = dict(ev, measure=SIGNAL_NOUNS.get(signal, signal))
    measure = escape(ev.get("measure") or "count")
    window = ev.get("window_minutes")
    span = f" in {_number(window)} min" if isinstance(window, (int, float)) and not isinstance(window, bool) else ""
    tone = str(ev.get("measure") or "").startswith("mean sentiment")

    def fmt(value: Any) -> str:  # a tone on -1..1 keeps two decimals and its sign
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return f"{value:+.2f}" if tone and ok else _number(value)

    band = ""
    if ev.get("lower") is not None and ev.get("upper") is not None:
        lower, upper = ev.get("lower"), ev.get("upper")
        dash = " to " if tone or (isinstance(lower, (int, float)) and lower < 0) else "–"
        band = f" (normal {fmt(lower)}{dash}{fmt(upper)})"
    return (f"*Observed vs expected*\n{fmt(ev.get('observed'))} vs {fmt(ev.get('expected'))}{band}"
            f"\n_{measure}{span}_")


def _fields(payload: dict[str, Any]) -> dict[str, Any]:
    direction = payload.get("direction")
    arrow = {"up": " (higher than usual)", "down": " (lower than usual)"}.get(str(direction), "")
    if _is_friction(payload):  # in-app friction: a page's sessions, not tickets and customers
        who = [f"*Sessions*\n{_friction_sessions(payload)}", f"*Signals*\n{_friction_counts(payload)}"]
    else:
        who = [f"*Customers*\n{_number(payload.get('requester_count'))} ({_number(payload.get('ticket_count'))} tickets)",
               f"*Accounts*\n{_number(payload.get('account_count'))}"]
    fields = [
        _observed_field(payload),
        f"*p-value*\n{_p_value(payload.get('p_value'))}{arrow}",
        *who,
        f"*First seen*\n{_when(payload.get('first_seen_at'))}",
        f"*Detected*\n{_when(payload.get('detected_at'))}",
    ]
    return {"type": "section", "fields": [_mrkdwn(f, FIELD_CHARS) for f in fields[:MAX_FIELDS]]}


def _terms_and_segments(payload: dict[str, Any]) -> str | None:
    ev = _evidence(payload)
    lines = []
    terms = [escape(t) for t in (ev.get("top_terms") or [])[:MAX_TERMS] if isinstance(t, str) and t.strip()]
    if terms:
        lines.append("*Top terms:* " + ", ".join(f"`{t}`" if "`" not in t else t for t in terms))
    segments = []
    for seg in (ev.get("segments") or [])[:MAX_SEGMENTS]:
        if not isinstance(seg, dict) or seg.get("name") == "mean_sentiment":  # a tone, stored as a segment before
            continue
        share = seg.get("share")
        pct = f"{round(100 * share)}% " if isinstance(share, (int, float)) and not isinstance(share, bool) else ""
        what = f"{escape(seg.get('name', '?'))} {escape(seg.get('value', '?'))}"
        if isinstance(seg.get("label"), str) and seg["label"].strip():
            what = f"{escape(seg['label'])} ({what})"
        segments.append(f"{pct}{what}")
    if segments:
        lines.append("*Mostly from:* " + "; ".join(segments))
    return "\n".join(lines) or None


def _quote(text: str) -> str:
    body = clip(escape(" ".join(text.split())), REPRESENTATIVE_CHARS)
    return "> " + body


def _representatives(payload: dict[str, Any]) -> str | None:
    quotes = []
    for rep in (_evidence(payload).get("representatives") or [])[:MAX_REPRESENTATIVES]:
        if isinstance(rep, dict) and str(rep.get("text") or "").strip():
            quotes.append(f"{_quote(str(rep['text']))}\n_ticket {escape(rep.get('ticket_id', '?'))}_")
    return ("*Representative tickets*\n" + "\n".join(quotes)) if quotes else None


def _release(payload: dict[str, Any]) -> str | None:
    release = _evidence(payload).get("release")
    if not isinstance(release, dict) or not release.get("version"):
        return None
    before = release.get("minutes_before")
    when = f", {_number(before)} min before the first ticket" if isinstance(before, (int, float)) else ""
    return f":package: *Release {escape(release['version'])}* deployed {_when(release.get('deployed_at'))}{when}"


def _button(base_url: str | None, payload: dict[str, Any], buttons: bool = False) -> dict[str, Any] | None:
    """The actions row: with ``buttons`` (a signing secret is stored), Acknowledge while the incident is
    open, Useful and Noise (server/notify/interactions.py); then "Open incident" when there is a link."""
    elements: list[dict[str, Any]] = []
    ident = payload.get("id")
    if buttons and isinstance(ident, int) and not isinstance(ident, bool):
        if payload.get("status", "open") == "open":
            elements.append({"type": "button", "action_id": "gs_ack", "value": str(ident), "style": "primary",
                             "text": _plain("Acknowledge", BUTTON_TEXT_CHARS)})
        elements += [{"type": "button", "action_id": "gs_useful", "value": str(ident),
                      "text": _plain("Useful", BUTTON_TEXT_CHARS)},
                     {"type": "button", "action_id": "gs_noise", "value": str(ident),
                      "text": _plain("Noise", BUTTON_TEXT_CHARS)}]
    url = incident_url(base_url, ident)
    if url is not None:
        elements.append({"type": "button", "action_id": "open_incident", "url": url,
                         "text": _plain("Open incident", BUTTON_TEXT_CHARS)})
    return {"type": "actions", "elements": elements} if elements else None


def _context_line(payload: dict[str, Any]) -> dict[str, Any]:
    status = escape(payload.get("status") or "open")
    kind = escape(payload.get("kind") or "?")
    series = escape(payload.get("series") or "?")
    by = payload.get("status_by")
    who = f" by {escape(by)}" if isinstance(by, str) and by and by != "detector" else ""
    return _context(f"Groundswell incident {_ref(payload)} · {kind} · status *{status}*{who} · series `{series}`")


def _full(payload: dict[str, Any], base_url: str | None, buttons: bool = False) -> list[dict[str, Any]]:
    status = str(payload.get("status") or "open")
    prefix = "" if status == "open" else f"[{status.capitalize()}] "
    header = f"{STATUS_EMOJI.get(status, ':rotating_light:')} {prefix}{_ref(payload)} {_title(payload)}"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(escape(header), HEADER_CHARS)}]
    if str(payload.get("sentence") or "").strip():
        blocks.append(_section(_local_clock(escape(payload["sentence"]), payload.get("first_seen_at"))))
    summary = " ".join(str(payload.get("llm_summary") or "").split())
    if summary:  # the model's words, from redacted tickets: shown as text, marked as the model's
        blocks.append(_section(f"_Summary by Claude:_ {escape(summary)}"))
    blocks.append(_fields(payload))
    for text in (_terms_and_segments(payload), _representatives(payload), _release(payload)):
        if text:
            blocks.append(_section(text))
    button = _button(base_url, payload, buttons)
    if button:
        blocks.append(button)
    blocks.append(_context_line(payload))
    return blocks


def _ending(payload: dict[str, Any]) -> str:
    """How an ended incident ended: ``dismissed``, ``merged into #N`` or ``resolved``."""
    if payload.get("status") == "dismissed":
        return "dismissed"
    into = _evidence(payload).get("merged_into_incident")
    return f"merged into #{into}" if isinstance(into, int) and not isinstance(into, bool) else "resolved"


def _who(payload: dict[str, Any]) -> str:
    """`` by <name>`` for a person's change (escaped: a name people typed); empty for the detector's."""
    by = payload.get("status_by")
    return "" if not by or by == "detector" else f" by {escape(str(by))}"


def _reply(payload: dict[str, Any], event: str, base_url: str | None) -> list[dict[str, Any]]:
    ev = _evidence(payload)
    name = f"*Incident {_ref(payload)}* {escape(_title(payload))}"
    totals = (f"{_number(payload.get('ticket_count'))} tickets from {_number(payload.get('requester_count'))} "
              f"customers in {_number(payload.get('account_count'))} accounts")
    observed = f"observed {_number(ev.get('observed'))} vs expected {_number(ev.get('expected'))}"
    if _is_friction(payload):
        totals = _friction_sessions(payload)
        observed = f"{_friction_counts(payload)} in the worst hour"
    if event == "grew":
        text = f":chart_with_upwards_trend: {name} *grew*: now {totals}; {observed}."
    elif event == "reopened" and _who(payload):
        text = (f":rotating_light: {name} *reopened*{_who(payload)} at "
                f"{_when(payload.get('status_changed_at') or payload.get('last_activity_at'))}: {totals} so far.")
    elif event == "reopened":
        text = f":rotating_light: {name} *reopened*: it is rising again; now {totals}; {observed}."
    elif event == "acknowledged":
        text = (f":eyes: {name} *acknowledged*{_who(payload)} at "
                f"{_when(payload.get('status_changed_at') or payload.get('last_activity_at'))}: {totals} so far.")
    else:
        who = _who(payload)
        verb = _ending(payload)
        at = payload.get("status_changed_at") if verb == "dismissed" else payload.get("resolved_at")
        if verb.startswith("merged"):  # a person merged it: the problem goes on there
            text = (f":twisted_rightwards_arrows: {name} *{verb}*{who} at "
                    f"{_when(at or payload.get('last_activity_at'))}: {totals} so far; it goes on there.")
        else:
            text = (f":white_check_mark: {name} *{verb}*{who} at {_when(at or payload.get('last_activity_at'))}: "
                    f"{totals} in all.")
    blocks = [_section(text)]
    button = _button(base_url, payload)
    if button:
        blocks.append(button)
    return blocks


def incident_blocks(payload: dict[str, Any], event: str, base_url: str | None, *, buttons: bool = False) -> dict[str, Any]:
    """A Slack message (``text`` and ``blocks``) for one incident event.

    Parameters
    ----------
    payload
        The incident snapshot the outbox row holds (keys as ``Incident``; times as ISO strings).
    event
        ``opened`` (the full message, also used to redraw a thread's parent), ``grew``, ``acknowledged``,
        ``resolved`` or ``reopened`` (short thread replies).
    base_url
        Where people open Groundswell; adds an "Open incident" button. None: no button.
    buttons
        The tenant stored its Slack app's signing secret: the full message carries Acknowledge (while
        open), Useful and Noise buttons (server/notify/interactions.py).

    Examples
    --------
    >>> msg = incident_blocks({"id": 7, "kind": "drop", "status": "resolved", "title": "Drop: 'all'"}, "resolved", None)
    >>> msg["text"]
    "Incident #7 resolved: Drop: 'all'"
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}; expected one of {', '.join(EVENTS)}")
    blocks = _full(payload, base_url, buttons) if event == "opened" else _reply(payload, event, base_url)
    said = _ending(payload) if event == "resolved" else event
    text = clip(f"Incident {_ref(payload)} {said}: {escape(_title(payload))}", FALLBACK_CHARS)
    return {"text": text, "blocks": blocks[:MAX_BLOCKS]}


def check_message(tenant_name: str, base_url: str | None) -> dict[str, Any]:
    """The message ``POST /api/v1/settings/notifications/test`` sends."""
    text = f"Groundswell test message: incident alerts for {escape(tenant_name)} will arrive here."
    blocks: list[dict[str, Any]] = [_section(f":wave: {text}")]
    if base_url:
        blocks.append(_context(f"Incident links open under {escape(base_url.rstrip('/'))}"))
    return {"text": clip(text, FALLBACK_CHARS), "blocks": blocks}


#: Most accounts listed in one digest (each a section); the rest are counted.
MAX_DIGEST_ACCOUNTS = 20


def accounts_blocks(report: dict[str, Any], tenant_name: str, base_url: str | None) -> dict[str, Any]:
    """The accounts-report digest (``groundswell accounts --slack``): a header, one line per flagged
    account (what it may mean, the account, its count against what was expected, its past windows), and
    a context line saying what was tested. Account ids are the tenant's data: escaped and verbatim."""
    from server.accounts.service import change_text

    days = int(report.get("days") or 7)
    span = "day" if days == 1 else f"{days} days"
    flags = list(report.get("accounts") or [])
    tested = report.get("tested") or {}
    title = f"Accounts that changed, last {span}"
    text = (f"{title}: {len(flags)} account{'s' if len(flags) != 1 else ''} for {escape(tenant_name)}" if flags
            else f"{title}: none for {escape(tenant_name)}")
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(title, HEADER_CHARS)}]
    if not flags:
        blocks.append(_section("No account changed more than its own ups and downs allow."))
    for a in flags[:MAX_DIGEST_ACCOUNTS]:
        who = "Organization" if a.get("source") == "organization" else "Account"
        if a.get("name"):
            who += f" {escape(a['name'])}"
        change = change_text(str(a.get("direction")), a.get("ratio"))
        history = ", ".join(str(v) for v in a.get("history") or [])
        blocks.append(_section(
            f"*{escape(a.get('label', ''))}* · {who} `{escape(a.get('account_id', ''))}`: {_number(a.get('observed'))} "
            f"now, expected {_number(a.get('expected'))} ({change})" + (f" · past: {history}" if history else "")))
    if len(flags) > MAX_DIGEST_ACCOUNTS:
        blocks.append(_context(f"and {len(flags) - MAX_DIGEST_ACCOUNTS} more"))
    note = (f"Tested {tested.get('tickets', 0)} organizations and {tested.get('users', 0)} product accounts, "
            f"each against its own past, allowing for how busy all customers were; at most "
            f"{round(100 * float(report.get('fdr', 0.05)))}% of the accounts flagged are expected to be chance.")
    if base_url:
        note += f" Open {escape(base_url.rstrip('/'))}/incidents for the full list."
    blocks.append(_context(note))
    return {"text": clip(text, FALLBACK_CHARS), "blocks": blocks[:MAX_BLOCKS]}

