"""Nudge decisions: whether a session on a page gets help now, and why (pure code, no database).

In order (the first that applies is the reason):

1. ``no_data``: the detector has not seen the session yet, and the log holds nothing of it either; or
   the classifier is ready and has not scored the session's newest events (its estimate is what decides).
   While the detector is behind on a session (catching up on a busy log), the service folds the
   session's own unread events from the log into what the detector wrote (``provisional``), so the
   cold-start rule judges everything the session sent (server/widget/service.py).
2. Not stuck, the reason naming what decided:

   - ``below_threshold``: the classifier is ready and ``p_ticket < threshold``;
   - ``cold_start``: the classifier is still learning (it has not yet seen ``cold_start.min_outcomes``
     outcomes with ``cold_start.min_positives`` of each kind), or it is ready but has not scored this
     session yet (its last score was taken before the first outcome), so the cold-start friction rule
     decided, and it does not hold on this page (server/widget/features.py). ``p_ticket`` is then the
     classifier's estimate so far (or null), not used;
   - ``learning``: the classifier is still learning and the cold-start rule is turned off, so nothing
     says stuck yet.
3. ``no_content``: no nudge configured for the page answers what the session met there (a nudge naming
   friction, ``when``, is chosen by what the session met on the page; one naming none answers any). A
   nudge the person closed in this session (``nudge_dismissed``) is not offered again in it: the choice is
   made among the others, so the session's next nudge is one it has not refused.
4. ``cap_session`` / ``cap_day``: the session (or the user, over 24 h) already had its share of
   would-be nudges. Held-out sessions count too, so both groups are capped alike.
5. ``holdout``: the session is in the holdout: never nudged, its would-be nudge recorded.
6. ``nudge``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from server.widget.settings import Nudge, WidgetConfig

#: Holdout buckets: a session's bucket is a stable hash of (tenant, session) modulo this.
BUCKETS = 10_000


def holdout_bucket(tenant_id: int, session_id: str) -> float:
    """A session's stable position in [0, 1): the holdout is the sessions below the share.

    Examples
    --------
    >>> holdout_bucket(1, "abc") == holdout_bucket(1, "abc")
    True
    >>> 0.0 <= holdout_bucket(2, "abc") < 1.0
    True
    """
    digest = hashlib.sha256(f"groundswell/holdout/v1\x00{tenant_id}\x00{session_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") % BUCKETS) / BUCKETS


def in_holdout(tenant_id: int, session_id: str, share: float) -> bool:
    return holdout_bucket(tenant_id, session_id) < share


@dataclass(frozen=True)
class SessionView:
    """What the decision needs of the session row the detector wrote."""

    p_ticket: float | None
    model_ready: bool
    stuck_pages: tuple[str, ...]
    #: The friction the session met on the decided page: (signal, target, count).
    met: tuple[tuple[str, str, int], ...] = ()
    #: Built with events the detector has not folded yet: ``p_ticket`` does not include them.
    provisional: bool = False
    #: Nudge ids the person closed in this session: never offered again in it.
    dismissed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    reason: str
    nudge: Nudge | None
    holdout: bool
    would_nudge: bool
    p_ticket: float | None
    content: Nudge | None = None  # the would-be nudge, also for the holdout


def decide(config: WidgetConfig, *, tenant_id: int, session_id: str, path: str, session: SessionView | None,
           session_nudges: int, day_nudges: int) -> Decision:
    """Decide for one session on one page.

    ``session_nudges`` and ``day_nudges`` count earlier would-be nudges (shown or held out) of this
    session and of this user (or session) in the last 24 hours.

    Examples
    --------
    >>> c = WidgetConfig.from_dict({"holdout": 0.0, "nudges": [
    ...     {"id": "pay", "match": "/billing", "title": "Trouble paying?", "body": "Try a card."}]})
    >>> stuck = SessionView(None, False, ("/billing",))
    >>> decide(c, tenant_id=1, session_id="s", path="/billing", session=stuck, session_nudges=0, day_nudges=0).reason
    'nudge'
    >>> decide(c, tenant_id=1, session_id="s", path="/billing", session=stuck, session_nudges=1, day_nudges=1).reason
    'cap_session'
    >>> decide(c, tenant_id=1, session_id="s", path="/home", session=stuck, session_nudges=0, day_nudges=0).reason
    'cold_start'
    >>> sure = SessionView(0.945, False, ())  # a high estimate while learning: the rule decided, not it
    >>> decide(c, tenant_id=1, session_id="s", path="/billing", session=sure, session_nudges=0, day_nudges=0).reason
    'cold_start'
    >>> coupon = SessionView(None, False, ("/billing",), (("form_error", "coupon/code", 3),))
    >>> c2 = WidgetConfig.from_dict({"holdout": 0.0, "nudges": [{"id": "pay", "match": "/billing", "title": "t",
    ...     "body": "b", "when": [{"signal": "failed_request", "target": "POST /api/pay"}]}]})
    >>> decide(c2, tenant_id=1, session_id="s", path="/billing", session=coupon, session_nudges=0, day_nudges=0).reason
    'no_content'
    >>> closed = SessionView(None, False, ("/billing",), dismissed=("pay",))  # the person closed it before
    >>> decide(c, tenant_id=1, session_id="s", path="/billing", session=closed, session_nudges=1, day_nudges=1).reason
    'no_content'
    >>> ready = SessionView(0.2, True, ("/billing",))
    >>> decide(c, tenant_id=1, session_id="s", path="/billing", session=ready, session_nudges=0, day_nudges=0).reason
    'below_threshold'
    """
    holdout = in_holdout(tenant_id, session_id, config.holdout)
    p = session.p_ticket if session is not None else None

    def out(reason: str, content: Nudge | None = None) -> Decision:
        shown = content if reason == "nudge" else None
        would = reason in ("nudge", "holdout")
        return Decision(reason, shown, holdout, would, p, content if would else None)

    if session is None or (session.provisional and session.model_ready):
        return out("no_data")
    if session.model_ready and p is not None:
        stuck, judge = p >= config.threshold, "below_threshold"
    elif config.cold_start.enabled:
        stuck, judge = path in session.stuck_pages, "cold_start"
    else:
        stuck, judge = False, "learning"
    if not stuck:
        return out(judge)
    offered = config
    if session.dismissed:
        refused = set(session.dismissed)
        offered = replace(config, nudges=tuple(n for n in config.nudges if n.id not in refused))
    content = offered.nudge_for(path, session.met)
    if content is None:
        return out("no_content")
    if session_nudges >= config.cap_per_session:
        return out("cap_session")
    if day_nudges >= config.cap_per_day:
        return out("cap_day")
    if holdout:
        return out("holdout", content)
    return out("nudge", content)
