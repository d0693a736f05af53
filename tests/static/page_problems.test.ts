// page.js's sentences for what went wrong sending to Slack or to a webhook (GS.problem), which the alerts section
// (a test's answer, a webhook's last delivery) and the incidents page's notification list share; loaded as the
// pages load the plain script.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

interface PageHelpers {
  problem(error: string | null | undefined, to: "slack" | "webhook" | "pagerduty", status?: number | null,
          mode?: string): string;
}

let GS: PageHelpers;

beforeAll(() => {
  const page = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static", "page.js");
  new Function(readFileSync(page, "utf8"))();
  GS = (window as unknown as { GS: PageHelpers }).GS;
});

describe("GS.problem for a webhook", () => {
  it("says what the receiver answered, and that the server gave up or did not retry", () => {
    expect(GS.problem("gave up after 8 attempts: http_503", "webhook", 503))
      .toBe("the receiver answered HTTP 503; gave up after 8 attempts");
    expect(GS.problem("not retried: bad_url", "webhook")).toBe("its URL is not one Groundswell can call; not retried");
    expect(GS.problem("http_503", "webhook", 503)).toBe("the receiver answered HTTP 503");
  });

  it("names PagerDuty, and its refusal of an event as a key to check", () => {
    expect(GS.problem("timeout", "pagerduty")).toBe("PagerDuty did not answer in time");
    expect(GS.problem("gave up after 3 attempts: http_400", "pagerduty", 400))
      .toBe("PagerDuty refused the event (HTTP 400): check the integration key; gave up after 3 attempts");
    expect(GS.problem("http_400", "webhook", 400)).toBe("the receiver answered HTTP 400");
  });

  it("gives a redirect's status and says it is not followed", () => {
    expect(GS.problem("not retried: redirect_not_followed", "webhook", 301))
      .toBe("the receiver answered with a redirect (HTTP 301), which is not followed: give its final address; not retried");
    expect(GS.problem("connection_error", "webhook")).toBe("could not reach the receiver (connection failed)");
  });

  it("words a code it does not know, or none", () => {
    expect(GS.problem("tls_handshake_failed", "webhook")).toBe("the connection failed (tls handshake failed)");
    expect(GS.problem(null, "webhook")).toBe("the connection failed (no reason given)");
  });
});

describe("GS.problem for Slack", () => {
  it("says Slack's error words and the client's own codes as a person would", () => {
    expect(GS.problem("connection_error_ConnectError", "slack")).toBe("could not reach Slack (connection failed)");
    expect(GS.problem("channel_not_found", "slack"))
      .toBe("Slack cannot find the channel: check its name, and that the bot may see it");
    expect(GS.problem("gave up after 8 attempts: http_503", "slack"))
      .toBe("Slack had a problem (HTTP 503): try again later; gave up after 8 attempts");
    expect(GS.problem("http_404", "slack")).toBe("Slack does not know this address (HTTP 404): it was removed or mistyped");
    expect(GS.problem("http_418", "slack")).toBe("Slack answered HTTP 418");
    expect(GS.problem("not retried: msg_too_long", "slack")).toBe("Slack refused the message (msg too long); not retried");
  });

  it("names the credential Slack refused by the setting's mode, both when the mode is not known", () => {
    expect(GS.problem("invalid_token", "slack", null, "webhook"))
      .toBe("Slack refused the incoming webhook URL (revoked or mistyped)");
    expect(GS.problem("invalid_token", "slack", null, "web_api")).toBe("Slack refused the bot token (revoked or mistyped)");
    expect(GS.problem("invalid_token", "slack"))
      .toBe("Slack refused the incoming webhook URL or bot token (revoked or mistyped)");
  });

  it("takes no inherited property for an answer", () => {
    expect(GS.problem("constructor", "slack")).toBe("Slack refused the message (constructor)");
  });
});
