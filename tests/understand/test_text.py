from __future__ import annotations

import pytest

from server.understand.text import clean, subject_text

CASES = [
    ("plain text stays", "The export to CSV fails every time.", "The export to CSV fails every time."),
    ("html paragraphs", "<p>Invoice is blank.</p><p>Please fix.</p>", "Invoice is blank.\n\nPlease fix."),
    ("entities", "Tom &amp; Jerry&#39;s account", "Tom & Jerry's account"),
    ("script and style dropped", "<style>p{}</style><p>Hi</p><script>alert(1)</script>", "Hi"),
    ("gmail quote", "Still broken.\n\nOn Mon, Jan 5, 2026 at 9:00 AM Support <help@acme.com> wrote:\n> old",
     "Still broken."),
    ("outlook thread", "New info here.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nOld stuff",
     "New info here."),
    ("from/sent headers", "Works now?\n\nFrom: Acme Support <s@acme.com>\nSent: Tuesday, 6 January\nSubject: x",
     "Works now?"),
    ("german quote", "Geht nicht.\n\nAm 05.01.2026 um 09:00 schrieb Support <s@acme.com>:\n> alt", "Geht nicht."),
    ("french quote", "Toujours cassé.\n\nLe lun. 5 janv. 2026 à 09:00, Support a écrit :\n> vieux", "Toujours cassé."),
    ("quoted lines", "My reply\n> their text\n> more", "My reply"),
    ("signature delimiter", "Export fails.\n-- \nAna Silva\nCEO, Pico Studio", "Export fails."),
    ("mobile footer", "Login broken\n\nSent from my iPhone", "Login broken"),
    ("outlook mobile", "Help\n\nGet Outlook for iOS", "Help"),
    ("sign-off with name", "Refund please.\n\nThanks,\nAna", "Refund please."),
    ("zendesk reply line", "Fixed, thanks\n##- Please type your reply above this line -##\nrest", "Fixed, thanks"),
    ("disclaimer", "Card declined.\n\nThis email and any attachments are confidential and intended solely for the "
     "addressee.\n", "Card declined."),
    ("whitespace", "a   b\n\n\n\nc", "a b\n\nc"),
    ("thanks in the middle stays", "Thanks for the quick fix yesterday, but today the invoice is blank again.",
     "Thanks for the quick fix yesterday, but today the invoice is blank again."),
]


@pytest.mark.parametrize("name, raw, expected", CASES, ids=[c[0] for c in CASES])
def test_clean(name, raw, expected):
    assert clean(raw) == expected


def test_length_is_bounded_at_a_word():
    out = clean("word " * 5000, max_chars=100)
    assert len(out) <= 101 and out.endswith("…")


@pytest.mark.parametrize("raw, expected", [
    ("Re: Invoice blank", "Invoice blank"), ("FW: RE: AW: Export", "Export"), ("[Ticket #123] Help", "Help"),
    ("Fwd: Re[2]: Login", "Login"), (None, ""), ("Regarding my invoice", "Regarding my invoice"),
])
def test_subject(raw, expected):
    assert subject_text(raw) == expected
