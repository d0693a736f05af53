"""Request bodies sent without a length (``Transfer-Encoding: chunked``) held to ``MAX_BODY_BYTES``.

A body that declares its length is refused with 413 before it is read when it is over the limit. One
sent in chunks declares none: werkzeug then stops reading at the limit without saying so, and the view
sees a body cut short (the widget's events answered "not valid JSON"; a signed Zendesk delivery "the
signature does not match", which sends its admin looking for a wrong secret). This middleware reads
such a body first, up to one byte over the limit, and hands the app either the whole body with its
length or, when it is over, a declared length over the limit, so the app's own 413 answers it. A body
that cannot be read (its chunks are malformed, or the client stops sending) is answered 400 by the app
when a view reads it. Only requests that carry a body
(POST, PUT, PATCH, DELETE) are read here: a GET that says it is chunked waits for nobody.
"""

from __future__ import annotations

import io
from typing import Any, Callable, Iterable

from werkzeug.exceptions import BadRequest

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Methods whose requests carry a body.
WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNREADABLE = ("The request body could not be read: its chunked encoding is broken, or the client stopped "
              "sending it.")


class _Unreadable(io.RawIOBase):
    """The body of a request whose chunks could not be read: reading it is a 400."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise BadRequest(UNREADABLE)


class BoundedChunkedBody:
    """WSGI middleware: see the module's docstring. ``limit`` is the largest body accepted, in bytes."""

    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") not in WITH_BODY or environ.get("CONTENT_LENGTH")
                or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower()):
            return self.app(environ, start_response)
        try:
            body = read_at_most(environ["wsgi.input"], self.limit + 1)
        except Exception:  # the server's chunk reader: malformed framing, or the client went away
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = _Unreadable(), "1"
            del environ["HTTP_TRANSFER_ENCODING"]
            return self.app(environ, start_response)
        if len(body) > self.limit:
            body = b""  # not read on: the app refuses the request by its declared length alone
            environ["CONTENT_LENGTH"] = str(self.limit + 1)
        else:
            environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        del environ["HTTP_TRANSFER_ENCODING"]  # read already: werkzeug ignores a length beside this header
        return self.app(environ, start_response)


def read_at_most(stream: Any, n: int) -> bytes:
    """Up to ``n`` bytes of ``stream``: fewer only at its end (a read may return less than asked).

    >>> read_at_most(io.BytesIO(b"abcdef"), 4), read_at_most(io.BytesIO(b"ab"), 4)
    (b'abcd', b'ab')
    """
    parts, left = [], n
    while left > 0:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
