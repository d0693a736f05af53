// GS.goToSection (server/static/page.js): a link to a section of the page, such as the incident detail's "Where
// alerts go", goes there even when it is clicked before the section's first answer has shown it.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

interface PageHelpers { goToSection(id: string): void }

let GS: PageHelpers;

beforeAll(() => {
  const page = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static", "page.js");
  new Function(readFileSync(page, "utf8"))();
  GS = (window as unknown as { GS: PageHelpers }).GS;
  // jsdom lays nothing out, so it has no scrolling to do.
  Element.prototype.scrollIntoView = function () { /* nothing to scroll in jsdom */ };
});

beforeEach(() => {
  document.body.innerHTML =
    '<div id="wrap"><section id="alerts" hidden><h2>Where alerts go</h2></section></div>' +
    '<section id="mutes" hidden><h2>Muted</h2></section>' +
    '<section id="list"><h2>Incidents</h2><button id="b">x</button></section>';
  (document.getElementById("b") as HTMLButtonElement).focus();
});

function heading(id: string): Element | null { return document.querySelector("#" + id + " h2"); }
// The observer's records arrive in a microtask; the section is gone to after its first drawing (a zero timer).
function settle(): Promise<void> { return new Promise((done) => setTimeout(done, 5)); }

describe("GS.goToSection", () => {
  it("gives the keyboard to a shown section's heading at once", () => {
    GS.goToSection("list");
    expect(document.activeElement).toBe(heading("list"));
  });

  it("goes to a hidden section when it appears", async () => {
    GS.goToSection("alerts");
    expect(document.activeElement?.id).toBe("b");
    await settle();
    (document.getElementById("alerts") as HTMLElement).hidden = false;
    await settle();
    expect(document.activeElement).toBe(heading("alerts"));
  });

  it("waits for a hidden container too", async () => {
    (document.getElementById("alerts") as HTMLElement).hidden = false;
    (document.getElementById("wrap") as HTMLElement).hidden = true;
    GS.goToSection("alerts");
    await settle();
    expect(document.activeElement?.id).toBe("b");
    (document.getElementById("wrap") as HTMLElement).hidden = false;
    await settle();
    expect(document.activeElement).toBe(heading("alerts"));
  });

  it("stays put when the person has moved on before the section appears", async () => {
    GS.goToSection("alerts");
    window.dispatchEvent(new Event("wheel"));
    (document.getElementById("alerts") as HTMLElement).hidden = false;
    await settle();
    expect(document.activeElement?.id).toBe("b");
  });

  it("goes only to the section asked for last", async () => {
    GS.goToSection("alerts");
    GS.goToSection("mutes");
    (document.getElementById("alerts") as HTMLElement).hidden = false;
    await settle();
    expect(document.activeElement?.id).toBe("b");
    (document.getElementById("mutes") as HTMLElement).hidden = false;
    await settle();
    expect(document.activeElement).toBe(heading("mutes"));
  });
});
