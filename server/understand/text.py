"""Turn a ticket's first comment (HTML or text, as Zendesk delivers it) into what the customer wrote.

Strips HTML, quoted replies, signatures and helpdesk boilerplate, and normalises whitespace. The
rules are conservative: when a line might be the customer's own words, it stays.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "hr", "section", "article", "header", "footer"}
_SKIP = {"script", "style", "head", "title"}

# A line that starts a quoted earlier message: everything from it on is dropped.
_QUOTE_HEADERS = [re.compile(p, re.I) for p in (
    r"^\s*on .{3,200}\bwrote:\s*$",
    r"^\s*on .{3,120}$(?=\n.{0,120}wrote:)",
    r"^\s*-{2,}\s*original message\s*-{2,}",
    r"^\s*-{2,}\s*forwarded message\s*-{2,}",
    r"^\s*from:\s.+$\n^\s*(sent|date):\s.+$",
    r"^\s*le .{3,200}a écrit\s*:\s*$",
    r"^\s*am .{3,200}schrieb .{0,200}:\s*$",
    r"^\s*el .{3,200}escribió:\s*$",
    r"^\s*##- please type your reply above this line -##",
)]
# A line that starts a signature or a mobile footer: everything from it on is dropped.
_SIGNATURE = [re.compile(p, re.I) for p in (
    r"^--\s*$",
    r"^__+\s*$",
    r"^\s*sent from my (iphone|ipad|android|samsung|galaxy|mobile|phone|blackberry)",
    r"^\s*get outlook for (ios|android)",
    r"^\s*sent from (mail|yahoo mail|outlook) for ",
)]
# Whole paragraphs of boilerplate, removed wherever they are.
_BOILERPLATE = [re.compile(p, re.I | re.S) for p in (
    r"this (e-?mail|message)( and any attachments?)? (is|are|may be) (confidential|privileged).*?(\n\s*\n|\Z)",
    r"this email is a service from [^\n]*",
    r"\[zendesk ticket[^\]]*\]",
    r"please do not reply to this (e-?mail|message)[^\n]*",
    r"\[?(ticket|request) #\d+\]?:?\s*(?=\n)",
)]
_SIGN_OFF = re.compile(r"^\s*(thanks|thank you|many thanks|cheers|best|best regards|kind regards|regards|"
                       r"sincerely|br|thx|danke|merci|gracias)[,.!]*\s*$", re.I)
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|fw|aw|wg|tr|sv|vs)\s*(\[\d+\])?\s*:\s*|\[(ticket|request|case)\s*#?\s*\d+\]\s*)+",
                             re.I)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[override]
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        if tag == "blockquote":
            self.parts.append("\n> ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def strip_html(raw: str) -> str:
    """Text of an HTML fragment, with blocks on their own lines.

    Examples
    --------
    >>> strip_html("<p>Hello&nbsp;there</p><script>x()</script><div>Second &amp; last</div>")
    'Hello\\xa0there\\n\\nSecond & last'
    """
    parser = _TextExtractor()
    parser.feed(raw)
    parser.close()
    return "".join(parser.parts).strip()


def _looks_like_html(text: str) -> bool:
    return bool(re.search(r"</?(p|div|br|span|html|body|table|blockquote|a|b|i|strong|em|ul|li)\b[^>]*>", text, re.I))


def _cut_quotes_and_signatures(text: str) -> str:
    cut = len(text)
    for pattern in _QUOTE_HEADERS:
        m = re.search(pattern.pattern, text, pattern.flags | re.M)
        if m and m.start() > 0:
            cut = min(cut, m.start())
    text = text[:cut]
    lines = text.split("\n")
    kept: list[str] = []
    for line in lines:
        if any(p.search(line) for p in _SIGNATURE) and kept:
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    # A sign-off followed only by a short name or two at the very end.
    for i in range(max(0, len(kept) - 4), len(kept)):
        if _SIGN_OFF.match(kept[i]) and i > 0:
            tail = [x for x in kept[i + 1:] if x.strip()]
            if len(tail) <= 2 and all(len(x.split()) <= 4 for x in tail):
                kept = kept[:i]
                break
    return "\n".join(kept)


def clean(raw: str, max_chars: int = 5000) -> str:
    """What the customer wrote, as plain text.

    Examples
    --------
    >>> clean("<p>The export fails.</p><p>On Mon, Jan 5, 2026 at 9:00 AM Support &lt;help@acme.com&gt; wrote:</p>"
    ...       "<blockquote>Old text</blockquote>")
    'The export fails.'
    >>> clean("Invoice is blank.\\n\\nThanks,\\nAna\\n\\nSent from my iPhone")
    'Invoice is blank.'
    """
    if not raw:
        return ""
    text = strip_html(raw) if _looks_like_html(raw) else html.unescape(raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = _cut_quotes_and_signatures(text)
    for pattern in _BOILERPLATE:
        text = pattern.sub("\n", text)
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + "…"
    return text


def subject_text(subject: str | None) -> str:
    """A subject without reply/forward prefixes and ticket tags.

    Examples
    --------
    >>> subject_text("RE: Fwd: [Ticket #123] Invoice PDF blank")
    'Invoice PDF blank'
    """
    if not subject:
        return ""
    return " ".join(_SUBJECT_PREFIX.sub("", html.unescape(subject)).split())[:500]
