import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { toTurnEvent } from "../src/api/events";
import { SSEParser, type SSEMessage } from "../src/api/sse";
import type { Message, TurnEvent } from "../src/api/types";
import {
  addMessages,
  applyTurnEvent,
  buildTimeline,
  emptyConversation,
  humanizeAgent,
  turnFailureText,
  isQuestion,
  quoteForReply,
  type ConversationState,
} from "../src/lib/conversation";

function eventsOf(file: string): TurnEvent[] {
  const out: SSEMessage[] = [];
  const p = new SSEParser({ onEvent: (m) => out.push(m) });
  p.push(readFileSync(path.join(__dirname, "fixtures", file), "utf8"));
  return out.map(toTurnEvent).filter((e): e is TurnEvent => e !== null);
}

function run(events: TurnEvent[], source: string, state: ConversationState = emptyConversation()) {
  return events.reduce((s, e) => applyTurnEvent(s, e, source), state);
}

describe("a turn's events", () => {
  const events = eventsOf("turn.sse");

  it("build the reply token by token and record the agents", () => {
    const firstDelta = events.findIndex((e) => e.type === "reply.delta");
    const partial = run(events.slice(0, firstDelta + 3), "turn");
    const turnId = (events[0] as { data: { turn_id: string } }).data.turn_id;
    const t1 = partial.turns[turnId];
    expect(t1?.status).toBe("running");
    expect(t1?.replyText.length).toBeGreaterThan(0);
    const done = run(events, "turn");
    const t = done.turns[turnId];
    expect(t?.status).toBe("done");
    expect(t?.intent).toBe("deciding");
    expect(t?.replyText.startsWith("Thinking about")).toBe(true);
    expect(t?.agents.map((a) => a.agent).sort()).toEqual(
      ["consistency_guardian", "context_manager", "conversation", "quality_auditor", "recorder"].sort(),
    );
    expect(t?.agents.every((a) => a.status === "ok" && a.latency_ms !== undefined)).toBe(true);
    expect(t?.userMessageId).not.toBeNull();
  });

  it("from two streams at once do not double the reply", () => {
    let s = emptyConversation();
    for (const e of events) {
      s = applyTurnEvent(s, e, "turn");
      s = applyTurnEvent(s, e, "live");
    }
    const single = run(events, "turn");
    const id = Object.keys(single.turns)[0] as string;
    expect(s.turns[id]?.replyText).toBe(single.turns[id]?.replyText);
  });

  it("joined mid-turn (deltas missed) end with the whole reply from reply.done", () => {
    const firstDelta = events.findIndex((e) => e.type === "reply.delta");
    const s = run(events.slice(firstDelta + 5), "live");
    const done = events.find((e) => e.type === "reply.done");
    const id = Object.keys(s.turns)[0] as string;
    expect(s.turns[id]?.replyText).toBe(done?.type === "reply.done" ? done.data.text : "");
  });

  it("turn questions into messages shown as prompts", () => {
    const s = run(eventsOf("turn-questions.sse"), "turn");
    const questions = Object.values(s.messages).filter(isQuestion);
    expect(questions.length).toBeGreaterThan(0);
    const block = buildTimeline(s)[0];
    expect(block?.questions.map((q) => q.agent)).toContain("questioner");
    expect(block?.user?.role).toBe("user");
    expect(block?.streamingText).not.toBeNull();
  });
});

describe("the timeline", () => {
  const m = (over: Partial<Message>): Message => ({
    id: "m",
    project_id: "p",
    role: "assistant",
    agent: "conversation",
    content: "",
    turn_id: "t1",
    created_at: "2026-01-01T00:00:00Z",
    ...over,
  });

  it("groups a turn's messages and orders turns oldest first", () => {
    const s = addMessages(emptyConversation(), [
      m({ id: "q2", agent: "gap_detector", turn_id: "t2", created_at: "2026-01-01T00:02:00Z" }),
      m({ id: "r2", turn_id: "t2", created_at: "2026-01-01T00:02:00Z" }),
      m({ id: "u2", role: "user", agent: null, turn_id: "t2", created_at: "2026-01-01T00:01:30Z" }),
      m({ id: "r1", turn_id: "t1", created_at: "2026-01-01T00:00:10Z" }),
      m({ id: "u1", role: "user", agent: null, turn_id: "t1", created_at: "2026-01-01T00:00:00Z" }),
      m({ id: "p1", agent: "prioritizer", turn_id: "t1", created_at: "2026-01-01T00:00:10Z" }),
    ]);
    const t = buildTimeline(s);
    expect(t.map((b) => b.turnId)).toEqual(["t1", "t2"]);
    expect(t[0]?.user?.id).toBe("u1");
    expect(t[0]?.reply?.id).toBe("r1");
    expect(t[0]?.insights.map((x) => x.id)).toEqual(["p1"]);
    expect(t[1]?.questions.map((x) => x.id)).toEqual(["q2"]);
  });

  it("shows the stored reply instead of the streamed text once it is loaded", () => {
    const events = eventsOf("turn.sse");
    let s = run(events, "turn");
    const id = Object.keys(s.turns)[0] as string;
    expect(buildTimeline(s)[0]?.streamingText).not.toBeNull();
    s = addMessages(s, [m({ id: "reply", turn_id: id, created_at: "2026-11-25T10:12:13.380Z", content: "stored" })]);
    const b = buildTimeline(s)[0];
    expect(b?.reply?.content).toBe("stored");
    expect(b?.streamingText).toBeNull();
    expect(b?.live?.agents.length).toBe(5);
  });
});

describe("helpers", () => {
  it("quotes a question for a reply", () => {
    expect(quoteForReply("Who pays?\nAnd when?")).toBe("> Who pays?\n> And when?\n\n");
  });
  it("humanizes agent names", () => {
    expect(humanizeAgent("gap_detector")).toBe("Gap detector");
  });
});

describe("activity of earlier turns", () => {
  it("gives turns loaded from history their agents, without touching live turns", async () => {
    const { addActivity } = await import("../src/lib/conversation");
    const run = (turn_id: string, agent: string) => ({
      turn_id,
      agent,
      model: "claude-x",
      status: "ok" as const,
      latency_ms: 12,
      attempts: 1,
      input_tokens: 1,
      output_tokens: 2,
      cache_read_tokens: 3,
      cache_write_tokens: 4,
      error: null,
      created_at: "2026-01-01T00:00:00Z",
      intent: "deciding",
    });
    let s = emptyConversation();
    s = applyTurnEvent(s, { type: "agent.started", data: { turn_id: "live", agent: "recorder" } }, "turn");
    s = addActivity(s, [run("old", "recorder"), run("old", "conversation"), run("live", "recorder")]);
    expect(s.turns.old?.status).toBe("done");
    expect(s.turns.old?.intent).toBe("deciding");
    expect(s.turns.old?.agents.map((a) => a.agent)).toEqual(["conversation", "recorder"]);
    expect(s.turns.old?.agents[0]?.tokens).toEqual({ input: 1, output: 2, cache_read: 3, cache_write: 4 });
    expect(s.turns.live?.status).toBe("running");
    expect(buildTimeline(s).find((b) => b.turnId === "old")?.streamingText).toBeNull();
  });
});

describe("a turn known from the activity log that is still running", () => {
  it("is taken over by the live events", async () => {
    const { addActivity } = await import("../src/lib/conversation");
    let s = addActivity(emptyConversation(), [
      {
        turn_id: "t",
        agent: "context_manager",
        model: "m",
        status: "ok",
        latency_ms: 1,
        attempts: 1,
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        error: null,
        created_at: "2026-01-01T00:00:00Z",
        intent: null,
      },
    ]);
    s = applyTurnEvent(s, { type: "reply.delta", data: { turn_id: "t", text: "Hel" } }, "live");
    s = applyTurnEvent(s, { type: "reply.delta", data: { turn_id: "t", text: "lo" } }, "live");
    expect(s.turns.t?.replyText).toBe("Hello");
    expect(s.turns.t?.status).toBe("running");
    expect(s.turns.t?.agents.map((a) => a.agent)).toEqual(["context_manager"]);
  });
});

describe("turnFailureText", () => {
  it("says once that the message is saved", () => {
    expect(turnFailureText("The reply could not be produced (server: boom).")).toBe(
      "The reply could not be produced (server: boom). Your message is saved.",
    );
    const said =
      "The model that writes the replies here (claude-sonnet-5-5) is no longer available from Claude, " +
      "so no reply could be produced. Your message is saved: retry the turn once an operator has changed the model.";
    expect(turnFailureText(said)).toBe(said);
    expect(turnFailureText(undefined)).toBe("The agents could not complete their work. Your message is saved.");
  });
});
