// The incidents page's open incident in words (server/static/incidents.js): a small expectation above nothing reads
// "under 0.01", as the friction sentence says it, never "0" or a power of ten (a small p-value keeps its power of
// ten); a mute is said as its button said it, and one ended elsewhere on the page (the Muted list under "Where
// alerts go", alerts.js) makes the incident read itself again.
import { expect, it } from "vitest";
import { open, settle } from "./harness";

function incident(expected: number, p: number): Record<string, unknown> {
  return {
    id: 1, kind: "spike", status: "open", status_by: "detector", status_changed_at: "2026-03-02T10:00:00Z",
    title: "Spike 1", sentence: "More tickets than usual.", series: "topic:1",
    first_seen_at: "2026-03-02T09:00:00Z", detected_at: "2026-03-02T09:30:00Z", p_value: p, surprise: 3.7,
    ticket_count: 3, requester_count: 3, account_count: 1, ticket_ids: [], feedback: [],
    evidence: { observed: 3, expected, lower: 0, upper: 1 }, useful_count: 0, noise_count: 0, volume: [], related: [],
  };
}

async function detail(expected: number, p: number): Promise<string> {
  history.replaceState(null, "", location.pathname);
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [incident(expected, p)], total: 1 });
  await settle();
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.one("GET /api/v1/incidents/1").answer(incident(expected, p));
  await settle();
  return document.getElementById("incident-detail")!.textContent!;
}

it("says a small expectation above nothing as under 0.01, and keeps a small p-value's power of ten", async () => {
  for (const expected of [0.003, 0.0004]) {
    const text = await detail(expected, 0.0002);
    expect(text).toContain("Expectedunder 0.01");
    expect(text).not.toMatch(/Expected0[^.]/);
    expect(text).toContain("p-value 2.00e-4");
  }
  const text = await detail(0.04, 0.004);
  expect(text).toContain("Expected0.04");
  expect(text).toContain("p-value under 0.01");
});

it("reads the open incident again when a mute ends elsewhere on the page", async () => {
  history.replaceState(null, "", location.pathname);
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  const muted = { ...incident(0.5, 0.01), mute: { id: 4, scope: "incident", until: "2026-12-05T02:15:00Z", by: "Dana" } };
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [muted], total: 1 });
  await settle();
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.one("GET /api/v1/incidents/1").answer(muted);
  await settle();
  expect(document.getElementById("incident-detail")!.textContent).toContain("Notifications muted for this incident");
  document.dispatchEvent(new Event("gs-mutes-changed"));  // alerts.js, after End in the Muted list
  page.one("GET /api/v1/incidents/1").answer(incident(0.5, 0.01));
  await settle();
  expect(document.getElementById("incident-detail")!.textContent).not.toContain("Notifications muted");
});

it("says a muted series in the words of the button that muted it, not by its key", async () => {
  history.replaceState(null, "", location.pathname);
  const page = open("incidents", ["page.js", "chart.js", "incidents.js"]);
  const muted = { ...incident(0.5, 0.01), series: "topic:5",
                  mute: { id: 4, scope: "series", series: "topic:5", until: "2026-12-05T02:15:00Z", by: "Dana" } };
  page.one("GET /api/v1/incidents?limit=100").answer({ incidents: [muted], total: 1 });
  await settle();
  (document.querySelector('.incident-item[data-id="1"]') as HTMLButtonElement).click();
  page.one("GET /api/v1/incidents/1").answer(muted);
  await settle();
  const line = document.querySelector("#incident-detail .muted-line")!.textContent!;
  expect(line).toMatch(/^Notifications muted for everything on this topic until /);
  expect(line).not.toContain("topic:5");
});
