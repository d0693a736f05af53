/**
 * PII scrubbing of free text (error messages, titles) and URLs. Written here rather than taken from a
 * library: the patterns are a few lines and a scrubbing dependency would cost more bytes than the
 * whole core budget allows.
 */

const EMAIL = /[\w.+-]+@[\w-]+\.[\w.-]+/g;
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;
const BEARER = /\b(bearer|token|key|secret|password|pwd|auth)([=: ]+)[^\s&"',;]+/gi;
const LONG_HEX = /\b(?=[0-9a-f]*[a-f])[0-9a-f]{16,}\b/gi;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
/** Runs of 7 or more digits, optionally split by spaces, dots or dashes: cards, phones, account numbers. */
const NUMBER_RUN = /\+?\d(?:[ .-]?\d){6,}/g;
const TOKENISH = /\b(?=[A-Za-z0-9_-]{24,}\b)(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[A-Za-z0-9_-]+/g;

/** The first `n` UTF-16 units of `s`, or one fewer where the cut would split a surrogate pair: half an emoji
 * is not text, and the server would have to replace it. */
export function cut(s: string, n: number): string {
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c > 0xd7ff && c < 0xdc00 ? n - 1 : n);
}

export function scrubText(text: string, max = 500): string {
  const out = cut(String(text), max * 2)
    .replace(JWT, "[token]")
    .replace(BEARER, "$1$2[redacted]")
    .replace(EMAIL, "[email]")
    .replace(UUID, "[id]")
    .replace(LONG_HEX, "[id]")
    .replace(TOKENISH, "[token]")
    .replace(NUMBER_RUN, "[number]");
  return cut(out, max);
}

const ID_SEGMENT = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,}|[A-Za-z0-9_-]{24,})$/i;

/** A path with ids (numbers, UUIDs, long hex, long tokens) replaced by ":id" and emails removed. */
export function scrubPath(path: string): string {
  const out = path
    .split("/")
    .map((seg) => {
      let s = seg;
      try {
        s = decodeURIComponent(seg);
      } catch {
        /* keep the raw segment */
      }
      if (ID_SEGMENT.test(s) || /\d{5,}/.test(s) || s.indexOf("@") >= 0) return ":id";
      return seg.slice(0, 80);
    })
    .join("/");
  return out.slice(0, 400) || "/";
}

/** origin + scrubbed path; query string and fragment are dropped (they carry tokens and search text). */
export function scrubUrl(url: string, base?: string): string {
  try {
    const u = new URL(url, base);
    if (u.protocol !== "http:" && u.protocol !== "https:") return "";
    return u.origin + scrubPath(u.pathname);
  } catch {
    return "";
  }
}
