from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from server.understand.redact import redact

REDACTED = [
    ("mail me at ana.maria+billing@example.co.uk please", "mail me at [email] please", "email"),
    ("Call +44 20 7946 0958 after 5", "Call [phone] after 5", "phone"),
    ("call (555) 123-4567", "call [phone]", "phone"),
    ("my number is 555-123-4567.", "my number is [phone].", "phone"),
    ("mobile 07700 900123", "mobile [phone]", "phone"),
    ("+1 415 555 2671 is my cell", "[phone] is my cell", "phone"),
    ("card 4111 1111 1111 1111 was declined", "card [card] was declined", "card"),
    ("card 4111-1111-1111-1111", "card [card]", "card"),
    ("amex 378282246310005 fails", "amex [card] fails", "card"),
    ("IBAN GB82 WEST 1234 5698 7654 32 please refund", "IBAN [iban] please refund", "iban"),
    ("DE89370400440532013000", "[iban]", "iban"),
    ("from 192.168.10.24 we get 403", "from [ip] we get 403", "ip"),
    ("ipv6 2001:db8:85a3::8a2e:370:7334 blocked", "ipv6 [ip] blocked", "ip"),
    ("link https://app.acme.com/reset?token=abcDEF123456&x=1", "link https://app.acme.com/reset?token=[url-secret]&x=1",
     "url-secret"),
    ("https://bob:hunter2@ftp.acme.com/files", "https://[url-secret]@ftp.acme.com/files", "url-secret"),
    ("https://s3.aws.com/x?X-Amz-Signature=abc123def456", "https://s3.aws.com/x?X-Amz-Signature=[url-secret]",
     "url-secret"),
    ("my api key sk-proj-AbCdEfGhIjKlMnOpQrStUv is leaked", "my api key [secret] is leaked", "secret"),
    ("token ghp_1234567890abcdefghijABCDEFGHIJ", "token [secret]", "secret"),
    ("Authorization: Bearer abcdefghijklmnop1234567890", "Authorization: Bearer [secret]", "secret"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk_XYZ", "jwt [secret]", "secret"),
    ("password: Tr0ub4dor&3 doesn't work", "password: [secret] doesn't work", "secret"),
    ("AWS key AKIAIOSFODNN7EXAMPLE", "AWS key [secret]", "secret"),
    ("ship to 221B Baker Street, London", "ship to [address], London", "address"),
    ("office at 1600 Amphitheatre Parkway", "office at [address]", "address"),
    ("123 Main St., Apt 4 is my address", "[address] is my address", "address"),
    ("wohne in Hauptstraße 5, Berlin", "wohne in [address], Berlin", "address"),
]

KEPT = [
    "order 123456789 never arrived",
    "invoice INV-20391 is blank",
    "after upgrading to 2.31.0 the export fails",
    "version v10.4.1 and build 1.2.3.4.5",
    "since 2026-01-15 at 10:45",
    "charged $1,234.56 twice",
    "see ticket #48213",
    "zip 94107 only",
    "card ending 4242",
    "number 4111 1111 1111 1112 is not a card",
    "GB82 WEST 1234 5698 7654 33 fails the checksum",
    "3 Main issues with the app",
    "error code 500 on /api/v1/invoices/12345",
    "tracking 1Z999AA10123456784",
    "the 10.0 release",
    "999.999.999.999 is not an address",
]


@pytest.mark.parametrize("text, expected, kind", REDACTED)
def test_redacts(text, expected, kind):
    result = redact(text)
    assert result.text == expected
    assert result.counts.get(kind, 0) >= 1


@pytest.mark.parametrize("text", KEPT)
def test_keeps(text):
    result = redact(text)
    assert result.text == text and result.counts == {}


@pytest.mark.parametrize("text, _e, _k", REDACTED)
def test_idempotent(text, _e, _k):
    once = redact(text).text
    assert redact(once).text == once


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(max_size=200), local=st.from_regex(r"[a-z]{1,10}", fullmatch=True),
       suffix=st.text(max_size=200))
def test_never_raises_and_never_leaks_an_email(prefix, local, suffix):
    email = f"{local}.q@example.org"
    result = redact(f"{prefix} {email} {suffix}")
    assert email not in result.text
    assert len(result.text) <= len(prefix) + len(suffix) + len(email) + 16
