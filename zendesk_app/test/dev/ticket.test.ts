import { describe, expect, it } from "vitest";
import { changeEvents, follow, parseTicket, ticketMeta, unknownTicket, type HostTicket } from "../../dev/ticket";

const question: HostTicket = { id: 100, subject: "Invoice PDF is blank", status: "new", type: "question",
                               problemId: null };

describe("the fake workspace's open ticket", () => {
  it("reads the agent page's answer, ids as strings, and refuses what is not a ticket", () => {
    expect(parseTicket({ ticket: { id: "100", subject: "Invoice PDF is blank", status: "open", type: "incident",
                                   problem_id: "9000001", source: "zendesk" } }))
      .toEqual({ ...question, status: "open", type: "incident", problemId: 9000001 });
    expect(parseTicket({ ticket: { id: "100", subject: null, status: null, type: null, problem_id: null } }))
      .toEqual(unknownTicket(100));
    for (const body of [null, {}, { ticket: null }, { ticket: { id: "1e3" } }, { ticket: { id: "" } }]) {
      expect(parseTicket(body)).toBeNull();
    }
  });

  it("shows the status and type as Zendesk's fields do, and an incident's linked problem", () => {
    expect(ticketMeta(question)).toBe("Status: new · Type: question");
    expect(ticketMeta({ ...question, type: "incident", problemId: 9000001 }))
      .toBe("Status: new · Type: incident · Linked problem: #9000001");
    // Nothing made up for a ticket Zendesk has not described (it used to say "question").
    expect(ticketMeta(unknownTicket(7))).toBe("Status: - · Type: -");
  });

  it("takes Zendesk's copy on the first read, without telling the apps of a change", () => {
    const listed = { ...question, status: "", type: "" };
    expect(follow(listed, null, question)).toEqual({ ticket: question, changed: [] });
  });

  it("after the sidebar's link, shows the incident and its problem and tells the apps", () => {
    // The agent had submitted the ticket as Open on the page; the backend then linked it in Zendesk.
    const shown = { ...question, status: "open" };
    const linked = { ...question, type: "incident", problemId: 9000001 };
    const { ticket, changed } = follow(shown, question, linked);
    expect(ticket).toEqual({ ...question, status: "open", type: "incident", problemId: 9000001 });
    expect(changed).toEqual(["type", "problemId"]);
    expect(ticketMeta(ticket)).toBe("Status: open · Type: incident · Linked problem: #9000001");
    expect(changeEvents(ticket, changed)).toEqual([
      ["ticket.type.changed", "incident"],
      ["ticket.updated", { id: 100, subject: "Invoice PDF is blank", status: "open", type: "incident" }],
    ]);
  });

  it("reads of an unchanged ticket change nothing and send nothing", () => {
    const shown = { ...question, status: "open" };
    expect(follow(shown, question, question)).toEqual({ ticket: shown, changed: [] });
    expect(changeEvents(shown, [])).toEqual([]);
  });
});
