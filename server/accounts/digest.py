"""The weekly accounts digest: the accounts report posted to a tenant's Slack at the hour it chose.

A tenant turns it on with ``accounts_digest: {"weekday": 0, "hour": 9}`` in its notification settings
(UTC; Monday 09:00 here). The detector's digest worker looks every few minutes for tenants whose latest
slot has not been handled, builds the report of the last 7 days against the 8 weeks before
(:func:`server.accounts.service.account_changes`), and posts it as one Block Kit message
(:func:`server.notify.slack.accounts_blocks`). Each slot is handled once, whatever happens: the record
(``account_digests``) says when it was sent and how many accounts it named, or why it was not (Slack's
error code; ``late`` when the detector was down for more than :data:`LATE_AFTER` past the slot, so a
Monday digest does not arrive on Thursday). A restart resumes from that record and sends nothing twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from server.accounts.models import AccountDigest
from server.accounts.schemas import account_changes_out
from server.accounts.service import account_changes
from server.db import Database, get_or_add
from server.eventlog.log import as_utc
from server.notify.client import SlackClient, SlackError
from server.notify.settings import SettingsError, digest_settings, load_target, slack_settings
from server.notify.slack import accounts_blocks
from server.tenants import Tenant
from server.workers import start_periodic

log = logging.getLogger(__name__)

#: A slot's digest is not sent when the worker first sees it this long after its hour.
LATE_AFTER = timedelta(hours=12)
#: The digest's report: the last week against the eight before.
DAYS, WEEKS = 7, 8


def latest_slot(now: datetime, weekday: int, hour: int) -> datetime:
    """The most recent ``weekday`` at ``hour``:00 UTC that is not after ``now``.

    >>> now = datetime(2026, 12, 3, 20, 0, tzinfo=timezone.utc)  # a Thursday
    >>> latest_slot(now, 0, 9).isoformat(), latest_slot(now, 3, 20).isoformat(), latest_slot(now, 3, 21).isoformat()
    ('2026-11-30T09:00:00+00:00', '2026-12-03T20:00:00+00:00', '2026-11-26T21:00:00+00:00')
    """
    now = now.astimezone(timezone.utc)
    slot = now.replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(days=(now.weekday() - weekday) % 7)
    return slot if slot <= now else slot - timedelta(days=7)


@dataclass(frozen=True)
class Outcome:
    tenant_id: int
    slot: datetime
    sent: bool
    accounts: int | None
    error: str | None


class DigestSender:
    """Sends the tenants' due digests; :meth:`run_once` is one pass over the partition's tenants."""

    def __init__(self, db: Database, *, secret_key: str, client: SlackClient, base_url: str | None,
                 partition: tuple[int, int] = (0, 1)) -> None:
        self.db = db
        self.secret_key = secret_key
        self.client = client
        self.base_url = base_url
        self.partition = partition

    def run_once(self, now: datetime | None = None) -> list[Outcome]:
        now = now or datetime.now(timezone.utc)
        index, count = self.partition
        out: list[Outcome] = []
        with self.db.session() as session:
            tenants = [t for t in session.scalars(select(Tenant).order_by(Tenant.id)) if t.id % count == index]
            for tenant in tenants:
                schedule = digest_settings(tenant.settings)
                if schedule is None:
                    continue
                slot = latest_slot(now, schedule["weekday"], schedule["hour"])
                record = session.get(AccountDigest, tenant.id)
                if record is not None and as_utc(record.last_slot) >= slot:
                    continue  # handled already
                if record is None and now - slot > LATE_AFTER:  # just turned on: the next slot is the first
                    session.add(AccountDigest(tenant_id=tenant.id, last_slot=slot))
                    session.commit()
                    continue
                outcome = self._handle(session, tenant, slot, now)
                record = get_or_add(session, AccountDigest, (tenant.id,), tenant_id=tenant.id)
                record.last_slot, record.accounts, record.error = slot, outcome.accounts, outcome.error
                record.sent_at = now if outcome.sent else None
                session.commit()
                out.append(outcome)
        return out

    def _handle(self, session: Any, tenant: Tenant, slot: datetime, now: datetime) -> Outcome:
        if now - slot > LATE_AFTER:
            log.info("accounts digest for tenant %s skipped: slot %s passed while the detector was away",
                     tenant.id, slot.isoformat())
            return Outcome(tenant.id, slot, False, None, "late")
        try:
            target = load_target(slack_settings(tenant.settings), secret_key=self.secret_key)
        except SettingsError:
            target = None
        if target is None:
            return Outcome(tenant.id, slot, False, None, "not_configured")
        report = account_changes_out.dump(account_changes(session, tenant.id, now=now, days=DAYS, weeks=WEEKS))
        try:
            self.client.send(target, accounts_blocks(report, tenant.name, self.base_url))
        except SlackError as e:
            log.warning("accounts digest for tenant %s refused by Slack: %s", tenant.id, e.code)
            return Outcome(tenant.id, slot, False, len(report["accounts"]), str(e.code)[:100])
        return Outcome(tenant.id, slot, True, len(report["accounts"]), None)


def start_worker(sender: DigestSender, *, interval: float = 300.0,
                 stop: threading.Event | None = None) -> threading.Thread:
    """Run ``sender.run_once`` every ``interval`` seconds in a daemon thread, apart from the detector loop."""
    return start_periodic("accounts-digest", sender.run_once, interval=interval, stop=stop)
