"""The fake Zendesk moved into the product (server/zendesk/fake.py); this name stays for older imports."""

from server.zendesk.fake import FakeZendesk, Seen, iso, make_ticket, make_tickets  # noqa: F401
