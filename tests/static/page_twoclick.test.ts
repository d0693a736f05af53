// GS.twoClick (server/static/page.js): the button the known issues, the webhooks and the mutes are removed with,
// which acts on its second click only.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";

interface PageHelpers {
  twoClick(label: string, confirmLabel: string, action: () => Promise<unknown>, failed: (err: Error) => void,
           extra?: { ready?: () => boolean }): HTMLButtonElement;
}

let GS: PageHelpers;

beforeAll(() => {
  const page = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "server", "static", "page.js");
  new Function(readFileSync(page, "utf8"))();
  GS = (window as unknown as { GS: PageHelpers }).GS;
});

function settle(): Promise<void> { return new Promise((done) => setTimeout(done, 0)); }

describe("GS.twoClick", () => {
  it("arms on the first click and acts on the second, off while the action runs", async () => {
    const action = vi.fn(() => Promise.resolve());
    const b = GS.twoClick("Remove", "Remove? Click again", action, vi.fn());
    expect(b.tagName).toBe("BUTTON");
    expect(b.type).toBe("button");
    expect(b.className).toBe("secondary");
    expect(b.textContent).toBe("Remove");
    b.click();
    expect(action).not.toHaveBeenCalled();
    expect(b.textContent).toBe("Remove? Click again");
    expect(b.dataset.armed).toBe("1");
    b.click();
    expect(action).toHaveBeenCalledTimes(1);
    expect(b.disabled).toBe(true);
    await settle();
    expect(b.disabled).toBe(true);  // the caller draws its list again
  });

  it("is on again when the action fails, says why, and stays armed", async () => {
    const refused = new Error("Not found");
    const failed = vi.fn();
    const action = vi.fn(() => Promise.reject(refused));
    const b = GS.twoClick("End", "End now? Click again", action, failed);
    b.click();
    b.click();
    await settle();
    expect(failed).toHaveBeenCalledWith(refused);
    expect(b.disabled).toBe(false);
    expect(b.textContent).toBe("End now? Click again");
    b.click();
    expect(action).toHaveBeenCalledTimes(2);
  });

  it("ignores clicks while ready() says to wait", () => {
    let ready = false;
    const action = vi.fn(() => Promise.resolve());
    const b = GS.twoClick("Remove", "Remove? Click again", action, vi.fn(), { ready: () => ready });
    b.click();
    b.click();
    expect(b.textContent).toBe("Remove");
    expect(action).not.toHaveBeenCalled();
    ready = true;
    b.click();
    b.click();
    expect(action).toHaveBeenCalledTimes(1);
  });
});
