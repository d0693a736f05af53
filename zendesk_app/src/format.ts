// Dates and numbers in the agent's locale and time zone (from Zendesk's currentUser).
import { t } from "./i18n";

export interface Formatter {
  time(iso: string | null): string;
  ago(iso: string | null): string;
  /** A recent moment by its clock ("14:02" in the locale's form); one more than a day old also by its date. */
  clock(iso: string | null): string;
  number(n: number): string;
  /** An incident's sentence with its clocks ("first seen 23:04 UTC", "in the hour from 14:00 UTC": the
   * detector writes them in UTC) in the agent's time zone, like every other time the app shows; each is
   * the moment with that clock nearest the incident's first-seen time. */
  sentence(text: string, firstSeen: string | null): string;
}

function validZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

function validLocale(locale: string | undefined): string | undefined {
  if (!locale) return undefined;
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([locale]).length ? locale : undefined;
  } catch {
    return undefined;
  }
}

// What comes before a clock is matched (and kept), not looked behind at: Safari before 16.4 has no lookbehind.
const CLOCK = /(^|[^A-Za-z0-9_:])([01][0-9]|2[0-3]):([0-5][0-9]) UTC\b/g;
const DAY = 86_400_000;

/** `text` with each of its "HH:MM UTC" clocks replaced by `show(at)`, `at` (ms since the epoch) being the moment
 * with that clock nearest the first-seen time; `text` as it is without a readable first-seen time. Slack messages
 * and the incidents page read clocks by the same rule, checked against the same cases
 * (tests/fixtures/utc_clock_cases.json). */
export function replaceClocks(text: string, firstSeen: string | null, show: (at: number) => string): string {
  const first = firstSeen ? Date.parse(firstSeen) : NaN;
  if (Number.isNaN(first)) return text;
  return text.replace(CLOCK, (_m, before: string, h: string, m: string) => {
    const day = new Date(first);
    day.setUTCHours(Number(h), Number(m), 0, 0);
    const near = [-1, 0, 1].map((k) => day.getTime() + k * DAY)
      .sort((a, b) => Math.abs(a - first) - Math.abs(b - first))[0];
    return before + show(near);
  });
}

/** A span in words: "40 minutes", "3 hours", "2 days". */
export function duration(minutes: number): string {
  if (minutes < 60) return t("sidebar.ago.minutes", { count: minutes });
  const hours = Math.round(minutes / 60);
  return hours < 48 ? t("sidebar.ago.hours", { count: hours }) : t("sidebar.ago.days", { count: Math.round(hours / 24) });
}

/** `now` is injectable so that "3 h ago" is testable. */
export function createFormatter(locale?: string, timeZone?: string, now: () => number = Date.now): Formatter {
  const loc = validLocale(locale);
  const zone = validZone(timeZone);
  const dates = new Intl.DateTimeFormat(loc, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
                                               timeZone: zone });
  const clock = new Intl.DateTimeFormat(loc, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  const numbers = new Intl.NumberFormat(loc, { maximumFractionDigits: 1 });
  return {
    time(iso) {
      const ms = iso ? Date.parse(iso) : NaN;
      return Number.isNaN(ms) ? "" : dates.format(ms);
    },
    ago(iso) {
      const ms = iso ? Date.parse(iso) : NaN;
      if (Number.isNaN(ms)) return "";
      return duration(Math.max(0, Math.round((now() - ms) / 60_000)));
    },
    clock(iso) {
      const ms = iso ? Date.parse(iso) : NaN;
      if (Number.isNaN(ms)) return "";
      return Math.abs(now() - ms) < DAY ? clock.format(ms) : dates.format(ms);
    },
    number: (n) => numbers.format(n),
    sentence: (text, firstSeen) => replaceClocks(text, firstSeen, (at) => clock.format(at)),
  };
}
