"""Turn a ticket's first comment (HTML or text, as Zendesk delivers it) into what the customer wrote.

``clean`` runs these steps, in order:

1. HTML to text (``strip_html``): blocks on their own lines, ``<script>``/``<style>``/``<head>``
   dropped, entities unescaped, ``<blockquote>`` lines prefixed with ``>`` so step 4 drops them.
   Plain text only has its ``&name;`` entities unescaped (never legacy ones without ``;``, which
   would break URLs such as ``?a=1&para=2``). Any text is safe to pass, however hostile: a numeric
   reference too long for any code point becomes U+FFFD (``html.unescape`` would raise on one of
   more than 4300 digits), markup the parser could never complete is escaped before parsing (the
   stdlib parser rescans the rest of the text at each such ``<``, which is quadratic), and a parser
   error falls back to dropping tag-like runs.
2. Helpdesk boilerplate: Zendesk's "This email is a service from …" line, its encoded ticket ids
   (``[7KZ9YP-8L3R]``) and ``[Zendesk …]`` tags, "please consider the environment" lines, and
   confidentiality disclaimer paragraphs (a disclaimer opening, "confidential", and "intended
   recipient"/"privileged"/"notify the sender"/…).
3. The first quote header or signature marker cuts the text there: "On … wrote:" (and German,
   French, Spanish, Italian, Dutch, Portuguese, Scandinavian forms), "-----Original Message-----",
   an Outlook "From: … / Sent: …" block, Zendesk's "##- Please type your reply above this line -##",
   the ``--`` signature delimiter, "Sent from my iPhone", "Get Outlook for iOS". A marker with
   nothing of the customer's above it is not a cut: only its own lines go.
4. Lines starting with ``>`` (quoted text, also interleaved) go.
5. A sign-off ("Thanks,", "Best regards", "Cordialement", …) on its own line, followed only by up to
   four short name-like lines at the very end, goes.
6. Whitespace: runs of spaces collapse, at most one blank line, and the text is cut at a word
   boundary to ``max_chars`` (an ellipsis marks the cut).

The rules are conservative: when a line might be the customer's own words, it stays. Forwarded
messages ("---------- Forwarded message ----------") are kept without their marker and header
fields, since the forwarded text is often the problem being reported.
"""

from __future__ import annotations

import bisect
import html
import logging
import re
from html.parser import HTMLParser

__all__ = ["clean", "strip_html", "subject_text"]

log = logging.getLogger(__name__)

ELLIPSIS = "…"

# --- HTML --------------------------------------------------------------------------------------

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "xml"})
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "dl",
                        "section", "article", "header", "footer", "aside", "address", "figure", "form"})
_LINE = frozenset({"div", "br", "li", "tr", "hr", "dt", "dd", "center", "caption", "nav", "main"})
_CELL = frozenset({"td", "th"})
_TAG_NAMES = "|".join(sorted(_SKIP | _PARAGRAPH | _LINE | _CELL | {
    "html", "body", "span", "a", "b", "i", "u", "s", "em", "strong", "font", "img", "small", "sup", "sub", "code",
    "tbody", "thead", "meta", "link", "o:p", "wbr", "label", "big", "strike"}, key=len, reverse=True))
_HTML_HINT = re.compile(rf"<(?:!--|!doctype\b|/?(?:{_TAG_NAMES})(?:\s+[^<>=]*=[^<>]*)?\s*/?>)", re.I)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


class _TextExtractor(HTMLParser):
    """Collects text as lines of ``(quote depth, text)``; block tags end lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._line: list[str] = []
        self._empty = True  # the line so far is only whitespace (joining it at every piece is quadratic)
        self._depth = 0  # quote depth of the line being built
        self._skip = 0
        self._quote = 0
        self._pre = 0

    def _end_line(self, blank: bool = False) -> None:
        text = "".join(self._line).strip()
        if text:
            self.lines.append((self._depth, text))
        self._line = []
        self._empty = True
        if blank and self.lines and self.lines[-1][1]:
            self.lines.append((0, ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br" and self._empty:
            self.lines.append((0, ""))  # <div><br></div> is a blank line
        elif tag in _PARAGRAPH or tag in _LINE:
            self._end_line(blank=tag in _PARAGRAPH)
        elif tag in _CELL:
            self._line.append(" ")
        if tag == "blockquote":
            self._quote += 1
        elif tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _PARAGRAPH or (tag in _LINE and tag not in ("br", "hr")):
            self._end_line(blank=tag in _PARAGRAPH)
        if tag == "blockquote":
            self._quote = max(0, self._quote - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:  # <script/> opens nothing
            self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            first, *rest = data.split("\n")
            self._add(first)
            for piece in rest:
                self._end_line()
                self._add(piece)
        else:
            self._add(re.sub(r"\s+", " ", data))

    def _add(self, text: str) -> None:
        if self._empty:
            self._depth = self._quote
            self._empty = not text.strip()
        self._line.append(text)

    def text(self) -> str:
        self._end_line()
        return "\n".join(("> " * depth + line) if line else "" for depth, line in self.lines).strip()


# A numeric character reference, with its digits after any leading zeros.
_CHARREF = re.compile(r"&#(?:([xX])0*([0-9a-fA-F]*)|0*([0-9]*))(;?)")
_MAX_DIGITS = {"": 7, "x": 6}  # U+10FFFF is 1114111, 10FFFF: one digit more is never a code point
# What the stdlib parser (``html.parser``, ``_markupbase``) needs to find after "<!--" and after "<![name".
_UNCLOSABLE = (
    (re.compile(r"<!--"), re.compile(r"--\s*>"), 4),
    (re.compile(r"<!\[(?:temp|cdata|ignore|include|rcdata)(?![-_.a-zA-Z0-9])", re.I), re.compile(r"]\s*]\s*>"), 3),
    (re.compile(r"<!\[(?:if|else|endif)(?![-_.a-zA-Z0-9])", re.I), re.compile(r"]\s*>"), 3),
)
# Script and style content, which the parser reads as raw text up to the closing tag (after the rule on a
# trailing '<', every start tag left has a '>' after it, so this scans each character once).
_RAW_TEXT = re.compile(r"<(script|style)(?=[\s/>])[^>]*>.*?(?:</\s*\1\s*>|\Z)", re.I | re.S)
_TAG_LIKE = re.compile(r"<[^<>]*>")
#: Most characters the parser may leave unparsed after ``feed`` (an unfinished construct and what follows
#: it); ``close`` retries at each ``<`` in them and rescans to their end, so the rest is made text first.
MAX_UNFINISHED = 2000


def _bound_charref(m: re.Match[str]) -> str:
    if len(m.group(0)) <= 12:  # at most nine digits: leave it exactly as written
        return m.group(0)
    hexa = m.group(1) or ""
    digits = m.group(2) if hexa else m.group(3)
    if len(digits) > _MAX_DIGITS[hexa.lower()]:
        return "\ufffd"
    return f"&#{hexa}{digits or '0'}{m.group(4)}"


def bound_charrefs(raw: str) -> str:
    """``raw`` with every numeric character reference short enough to convert: one larger than any code
    point becomes U+FFFD (what ``html.unescape`` makes of it when it can convert it), leading zeros go.

    Examples
    --------
    >>> bound_charrefs("&#" + "1" * 5000 + "; &#x" + "0" * 40 + "41; &#65; &amp;")
    '\ufffd &#x41; &#65; &amp;'
    """
    return _CHARREF.sub(_bound_charref, raw) if "&#" in raw else raw


def _escape_unclosed(raw: str, opener: re.Pattern[str], closer: re.Pattern[str], skip: int) -> str:
    """Each ``opener`` with no ``closer`` starting ``skip`` characters after it or later, up to the next ``>``,
    as text: what the parser makes of it at the end of the input. Script and style content stays."""
    last = -1
    for last in (m.start() for m in closer.finditer(raw)):
        pass
    raw_text = [m.span() for m in _RAW_TEXT.finditer(raw)]
    out: list[str] = []
    done = 0
    for m in opener.finditer(raw):
        if m.start() < done or m.start() + skip <= last:
            continue
        inside = bisect.bisect_right(raw_text, (m.start(), len(raw))) - 1
        if inside >= 0 and m.start() < raw_text[inside][1]:
            continue
        end = raw.find(">", m.start() + 1) + 1 or len(raw)
        out += [raw[done:m.start()], raw[m.start():end].replace("<", "&lt;")]
        done = end
    return "".join(out) + raw[done:] if out else raw


def neutralise(raw: str) -> str:
    """``raw`` with the markup the parser could never complete escaped as text: every ``<`` after the last
    ``>``, and each comment or marked section with no closer after it (up to its next ``>``). The stdlib
    parser gives up on such markup only at the end of the input, then shows it as text, but it retries at
    each later ``<`` and rescans to the end each time: quadratic (a 20,000-character ticket of ``<b <b …``
    took seconds). Escaped, the same text comes out in one pass.

    Examples
    --------
    >>> neutralise("<p>a <b>b</b> c <d e")
    '<p>a <b>b</b> c &lt;d e'
    >>> neutralise("<!-- x --> <p>y</p> <!-- z <p>w</p>")
    '<!-- x --> <p>y</p> &lt;!-- z &lt;p>w</p>'
    """
    end = raw.rfind(">")
    if "<" in raw[end + 1:]:
        raw = raw[:end + 1] + raw[end + 1:].replace("<", "&lt;")
    for opener, closer, skip in _UNCLOSABLE:
        if opener.search(raw):
            raw = _escape_unclosed(raw, opener, closer, skip)
    return raw


def _plain(raw: str) -> str:
    """The fallback when the parser fails: tag-like runs dropped, ``&name;`` entities unescaped."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), _TAG_LIKE.sub(" ", raw))


def strip_html(raw: str) -> str:
    """Text of an HTML fragment: blocks on their own lines, quoted blocks prefixed with ``>``.

    The parser is fed ``neutralise(bound_charrefs(raw))``. Should it still stop at an unfinished construct
    with more than ``MAX_UNFINISHED`` characters after it, the rest is text; should it raise, the result is
    ``raw`` with tag-like runs dropped.

    Examples
    --------
    >>> strip_html("<p>Hello&nbsp;there</p><script>x()</script><div>Second &amp; last<br>line</div>")
    'Hello there\\n\\nSecond & last\\nline'
    >>> strip_html("<div>Mine</div><blockquote><p>Theirs</p></blockquote>")
    'Mine\\n\\n> Theirs'
    >>> strip_html("<p>Invoice &#" + "1" * 5000 + "</p>")
    'Invoice \ufffd'
    """
    parser = _TextExtractor()
    try:
        parser.feed(neutralise(bound_charrefs(raw)))
        if len(parser.rawdata) > MAX_UNFINISHED:  # stuck on markup neutralise does not model (quoted '>')
            rest, parser.rawdata = parser.rawdata, ""
            parser.feed(rest.replace("<", "&lt;"))
        parser.close()
    except Exception as exc:  # noqa: BLE001 (the stdlib parser raises AssertionError on some declarations)
        log.warning("HTML parser failed on a ticket text (%s); dropping tag-like runs instead", type(exc).__name__)
        return _plain(bound_charrefs(raw)).strip()
    return parser.text()


# --- Plain-text rules --------------------------------------------------------------------------

_SPACES = str.maketrans({"\xa0": " ", "\u2007": " ", "\u202f": " ", "\u3000": " ", "\t": " ", "\f": "\n",
                         "\v": "\n", "\u2028": "\n", "\u2029": "\n", "\u200b": None, "\u200c": None,
                         "\u200d": None, "\u2060": None, "\ufeff": None, "\xad": None})
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

# Zendesk's encoded ticket id in notification mails ("[7KZ9YP-8L3R]"), and "[Zendesk ticket …]" tags.
_ZENDESK_TAG = re.compile(
    r"\[(?=[A-Z]*\d)[A-Z0-9]{5,8}-(?=[A-Z]*\d)[A-Z0-9]{4,6}\]|\[(?i:zendesk)[^\]\n]{0,80}\]")
_BOILERPLATE_LINE = re.compile(
    r"^(?:this e-?mail is a service from\b.*|delivered by zendesk\.?|"
    r"please consider the environment before printing.*|"
    r"please do not reply to this (?:e-?mail|message).*)$", re.I)
_DISCLAIMER_START = re.compile(
    r"^\W*(?:confidentiality notice|disclaimer|important notice|legal notice|"
    r"this (?:e-?mail|message|communication|transmission)|the (?:information|contents?) (?:contained )?in this|"
    r"diese (?:e-?mail|nachricht)|ce (?:message|courriel|mail)|este (?:correo|mensaje)|questo messaggio)", re.I)
_DISCLAIMER_WORDS = re.compile(r"confidential|vertraulich|confidentiel|confidencial|riservat", re.I)
_DISCLAIMER_MORE = re.compile(
    r"intended (?:solely|only|exclusively|for|recipient)|privileged|notify the sender|unauthori[sz]ed|"
    r"prohibited|strictly|empfänger|destinataire|destinatario|delete (?:it|this)", re.I)

_REPLY_HEADER = re.compile(
    r"^(?:on\b.{4,250}\bwrote|am\b.{4,250}\bschrieb\b.{0,150}|le\b.{4,250}\ba écrit|el\b.{4,250}\bescribió|"
    r"il\b.{4,250}\bha scritto|op\b.{4,250}\bschreef\b.{0,150}|em\b.{4,250}\bescreveu|"
    r"den\b.{4,250}\bskrev\b.{0,150})\s?:$", re.I)
_AUTHOR_WROTE = re.compile(r"^.{0,150}@.{1,150}\b(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef)\s?:$", re.I)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"messaggio originale|oorspronkelijk bericht|mensagem original|originalmeddelande)\s*-{2,}$", re.I)
_FROM = re.compile(r"^\**(?:from|von|de|da|van|från|fra|od)\s?:\**\s*\S", re.I)
_SENT = re.compile(r"^\**(?:sent|date|gesendet|datum|envoyé|enviado|fecha|inviato|data|verzonden|skickat|sendt)"
                   r"\s?:\**\s*\S", re.I)
_MARKER = re.compile(
    r"^(?:--|##-.{0,120}-##|sent from my \S.{0,40}|sent from (?:mail|outlook|yahoo mail)\b.{0,40}|"
    r"get outlook for (?:ios|android)|von meinem \S.{0,40} gesendet|envoyé de mon \S.{0,40}|"
    r"enviado desde mi \S.{0,40}|inviato da(?:l mio)? \S.{0,40}|verzonden (?:vanaf|met) (?:mijn )?\S.{0,40})$", re.I)
_FORWARD = re.compile(
    r"^(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|"
    r"messaggio inoltrato|doorgestuurd bericht)\s*-{2,}|begin forwarded message\s?:)$", re.I)
_HEADER_FIELD = re.compile(r"^\**(?:from|von|de|da|van|date|datum|sent|gesendet|envoyé|enviado|fecha|subject|"
                           r"betreff|objet|asunto|oggetto|to|an|à|para|a|cc|reply-to)\s?:", re.I)
_RULE = re.compile(r"^[_\-=*]{8,}$")
_QUOTED = re.compile(r"^\s*>")
_DIGIT = re.compile(r"\d")

_SIGN_OFF = re.compile(
    r"^(?:thanks|thank you|thanks again|thanks in advance|thank you in advance|thanks for (?:your|the) help|"
    r"thank you for your help|many thanks|thx|ty|cheers|regards|best|best regards|kind regards|warm regards|"
    r"warmest regards|all the best|best wishes|sincerely|yours sincerely|yours truly|respectfully|br|"
    r"mit freundlichen grü(?:ß|ss)en|mfg|viele grü(?:ß|ss)e|beste grü(?:ß|ss)e|liebe grü(?:ß|ss)e|grü(?:ß|ss)e|"
    r"danke|vielen dank|cordialement|bien cordialement|merci|merci d'avance|bien à vous|saludos|un saludo|"
    r"atentamente|gracias|cordiali saluti|saluti|grazie|met vriendelijke groet(?:en)?|groeten|obrigad[oa]|"
    r"atenciosamente)\s*[,.!]*$", re.I)

_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|rv|ref|réf)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*|"
    r"\[(?:(?:ticket|request|case)\s*)?#\s*\d+\]\s*|\[(?:ticket|request|case)\s*#?\s*\d+\]\s*)+", re.I)


def _drop_disclaimers(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j]:
            j += 1
        paragraph = " ".join(lines[i:j])
        if not (j > i and _DISCLAIMER_START.match(paragraph) and _DISCLAIMER_WORDS.search(paragraph)
                and _DISCLAIMER_MORE.search(paragraph)):
            out.extend(lines[i:j])
        if j < len(lines):
            out.append("")
        i = j + 1
    return out


def _marker_span(lines: list[str], i: int) -> int:
    """How many lines from ``lines[i]`` on form a quote header or signature marker (0: none)."""
    line = lines[i]
    if _MARKER.match(line) or _ORIGINAL_MESSAGE.match(line):
        return 1
    if _FROM.match(line):
        for k in range(i + 1, min(i + 4, len(lines))):
            if _SENT.match(lines[k]):
                return k - i + 1
    if _AUTHOR_WROTE.match(line):
        return 1
    if len(line) > 300 or line.endswith((".", "!", "?")):
        return 0
    for n in (1, 2, 3):  # mail clients wrap long "On … wrote:" lines
        if i + n > len(lines) or (n > 1 and not lines[i + n - 1]):
            break
        joined = " ".join(lines[i:i + n])
        if _REPLY_HEADER.match(joined) and (_DIGIT.search(joined) or "@" in joined):
            return n
    return 0


def _cut(lines: list[str]) -> list[str]:
    kept: list[str] = []
    i = 0
    while i < len(lines):
        if _FORWARD.match(lines[i]):  # keep forwarded text, drop its marker and header fields
            i += 1
            while i < len(lines) and (not lines[i] or _HEADER_FIELD.match(lines[i])):
                i += 1
            continue
        span = _marker_span(lines, i)
        if not span:
            kept.append(lines[i])
            i += 1
        elif any(line and not _QUOTED.match(line) and not _RULE.match(line) for line in kept):
            break
        else:  # nothing of the customer's above: drop only the marker
            i += span
    while kept and (not kept[-1] or _RULE.match(kept[-1])):
        kept.pop()
    return kept


def _name_like(line: str) -> bool:
    """A short line that reads like a name, a role or a company, not like a sentence."""
    words = line.split()
    lower = sum(word[0].islower() for word in words)
    return (len(line) <= 60 and len(words) <= 6 and not line[0].islower() and line[-1] not in "?!:;,"
            and lower <= (0 if line.endswith(".") else 1))


def _drop_sign_off(lines: list[str]) -> list[str]:
    """Drop a sign-off line followed by at most four name-like lines, if something comes before it."""
    after = 0
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i]:
            continue
        if _SIGN_OFF.match(lines[i]):
            tail = [line for line in lines[i + 1:] if line]
            return lines[:i] if all(_name_like(line) for line in tail) and any(lines[:i]) else lines
        after += 1
        if after > 4:
            break
    return lines


def _truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    head = text[:max_chars - len(ELLIPSIS)]
    cut = max(head.rfind(" "), head.rfind("\n"))
    if not text[len(head)].isspace() and cut > 0:
        head = head[:cut]
    return head.rstrip() + ELLIPSIS


def clean(raw: str, max_chars: int = 5000) -> str:
    """What the customer wrote, as plain text of at most ``max_chars`` characters.

    Parameters
    ----------
    raw
        The comment body, HTML or plain text.
    max_chars
        Longest result; a longer text is cut at a word boundary and ends with ``…``.

    Examples
    --------
    >>> clean("<p>The export fails.</p><p>On Mon, Jan 5, 2026 at 9:00 AM Support &lt;help@acme.com&gt; wrote:</p>"
    ...       "<blockquote>Old text</blockquote>")
    'The export fails.'
    >>> clean("Invoice is   blank.\\n\\n\\nThanks,\\nAna\\n\\nSent from my iPhone")
    'Invoice is blank.'
    >>> clean("one two three four", max_chars=12)
    'one two…'
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    if not raw:
        return ""
    if _HTML_HINT.search(raw):
        text = strip_html(raw)
    else:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_SPACES)
    text = _ZENDESK_TAG.sub("", _CONTROL.sub("", text))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if not _BOILERPLATE_LINE.match(line)]
    lines = _drop_disclaimers(lines)
    lines = _cut(lines)
    lines = [line for line in lines if not _QUOTED.match(line)]
    lines = _drop_sign_off(lines)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return _truncate(text, max_chars)


def subject_text(subject: str | None) -> str:
    """A subject without reply/forward prefixes ("Re:", "Fwd:", "AW:", …) and ticket tags.

    Examples
    --------
    >>> subject_text("RE: Fwd: [Ticket #123] Invoice PDF  blank")
    'Invoice PDF blank'
    >>> subject_text(None)
    ''
    """
    if not subject:
        return ""
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), subject)
    return " ".join(_SUBJECT_PREFIX.sub("", text).split())
