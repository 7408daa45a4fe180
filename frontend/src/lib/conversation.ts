// The conversation, as pure functions: stored messages plus the turns that
// are happening now, fed by the turn's own stream and by the live stream.
// Both streams carry the same events; everything but reply.delta is
// idempotent, so a turn's deltas are taken from one source only (the first
// that spoke for that turn).

import type { AgentRun, Message, TokenCounts, TurnEvent } from "../api/types";

export type AgentStatus = "running" | "ok" | "error" | "cached";

export interface AgentProgress {
  agent: string;
  status: AgentStatus;
  latency_ms?: number;
  tokens?: TokenCounts;
  error?: string;
}

export interface LiveTurn {
  turnId: string;
  userMessageId: string | null;
  replyText: string;
  replyDone: boolean;
  agents: AgentProgress[];
  status: "running" | "done" | "failed";
  intent: string | null;
  confidence: number | null;
  notes: string[];
  error: { code: string; message: string } | null;
  /** The stream whose reply.delta events build replyText. */
  source: string;
}

export interface ConversationState {
  messages: Record<string, Message>;
  turns: Record<string, LiveTurn>;
  /** Older messages exist on the server (a "load earlier" page). */
  hasMore: boolean;
}

export function emptyConversation(): ConversationState {
  return { messages: {}, turns: {}, hasMore: false };
}

export const QUESTION_AGENTS = new Set(["gap_detector", "questioner"]);

export function isQuestion(m: Message): boolean {
  return m.role === "assistant" && m.agent !== null && QUESTION_AGENTS.has(m.agent);
}

export function addMessages(state: ConversationState, messages: Message[]): ConversationState {
  if (messages.length === 0) return state;
  const next = { ...state.messages };
  for (const m of messages) next[m.id] = m;
  return { ...state, messages: next };
}

function newTurn(turnId: string, source: string): LiveTurn {
  return {
    turnId,
    userMessageId: null,
    replyText: "",
    replyDone: false,
    agents: [],
    status: "running",
    intent: null,
    confidence: null,
    notes: [],
    error: null,
    source,
  };
}

function setAgent(agents: AgentProgress[], progress: AgentProgress): AgentProgress[] {
  const i = agents.findIndex((a) => a.agent === progress.agent);
  if (i === -1) return [...agents, progress];
  const have = agents[i] as AgentProgress;
  // A late "started" must not hide a result.
  if (progress.status === "running" && have.status !== "running") return agents;
  const copy = agents.slice();
  copy[i] = progress;
  return copy;
}

/** One event of a turn, from `source` ("turn" for the POST stream, "live" for /events). */
export function applyTurnEvent(
  state: ConversationState,
  event: TurnEvent,
  source: string,
): ConversationState {
  const turnId = "turn_id" in event.data ? event.data.turn_id : undefined;
  if (turnId === undefined) return state;
  let existing = state.turns[turnId];
  // Known only from the activity log (a page opened while the turn ran):
  // the live events take it over.
  if (existing && existing.source === "history" && event.type !== "items.changed") {
    existing = { ...existing, source, status: event.type === "turn.done" ? existing.status : "running", replyDone: false };
  }
  let turn = existing ?? newTurn(turnId, source);
  let messages = state.messages;

  switch (event.type) {
    case "turn.started": {
      const m = event.data.message;
      messages = { ...messages, [m.id]: m };
      turn = { ...turn, userMessageId: m.id };
      if (event.data.retry) {
        turn = { ...turn, status: "running", error: null, replyText: "", replyDone: false, agents: [], source };
      }
      break;
    }
    case "agent.started":
      turn = { ...turn, agents: setAgent(turn.agents, { agent: event.data.agent, status: "running" }) };
      break;
    case "agent.finished":
      turn = {
        ...turn,
        agents: setAgent(turn.agents, {
          agent: event.data.agent,
          status: event.data.status,
          latency_ms: event.data.latency_ms,
          tokens: event.data.tokens,
          error: event.data.error,
        }),
      };
      break;
    case "reply.delta":
      if (turn.replyDone) break;
      if (existing && existing.source !== source) break; // the other stream builds it
      turn = { ...turn, replyText: turn.replyText + event.data.text };
      break;
    case "reply.done":
      turn = { ...turn, replyText: event.data.text, replyDone: true };
      break;
    case "question": {
      const m = event.data.message;
      messages = { ...messages, [m.id]: m };
      break;
    }
    case "error":
      turn = { ...turn, error: { code: event.data.code, message: event.data.message } };
      break;
    case "turn.done":
      turn = {
        ...turn,
        status: event.data.status,
        intent: event.data.intent,
        confidence: event.data.confidence,
        notes: event.data.notes ?? [],
        replyDone: turn.replyDone || event.data.status === "done",
      };
      break;
    case "items.changed":
      return state; // the board's business
  }
  return { ...state, messages, turns: { ...state.turns, [turnId]: turn } };
}

/**
 * Finished turns' agent runs (GET .../activity), so that turns loaded from
 * history show their agents too. Turns seen live are left as they are.
 */
export function addActivity(state: ConversationState, runs: AgentRun[]): ConversationState {
  const turns = { ...state.turns };
  let changed = false;
  const byTurn = new Map<string, AgentRun[]>();
  for (const r of runs) {
    const list = byTurn.get(r.turn_id) ?? [];
    list.push(r);
    byTurn.set(r.turn_id, list);
  }
  for (const [turnId, list] of byTurn) {
    if (turns[turnId]) continue;
    const t = newTurn(turnId, "history");
    t.status = "done";
    t.replyDone = true;
    t.intent = list.find((r) => r.intent)?.intent ?? null;
    t.agents = [...list]
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.agent.localeCompare(b.agent)))
      .map((r) => ({
        agent: r.agent,
        status: r.status,
        latency_ms: r.latency_ms,
        tokens: {
          input: r.input_tokens,
          output: r.output_tokens,
          cache_read: r.cache_read_tokens,
          cache_write: r.cache_write_tokens,
        },
        error: r.error ?? undefined,
      }));
    turns[turnId] = t;
    changed = true;
  }
  return changed ? { ...state, turns } : state;
}

/** A turn whose stream broke: mark it so the page stops showing it as running. */
export function abandonTurn(state: ConversationState, turnId: string, message: string): ConversationState {
  const turn = state.turns[turnId];
  if (!turn || turn.status !== "running") return state;
  return {
    ...state,
    turns: {
      ...state.turns,
      [turnId]: { ...turn, status: "failed", error: turn.error ?? { code: "stream_lost", message } },
    },
  };
}

export interface TimelineBlock {
  key: string;
  turnId: string | null;
  user: Message | null;
  /** The stored reply, when there is one. */
  reply: Message | null;
  /** The reply as it streams (when not stored yet). */
  streamingText: string | null;
  questions: Message[];
  /** Other agents' messages (reviewer, prioritizer, strategic planner...). */
  insights: Message[];
  live: LiveTurn | null;
  sortKey: string;
}

const ROLE_RANK = (m: Message): number =>
  m.role === "user" ? 0 : m.agent === "conversation" ? 1 : isQuestion(m) ? 2 : 3;

/** The conversation in display order: one block per turn, oldest first. */
export function buildTimeline(state: ConversationState): TimelineBlock[] {
  const blocks = new Map<string, TimelineBlock>();
  const sorted = Object.values(state.messages).sort((a, b) =>
    a.created_at !== b.created_at ? (a.created_at < b.created_at ? -1 : 1) : ROLE_RANK(a) - ROLE_RANK(b),
  );
  const block = (key: string, turnId: string | null, sortKey: string): TimelineBlock => {
    let b = blocks.get(key);
    if (!b) {
      b = {
        key,
        turnId,
        user: null,
        reply: null,
        streamingText: null,
        questions: [],
        insights: [],
        live: null,
        sortKey,
      };
      blocks.set(key, b);
    }
    return b;
  };
  for (const m of sorted) {
    const b = block(m.turn_id ?? `m:${m.id}`, m.turn_id, m.created_at);
    if (m.role === "user") {
      b.user = m;
      b.sortKey = m.created_at;
    } else if (m.agent === "conversation" || m.agent === null) {
      if (b.reply === null) b.reply = m;
      else b.insights.push(m);
    } else if (isQuestion(m)) {
      b.questions.push(m);
    } else {
      b.insights.push(m);
    }
    if (m.created_at < b.sortKey) b.sortKey = m.created_at;
  }
  for (const turn of Object.values(state.turns)) {
    const b = block(turn.turnId, turn.turnId, "\uffff");
    b.live = turn;
    if (b.reply === null && (turn.replyText !== "" || turn.status === "running")) {
      b.streamingText = turn.replyText;
    }
  }
  return [...blocks.values()].sort((a, b) =>
    a.sortKey !== b.sortKey ? (a.sortKey < b.sortKey ? -1 : 1) : a.key < b.key ? -1 : 1,
  );
}

/** The oldest loaded message id: the `before` of the next page. */
export function oldestMessageId(state: ConversationState): string | null {
  let oldest: Message | null = null;
  for (const m of Object.values(state.messages)) {
    if (oldest === null || m.created_at < oldest.created_at) oldest = m;
  }
  return oldest?.id ?? null;
}

/** The text to put in the composer to answer a question: a quoted reply. */
export function quoteForReply(question: string): string {
  const quoted = question
    .trim()
    .split(/\r?\n/)
    .map((line) => `> ${line}`)
    .join("\n");
  return `${quoted}\n\n`;
}

/* A failed turn's error, and that the message is kept: said once (the
   errors a person must wait out, a spending limit or a retired model, say
   so themselves). */
export function turnFailureText(message: string | undefined): string {
  const text = message ?? "The agents could not complete their work.";
  return /your message is saved/i.test(text) ? text : `${text} Your message is saved.`;
}

export function humanizeAgent(name: string): string {
  const s = name.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
