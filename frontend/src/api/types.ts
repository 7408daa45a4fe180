// The shapes of docs/API.md, the one contract between the app and the workers.

export interface User {
  id: string;
  email: string;
  display_name: string;
  created_at: string;
}

export interface Session {
  user: User;
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

export type ProjectStatus = "active" | "archived";

export interface ItemCounts {
  decided: number;
  exploring: number;
  parked: number;
  rejected: number;
}

/** The caller's role in a project (docs/API.md, members). */
export type Role = "owner" | "editor" | "viewer";

export interface Project {
  id: string;
  title: string;
  description: string;
  status: ProjectStatus;
  version: number;
  created_at: string;
  updated_at: string;
  item_counts: ItemCounts;
  /** The caller's role; a server without members answers none (then the caller owns it). */
  role?: Role;
}

export interface ProjectPage {
  projects: Project[];
  next_cursor: string | null;
}

export type ItemState = "decided" | "exploring" | "parked" | "rejected";

/** GET /api/projects/{id}/items: a page; next_cursor null on the last. */
export interface ItemPage {
  items: Item[];
  next_cursor: string | null;
}

export interface Item {
  id: string;
  project_id: string;
  text: string;
  state: ItemState;
  confidence: number;
  user_quote: string;
  source_message_id: string | null;
  created_by: string;
  position: number;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ItemEvent {
  id: string;
  item_id: string;
  action: "created" | "updated" | "moved" | "deleted";
  from_state: ItemState | null;
  to_state: ItemState | null;
  old_text: string | null;
  new_text: string | null;
  /** "user" or an agent's name. */
  actor: string;
  reason: string | null;
  turn_id: string | null;
  message_id: string | null;
  created_at: string;
  /** The person behind a "user" event (null: an agent, an imported event). */
  actor_user_id: string | null;
  /** Their display name, else email (null: no such account any more). */
  actor_name: string | null;
}

/** An item's history: its newest events, oldest first. */
export interface ItemHistory {
  events: ItemEvent[];
  /** Older events the answer left out. */
  omitted: number;
}

export interface Message {
  id: string;
  project_id: string;
  role: "user" | "assistant" | "system";
  agent: string | null;
  content: string;
  turn_id: string | null;
  created_at: string;
}

export interface Agent {
  name: string;
  role: string;
  stage: "A" | "B" | "document";
  produces?: "reply" | "intent" | "changes" | "findings" | "questions" | "message" | "document";
  /** The kind a document agent writes. */
  document?: DocumentKind;
  model: string;
  max_tokens: number;
  cacheable: boolean;
  workflows: string[];
}

export interface AgentsResponse {
  agents: Agent[];
  demo_model: boolean;
}

export interface AgentRun {
  turn_id: string;
  agent: string;
  model: string;
  status: "ok" | "error" | "cached";
  latency_ms: number;
  attempts: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  error: string | null;
  created_at: string;
  intent: string | null;
}

export interface UsageRow {
  day: string;
  model: string;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** Calls whose prompt was over 100,000 tokens (priced higher on some models); absent from older servers. */
  long_prompt_calls?: number;
  cost_usd: number;
}

export interface MonthUsage {
  tokens_used: number;
  /** USER_MONTHLY_TOKEN_LIMIT; null without a limit. */
  token_limit: number | null;
  tokens_remaining: number | null;
}

export interface UsageResponse {
  days: number;
  usage: UsageRow[];
  total_cost_usd: number;
  /** This calendar month (UTC), across every project; absent from older servers. */
  month?: MonthUsage;
}

export interface TurnResult {
  turn_id: string;
  status: "done" | "failed";
  intent: string | null;
  confidence: number | null;
  message: Message;
  reply: Message | null;
  items: Item[];
  questions: Message[];
  agents: { agent: string; status: string; latency_ms: number; error?: string }[];
  notes: string[];
  error?: string;
}

// ---- the events of a turn (and of the live /events stream) -----------------

export interface TokenCounts {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

export interface TurnEventMap {
  "turn.started": { turn_id: string; message: Message; retry?: boolean };
  "agent.started": { turn_id: string; agent: string };
  "reply.delta": { turn_id: string; text: string };
  "reply.done": { turn_id: string; text: string };
  "agent.finished": {
    turn_id: string;
    agent: string;
    status: "ok" | "error" | "cached";
    latency_ms: number;
    tokens?: TokenCounts;
    error?: string;
  };
  "items.changed": { turn_id?: string; actor: string; items: Item[]; removed: string[] };
  question: { turn_id: string; message: Message };
  error: { turn_id?: string; code: string; message: string };
  "turn.done": {
    turn_id: string;
    status: "done" | "failed";
    intent: string | null;
    confidence: number | null;
    notes: string[];
  };
  /** A document version was saved (by anyone): its summary, no Markdown. */
  "document.version": {
    generation_id: string;
    kind: DocumentKind;
    version: number;
    title: string;
    model?: string;
    created_by: string | null;
    created_at: string;
  };
  /** This person's role in the project changed (their own channel only). */
  "member.role_changed": { user_id: string; role: Role };
}

export type TurnEventName = keyof TurnEventMap;

export type TurnEvent = {
  [K in TurnEventName]: { type: K; data: TurnEventMap[K]; id?: string };
}[TurnEventName];

export const TURN_EVENT_NAMES: readonly TurnEventName[] = [
  "turn.started",
  "agent.started",
  "reply.delta",
  "reply.done",
  "agent.finished",
  "items.changed",
  "question",
  "error",
  "turn.done",
  "document.version",
  "member.role_changed",
];

export function isTurnEventName(name: string): name is TurnEventName {
  return (TURN_EVENT_NAMES as readonly string[]).includes(name);
}

// ---- documents ---------------------------------------------------------------

export type DocumentKind = "brief" | "decision_log" | "next_steps" | "open_questions" | "risks";

/** One version of a document; `markdown` is absent in version lists. */
export interface DocumentVersion {
  kind: DocumentKind;
  version: number;
  title: string;
  markdown?: string;
  item_event_id: number | null;
  message_id: string | null;
  model: string;
  input_tokens: number;
  output_tokens: number;
  created_by: string | null;
  created_at: string;
}

export interface DocumentsResponse {
  documents: DocumentVersion[];
  kinds: DocumentKind[];
}

export interface DocumentDiff {
  kind: DocumentKind;
  from: number;
  to: number;
  added: number;
  removed: number;
  hunks: number;
  diff: string;
  lines: string[];
}

export interface DocumentEventMap {
  "document.queued": { generation_id: string; kind: DocumentKind };
  "document.started": { generation_id: string; kind: DocumentKind; agent: string; retry?: boolean };
  "agent.started": { generation_id: string; kind: DocumentKind; agent: string };
  "agent.finished": {
    generation_id: string;
    kind: DocumentKind;
    agent: string;
    status: "ok" | "error";
    latency_ms: number;
    tokens?: TokenCounts;
    error?: string;
  };
  error: { generation_id: string; kind: DocumentKind; code: string; message: string };
  "document.done": {
    generation_id: string;
    kind: DocumentKind;
    status: "done" | "failed";
    /** The new version (the whole version; a number from older servers). */
    version?: DocumentVersion | number;
    code?: string;
    error?: string;
    notes?: string[];
  };
}

export type DocumentEventName = keyof DocumentEventMap;

export type DocumentEvent = {
  [K in DocumentEventName]: { type: K; data: DocumentEventMap[K] };
}[DocumentEventName];

// ---- members -------------------------------------------------------------------

export interface Member {
  user_id: string;
  email: string;
  display_name: string;
  role: Role;
  added_by?: string | null;
  created_at?: string;
  /** An invitation to an email without an account yet (REGISTRATION=invite). */
  pending?: boolean;
}
