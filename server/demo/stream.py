"""A generator of realistic support traffic: tickets about recurring issues, in-app sessions, and
incidents where one issue surges together with friction on the page behind it.

Pure and seeded: the same seed gives the same stream. Times are passed in, never read.

Two clocks: *stream minutes* place the recurring incidents (``Incident.start_minute``), and rates
are per stream minute. A replay at speed ``s`` runs ``s`` stream minutes per real minute, so the
tickets a detector sees per real hour are ``s`` times the model's per-minute rate times 60, in the
live replay and in :meth:`TrafficModel.history` alike (history is generated at the same speed).
The incidents are long and strong enough that, at the demo's speed of 8, each one is several real
minutes of a surge far outside the topic's hourly baseline. There is no daily or weekly shape.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

from server.demo.acme import PATHS as ACME_PATHS, page_title

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Gustavo", "Hana", "Ivan", "Jia", "Kofi", "Lena",
         "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yusuf"]
LAST = ["Okafor", "Schmidt", "Tanaka", "García", "Nguyen", "Kowalski", "Haddad", "Silva", "Ivanova", "Brown",
        "Dubois", "Rossi", "Kim", "Novak", "Mensah", "Larsen"]
ORGS = [("Northwind Traders", "enterprise"), ("Blue Harbor Dental", "pro"), ("Kestrel Logistics", "enterprise"),
        ("Maple & Finch", "starter"), ("Orbit Fitness", "pro"), ("Greenfield Farms", "starter"),
        ("Hollis Legal", "pro"), ("Tidewater Schools", "enterprise"), ("Pico Studio", "starter"),
        ("Redwood Clinics", "pro"), ("Sato Robotics", "enterprise"), ("Lumen Books", "starter")]
#: The plans, cheapest first: a downgrade goes to the plan below the customer's.
PLANS = ("starter", "pro", "enterprise")
#: The in-app pages sessions start on: the demo's own Acme Billing product pages (server/demo/acme.py serves
#: them), so that the widget on those pages is shown the incidents the stream's sessions point to. They are
#: where customers act (pay, download, upgrade) and so where requests fail and buttons get clicked in anger.
PAGES = {"/demo/acme/billing": "Billing", "/demo/acme/invoices": "Invoices", "/demo/acme/upgrade": "Upgrade"}
#: The help articles the product pages' help tips link to (the demo's nudges, server/demo/run.py), by the page
#: whose tip it is. An article is static text with nothing on it that can fail: customers who met friction on
#: the page go there for help and read it; no session starts or meets friction on it.
HELP_PAGES = {"/demo/acme/billing": ("/demo/acme/help/payments", "Other ways to pay"),
              "/demo/acme/invoices": ("/demo/acme/help/invoices", "Get an invoice by e-mail")}
#: Every page's title, as the widget reports it in a page view (the page's document title).
TITLES = {path: page_title(view) for view, path in ACME_PATHS.items()}
#: Where an issue's customers are in the product. The demo has no sign-in, reports or team pages: sign-in
#: issues are met on the landing page (/demo/acme/ redirects to billing), exports next to the invoices,
#: seats and integrations on the plan page.
LANDING, INVOICES, UPGRADE = "/demo/acme/billing", "/demo/acme/invoices", "/demo/acme/upgrade"
#: Stream seconds between the start of a surge customer's session on the issue's page and their ticket: a
#: session, a help article read included, lasts under two minutes, so it is over before the ticket is written.
BEFORE_TICKET = (120.0, 300.0)


@dataclass(frozen=True)
class PageFailure:
    """What fails on a product page (server/static/acme/acme.js and server/demo/acme.py), as its widget
    records it: the element people click to act, named as the widget names it (``tag#id.class[label]``,
    widget/src/core/descriptor.ts), and the request that click sends, which fails: its method, its path as
    the widget reports it (ids as ``:id``, no query) and its status, or None when the click sends none."""

    target: str
    request: tuple[str, str, int] | None


#: Each product page's failure: paying answers 500, an invoice download answers 500, and Upgrade's Continue,
#: past the plan's last step, sends nothing and only says that upgrading is unavailable.
FAILURES = {LANDING: PageFailure("button#pay.primary[Pay now]", ("POST", "/demo/acme/api/pay", 500)),
            INVOICES: PageFailure("button.download[Download PDF]",
                                  ("POST", "/demo/acme/api/invoices/:id/download", 500)),
            UPGRADE: PageFailure("button#next-step.primary[Continue]", None)}
#: What people click on each page in passing, as the widget names it: a card field's label and a card's
#: heading on Billing, an invoice's line and the heading on Invoices, a step of the plan and Continue (to
#: the next step) on Upgrade. None of it fails.
CLICKS = {LANDING: ("label", "h2"), INVOICES: ("li", "h1#h-invoices"),
          UPGRADE: ("li", "button#next-step.primary[Continue]")}
#: The link of each article's header that takes its reader back to the page whose tip they followed.
BACK_LINKS = {LANDING: "a[Billing]", INVOICES: "a[Invoices]"}
#: Share of sessions outside a surge that meet their page's failure (the pages' ordinary friction).
QUIET_FRICTION = 0.03
#: Share of the sessions that met friction on a page with a help tip whose customer then reads its article.
FOLLOW_HELP = 0.5
#: Stream seconds a customer reads a help article (the articles are two to four sentences) before going back.
READING = (15.0, 40.0)
#: Seconds from a click to the failure of the request it sent, and from a rage click burst's last click to
#: the widget's rage click event (it reports a burst once no click has followed for a second).
LATENCY = (0.1, 0.6)
RAGE_END = 1.0


@dataclass(frozen=True)
class Issue:
    key: str
    weight: float
    page: str
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    tags: tuple[str, ...]
    #: Whether its customers are in the product when it hurts: people who cannot sign in never reach a page
    #: with the widget, so their tickets come with no session and their surge makes no page fail.
    in_app: bool = True


ISSUES = (
    Issue("password_reset", 3, LANDING,
          ("Password reset email never arrives", "Can't reset my password", "Reset link not working"),
          ("I requested a password reset {n} times this morning and no email came, not even in spam. Can you help?",
           "The reset link says it has expired the moment I click it. I'm locked out of {org}'s account.",
           "Hi, I can't log in and the forgot-password email isn't arriving at my work address."),
          ("login", "password"), in_app=False),
    Issue("invoice_pdf", 2, INVOICES,
          ("Invoice PDF is blank", "Cannot download invoice", "Invoice download shows an empty page"),
          ("When I click Download on invoice INV-{inv} the PDF opens but every page is blank.",
           "Our finance team needs the {month} invoice and the download button just spins, then fails.",
           "The invoice PDF for {org} is empty. We need it for our accountant today."),
          ("billing", "invoice")),
    Issue("export_timeout", 2, INVOICES,
          ("CSV export times out", "Report export stuck at 99%", "Export never finishes"),
          ("Exporting the monthly report to CSV runs for minutes and then errors with a timeout.",
           "The export progress bar stops at 99% and nothing downloads. Tried Chrome and Firefox.",
           "Scheduled export didn't arrive this week; manual export fails too."),
          ("reports", "export")),
    Issue("card_declined", 2, LANDING,
          ("Card declined on renewal", "Payment failed but card is fine", "Can't update credit card"),
          ("Our renewal failed with 'card declined' but the bank says no charge was attempted.",
           "I tried to update the card on file and got an error after pressing Save.",
           "Payment failed notice, but the card works everywhere else. Please retry the charge."),
          ("billing", "payment")),
    Issue("add_user", 3, UPGRADE,
          ("How do I add a team member?", "Invite teammate", "Adding users to our workspace"),
          ("How can I invite {n} colleagues to our workspace? I don't see the option.",
           "We hired someone new, what's the way to give them access with view-only rights?",
           "Is there a limit on seats for the {plan} plan? I want to add more people."),
          ("how-to", "team")),
    Issue("sso_error", 1, LANDING,
          ("SSO login error", "SAML assertion invalid", "Okta sign-in fails"),
          ("Since this morning our SSO login returns 'invalid SAML assertion' for everyone at {org}.",
           "Sign in through Okta redirects back to the login page in a loop.",
           "We rotated our IdP certificate and now SAML login fails."),
          ("sso", "login"), in_app=False),
    Issue("integration_sync", 1, UPGRADE,
          ("Slack integration stopped posting", "Salesforce sync errors", "Integration disconnected"),
          ("Our Slack notifications stopped yesterday; the integration page says connected.",
           "The Salesforce sync shows {n} errors with 'field not writable'.",
           "The integration keeps disconnecting every few hours."),
          ("integrations",)),
    Issue("cancel", 1, LANDING,
          ("Cancel subscription", "Please cancel our plan", "Downgrade request"),
          ("We'd like to cancel at the end of the current term. Please confirm.",
           "Please downgrade {org} from {plan} to {lower} from next month.",
           "How do I cancel? The button is greyed out for me."),
          ("billing", "cancel")),
)


@dataclass(frozen=True)
class Incident:
    issue: str
    start_minute: float
    duration_minutes: float
    factor: float
    #: The one organization whose people write about it, or None for customers across the board.
    org: str | None = None


#: The recurring incidents of the demo, in stream minutes: at speed 8 the first surge starts half a
#: real minute into the live replay and lasts eight, the second starts five real minutes in and lasts
#: seven. The factors are outage-sized (an issue's tickets at 80-100 times their usual rate) so that
#: the detector's 30-minute window is convincing within one or two real minutes of a surge.
#: A large customer (many users in the product) that rarely writes: its SSO failure is the accounts
#: report's news in the demo.
QUIET_ORG, QUIET_ORG_PEOPLE, QUIET_ORG_PROPENSITY = "Kestrel Logistics", 40, 0.1
#: The demo's seed. Each organization's tickets a day vary by chance; with some seeds (7 among them) one
#: organization's draws happen to run high on the two same weekdays of the history and low on the demo's
#: day, and the day's account report flags that drop beside the SSO customer. With this one, as the demo
#: sends it (tests/demo/test_accounts_story.py), the report shows only the SSO customer.
DEMO_SEED = 2
DEMO_INCIDENTS = (Incident("invoice_pdf", 4, 64, 80.0),
                  Incident("sso_error", 40, 56, 100.0, org=QUIET_ORG))


class TrafficModel:
    """Tickets and widget sessions per stream minute, with incidents that recur every ``period`` minutes.

    Examples
    --------
    >>> m = TrafficModel(seed=1)
    >>> [i.issue for i in m.active(minute=20.0)]
    ['invoice_pdf']
    >>> tickets = list(m.tickets(datetime(2026, 1, 1), minute=20.0, seconds=1800))
    >>> sum(t["issue"] == "invoice_pdf" for t in tickets) > len(tickets) / 2  # the incident dominates
    True
    >>> past = list(m.history(datetime(2026, 1, 1), days=1, speed=8))  # a day of quiet traffic before
    >>> past[0]["created_at"] < past[-1]["created_at"] < datetime(2026, 1, 1)
    True
    """

    def __init__(self, seed: int = DEMO_SEED, tickets_per_minute: float = 4.0, sessions_per_minute: float = 12.0,
                 incidents: tuple[Incident, ...] = DEMO_INCIDENTS, first_ticket_id: int | None = None,
                 origin: str = "http://127.0.0.1:8000", user_hash: Callable[[str], str] | None = None) -> None:
        """``origin``: the demo server's base URL, the host of the sessions' page URLs. ``user_hash``: the
        tenant backend's signer of user ids (``identify``'s user_hash); without it sessions are unverified."""
        self.rng = random.Random(seed)
        self.origin = origin.rstrip("/")
        self.user_hash = user_hash
        self.tickets_per_minute = tickets_per_minute
        self.sessions_per_minute = sessions_per_minute
        self.incidents = incidents
        self.period = max(i.start_minute + i.duration_minutes for i in incidents) + 10 if incidents else 60
        self.customers = [self._customer(i) for i in range(400)]
        #: How often each customer writes a ticket, relatively: Kestrel Logistics' many users rarely do.
        self.propensity = [QUIET_ORG_PROPENSITY if c["org"] == QUIET_ORG else 1.0 for c in self.customers]
        #: Each organization's customers (a surge pinned to one organization picks among them).
        self._people: dict[str, list[dict[str, Any]]] = {}
        for c in self.customers:
            self._people.setdefault(c["org"], []).append(c)
        self.ticket_id = 10_000 + self.rng.randrange(1000)
        if first_ticket_id is not None:
            self.ticket_id = first_ticket_id - 1

    def _customer(self, i: int) -> dict[str, Any]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        org, plan = next(o for o in ORGS if o[0] == QUIET_ORG) if i < QUIET_ORG_PEOPLE else self.rng.choice(ORGS)
        return {"id": str(360000000 + i), "name": f"{first} {last}", "org": org, "plan": plan,
                "email": f"{first.lower()}.{last.lower()}{i}@example.com",
                "org_id": str(900000 + ORGS.index((org, plan)))}

    def active(self, minute: float) -> list[Incident]:
        m = minute % self.period
        return [i for i in self.incidents if i.start_minute <= m < i.start_minute + i.duration_minutes]

    def _weights(self, minute: float | None) -> list[float]:
        boost = {i.issue: i.factor for i in self.active(minute)} if minute is not None else {}
        return [iss.weight * boost.get(iss.key, 1.0) for iss in ISSUES]

    def _poisson(self, lam: float) -> int:
        # Knuth's method; lam stays small here (tens at most: exp(-lam) must not underflow).
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def tickets(self, now: datetime, minute: float, seconds: float = 1.0) -> Iterator[dict[str, Any]]:
        """Tickets created in ``seconds`` at stream minute ``minute``, as Zendesk-shaped ticket dicts.

        A ticket about a surging issue carries ``session``: the widget batch of its requester's session on
        the issue's page a few minutes before (identified, failed requests, rage clicks), to be sent
        before the ticket, as the page's widget would have sent it.
        """
        weights = self._weights(minute)
        base = sum(iss.weight for iss in ISSUES)
        lam = self.tickets_per_minute * sum(weights) / base * seconds / 60
        surging = {inc.issue: inc for inc in self.active(minute)}
        for _ in range(self._poisson(lam)):
            issue = self.rng.choices(ISSUES, weights)[0]
            inc = surging.get(issue.key)
            pinned = self._people.get(inc.org) if inc is not None and inc.org else None
            ticket = self._ticket(issue, now, self.rng.choice(pinned) if pinned else None)
            if ticket["issue"] in surging and issue.in_app:
                start = now - timedelta(seconds=self.rng.uniform(*BEFORE_TICKET))
                ticket["session"] = self._session(start, ticket["page"], ticket["requester"], hurting=True,
                                                  identify=True)
            yield ticket

    def history(self, end: datetime, days: float, speed: float = 1.0, step: float = 300.0
                ) -> Iterator[dict[str, Any]]:
        """The quiet traffic of the ``days`` before ``end``, oldest first: what the detector learns as normal.

        Generated at ``speed`` stream minutes per real minute, as a replay at that speed sends live
        tickets, so the hourly rate matches the live one; no incident surges (they are the news).
        Each ``step`` seconds draws its count, and the tickets' times are spread inside the step.
        """
        weights = self._weights(None)
        for at in self._times(end, days * 86400, self.tickets_per_minute * speed, step):
            yield self._ticket(self.rng.choices(ISSUES, weights)[0], at)

    def session_history(self, end: datetime, hours: float, speed: float = 1.0, step: float = 60.0
                        ) -> Iterator[dict[str, Any]]:
        """The in-app sessions of the ``hours`` before ``end``, oldest first: what the friction detectors
        learn as normal.

        The same quiet traffic as :meth:`sessions` outside a surge (a few sessions in a hundred meet their
        page's failure), at the live rate of a replay at ``speed``. Each batch's ``sent_at`` is two seconds
        after its last event; a replay that sends it later stamps its own sending time instead.
        """
        for at in self._times(end, hours * 3600, self.sessions_per_minute * speed, step):
            cust = self.rng.choice(self.customers)
            page = self.rng.choice(list(PAGES))
            yield self._session(at, page, cust, hurting=self.rng.random() < QUIET_FRICTION, identify=False)

    def _times(self, end: datetime, seconds: float, per_minute: float, step: float) -> Iterator[datetime]:
        """Poisson arrival times at ``per_minute`` over the ``seconds`` before ``end``, in order: each
        ``step`` draws its count, and the times are spread inside the step."""
        steps = math.ceil(seconds / step)
        start = end - timedelta(seconds=steps * step)
        for k in range(steps):
            t0 = start + timedelta(seconds=k * step)
            for offset in sorted(self.rng.uniform(0, step) for _ in range(self._poisson(per_minute * step / 60))):
                yield t0 + timedelta(seconds=offset)

    def _ticket(self, issue: Issue, at: datetime, customer: dict[str, Any] | None = None) -> dict[str, Any]:
        cust = customer or self.rng.choices(self.customers, self.propensity)[0]
        self.ticket_id += 1
        rank = PLANS.index(cust["plan"])
        # a customer on the cheapest plan has nothing to downgrade to: they write one of the other texts
        bodies = [b for b in issue.bodies if rank or "{lower}" not in b]
        text = self.rng.choice(bodies).format(
            n=self.rng.randint(2, 5), org=cust["org"], inv=self.rng.randint(10000, 99999),
            month=self.rng.choice(["October", "November"]), plan=cust["plan"], lower=PLANS[max(rank - 1, 0)])
        return {"id": self.ticket_id, "subject": self.rng.choice(issue.subjects), "description": text,
                "requester": cust, "tags": list(issue.tags) + [cust["plan"]], "issue": issue.key,
                "page": issue.page, "created_at": at}

    def sessions(self, now: datetime, minute: float, seconds: float = 1.0) -> Iterator[dict[str, Any]]:
        """Widget batches of in-app sessions active during ``seconds``, sent at ``now`` (or, for a session
        still going on then, two seconds after its last event: a widget sends nothing before it happens)."""
        hurting = {i.page for inc in self.active(minute) for i in ISSUES if i.key == inc.issue and i.in_app}
        for _ in range(self._poisson(self.sessions_per_minute * seconds / 60)):
            cust = self.rng.choice(self.customers)
            page = self.rng.choice(list(PAGES))
            start = now - timedelta(seconds=self.rng.uniform(5, 40))
            yield self._session(start, page, cust, hurting=page in hurting or self.rng.random() < QUIET_FRICTION,
                                identify=False, sent_at=now)

    def _session(self, t: datetime, page: str, cust: dict[str, Any], *, hurting: bool, identify: bool,
                 sent_at: datetime | None = None) -> dict[str, Any]:
        """One session's batch starting at ``t`` on ``page``; ``identify``: the page identifies the user first
        (with a user_hash when the model has a signer), as a signed-in product page does. ``hurting``: the
        customer meets the page's failure (:meth:`friction`). The batch leaves at ``sent_at``, or two seconds
        after its last event if that is later."""
        session_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        events = []
        if identify:
            data = {"user_hash": self.user_hash(cust["id"])} if self.user_hash else {}
            events.append(self._event("identify", t, page, cust, data=data))
        events.append(self._event("page_view", t, page, cust, data={"nav": "load"}))
        for _ in range(self.rng.randint(1, 6)):
            t += timedelta(seconds=self.rng.uniform(1.5, 6))  # far enough apart never to read as rage
            events.append(self._event("click", t, page, cust, target=self.rng.choice(CLICKS[page])))
        if hurting:
            events += self.friction(t, page, cust)
        last = events[-1]["ts"] + timedelta(seconds=2)
        return {"session_id": session_id, "sent_at": max(sent_at, last) if sent_at else last, "events": events}

    def friction(self, t: datetime, page: str, cust: dict[str, Any]) -> list[dict[str, Any]]:
        """The events of ``cust`` meeting ``page``'s failure (:data:`FAILURES`) after ``t``, in order, as the
        page's widget records them.

        The customer clicks the page's action; its request fails (a ``failed_request`` the widget ties to the
        click: ``error_click`` and the click's element). After reading the error, they click it again in one
        to three bursts of three to seven clicks, each click sending the request again and failing, each
        burst one ``rage_click`` with its count. Upgrade's Continue sends no request: there, only the clicks
        and rage clicks. Then, on a page with a help tip, about half follow it to its article (a page load),
        read it, and go back to the page by the article's header link (a route change the widget records as
        a page view ``from`` the article): the time between the two page views is the time on the article.

        Examples
        --------
        >>> m = TrafficModel(seed=2)
        >>> events = m.friction(datetime(2026, 1, 1), "/demo/acme/billing", m.customers[0])
        >>> fail = next(e for e in events if e["type"] == "failed_request")
        >>> fail["target"], fail["data"]["method"], fail["data"]["path"], fail["data"]["status"]
        ('button#pay.primary[Pay now]', 'POST', '/demo/acme/api/pay', 500)
        >>> [e["data"]["count"] for e in events if e["type"] == "rage_click"]
        [7]
        >>> [(e["type"], e["url"][-8:]) for e in events[-3:]]  # the tip's article, read, and back
        [('page_view', 'payments'), ('click', 'payments'), ('page_view', '/billing')]
        """
        fail = FAILURES[page]
        events: list[dict[str, Any]] = []

        def click(at: datetime) -> None:
            events.append(self._event("click", at, page, cust, target=fail.target))
            if fail.request is not None:
                method, path, status = fail.request
                events.append(self._event("failed_request", at + timedelta(seconds=self.rng.uniform(*LATENCY)),
                                          page, cust, target=fail.target,
                                          data={"method": method, "status": status, "path": path,
                                                "error_click": True}))

        t += timedelta(seconds=self.rng.uniform(1.5, 6))
        click(t)
        for _ in range(self.rng.randint(1, 3)):
            t += timedelta(seconds=self.rng.uniform(2, 5))  # reads what went wrong, then tries again, fast
            count = self.rng.randint(3, 7)
            for k in range(count):
                t += timedelta(seconds=self.rng.uniform(0.15, 0.35) if k else 0)
                click(t)
            t += timedelta(seconds=RAGE_END)
            events.append(self._event("rage_click", t, page, cust, target=fail.target, data={"count": count}))
        if page in HELP_PAGES and self.rng.random() < FOLLOW_HELP:
            article = HELP_PAGES[page][0]
            t += timedelta(seconds=self.rng.uniform(2, 8))
            events.append(self._event("page_view", t, article, cust, data={"nav": "load"}))
            t += timedelta(seconds=self.rng.uniform(*READING))
            events.append(self._event("click", t, article, cust, target=BACK_LINKS[page]))
            t += timedelta(seconds=0.05)
            events.append(self._event("page_view", t, page, cust, data={"nav": "push", "from": article}))
        return sorted(events, key=lambda e: e["ts"])

    def _event(self, type_: str, t: datetime, page: str, cust: dict[str, Any], *, target: str | None = None,
               data: dict[str, Any] | None = None) -> dict[str, Any]:
        ev = {"id": uuid.UUID(int=self.rng.getrandbits(128)).hex[:16], "type": type_, "ts": t,
              "url": self.origin + page,
              "user_id": cust["id"], "account_id": cust["org_id"], "data": data or {}}
        if type_ == "page_view":  # the widget sends the document's title with a page view only
            ev["title"] = TITLES[page]
        if target:
            ev["target"] = target
        return ev
