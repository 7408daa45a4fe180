// The board, as pure functions over plain data: grouping into columns,
// ordering, applying items.changed events (from the turn's stream and from
// the live stream, in any order and any number of times), and optimistic
// moves that are rolled back when the server says no (409 with `current`).

import type { Item, ItemState } from "../api/types";

export const COLUMNS = ["decided", "exploring", "parked"] as const;
export type Column = (typeof COLUMNS)[number];

export const COLUMN_LABELS: Record<Column, string> = {
  decided: "Decided",
  exploring: "Exploring",
  parked: "Parked",
};

export function isColumn(state: string): state is Column {
  return (COLUMNS as readonly string[]).includes(state);
}

export interface PendingMove {
  /** The item as it was before the optimistic change. */
  before: Item;
  /** The state it is being moved to. */
  to: ItemState;
}

export interface BoardState {
  items: Record<string, Item>;
  /** Ids deleted here or by an event: a snapshot taken before must not bring them back. */
  removed: Record<string, true>;
  /** Optimistic moves waiting for the server's answer, by item id. */
  pending: Record<string, PendingMove>;
}

/** A copy of a record without one key. */
function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const copy: Record<string, T> = {};
  for (const [k, v] of Object.entries(record)) if (k !== key) copy[k] = v;
  return copy;
}

export function emptyBoard(): BoardState {
  return { items: {}, removed: {}, pending: {} };
}

/** Board order: position, then creation time, then id (as the API orders). */
export function compareItems(a: Item, b: Item): number {
  if (a.position !== b.position) return a.position - b.position;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export type Columns = Record<Column, Item[]>;

/** The three columns, each in board order. Rejected items are not shown. */
export function groupColumns(state: BoardState): Columns {
  const columns: Columns = { decided: [], exploring: [], parked: [] };
  for (const item of Object.values(state.items)) {
    if (isColumn(item.state)) columns[item.state].push(item);
  }
  for (const c of COLUMNS) columns[c].sort(compareItems);
  return columns;
}

/**
 * Put one item as the server sent it: kept only if it is not older than
 * what is there (a late event must not undo a newer change). An item that a
 * pending move is waiting on is updated underneath: the move's "before"
 * becomes the newer server copy.
 */
export function upsertItem(state: BoardState, item: Item): BoardState {
  if (state.removed[item.id]) return state;
  const have = state.items[item.id];
  const pending = state.pending[item.id];
  if (pending) {
    if (item.version <= pending.before.version) return state;
    // The server has a newer copy than the one the move was based on: the
    // move will be answered 409; show the server's copy now.
    return { ...state, items: { ...state.items, [item.id]: item }, pending: without(state.pending, item.id) };
  }
  if (have && have.version > item.version) return state;
  if (have && have.version === item.version && have.state === item.state && have.text === item.text && have.position === item.position) {
    return state;
  }
  return { ...state, items: { ...state.items, [item.id]: item } };
}

export function removeItem(state: BoardState, id: string): BoardState {
  return {
    items: without(state.items, id),
    pending: without(state.pending, id),
    removed: { ...state.removed, [id]: true },
  };
}

/** An `items.changed` event: the items as they are now, and removed ids. */
export function applyItemsChanged(
  state: BoardState,
  change: { items?: Item[]; removed?: string[] },
): BoardState {
  let next = state;
  for (const id of change.removed ?? []) next = removeItem(next, id);
  for (const item of change.items ?? []) next = upsertItem(next, item);
  return next;
}

/**
 * A fresh list from GET .../items. Items missing from it are gone, unless
 * their id is in `keep` (they arrived by event while the GET was under way);
 * items in it are merged by version, and pending moves stay applied.
 */
export function mergeSnapshot(
  state: BoardState,
  items: Item[],
  keep: ReadonlySet<string> = new Set(),
): BoardState {
  const next: Record<string, Item> = {};
  const seen = new Set<string>();
  for (const item of items) {
    seen.add(item.id);
    if (state.removed[item.id]) continue;
    const have = state.items[item.id];
    next[item.id] = have && have.version > item.version ? have : item;
  }
  // Keep items that appeared after the snapshot was taken (created by an
  // event that overtook the GET).
  for (const [id, item] of Object.entries(state.items)) {
    if (seen.has(id)) continue;
    if (keep.has(id)) next[id] = item;
  }
  const pending: Record<string, PendingMove> = {};
  for (const [id, p] of Object.entries(state.pending)) {
    const now = next[id];
    if (now) {
      pending[id] = p;
      next[id] = { ...now, state: p.to };
    }
  }
  return { items: next, removed: state.removed, pending };
}

/** The position that puts an item last in a column. */
export function positionAtEnd(columns: Columns, column: Column, exceptId?: string): number {
  let max = -1;
  for (const i of columns[column]) {
    if (i.id !== exceptId && i.position > max) max = i.position;
  }
  return max + 1;
}

/** Move an item to another column at once, remembering how it was. */
export function moveOptimistic(state: BoardState, id: string, to: Column): BoardState {
  const item = state.items[id];
  if (!item || item.state === to) return state;
  const columns = groupColumns(state);
  const before = state.pending[id]?.before ?? item;
  const moved: Item = { ...item, state: to, position: positionAtEnd(columns, to, id) };
  return {
    ...state,
    items: { ...state.items, [id]: moved },
    pending: { ...state.pending, [id]: { before, to } },
  };
}

/** The server accepted the move: its copy replaces the optimistic one. */
export function confirmMove(state: BoardState, item: Item): BoardState {
  const pending = without(state.pending, item.id);
  const have = state.items[item.id];
  const keep = have && have.version > item.version && !state.pending[item.id] ? have : item;
  if (state.removed[item.id]) return { ...state, pending };
  return { ...state, items: { ...state.items, [item.id]: keep }, pending };
}

/**
 * The server refused the move. With `current` (409 version_conflict) the
 * item becomes the server's copy; otherwise it goes back to where it was.
 */
export function rollbackMove(state: BoardState, id: string, current?: Item | null): BoardState {
  const p = state.pending[id];
  const pending = without(state.pending, id);
  if (current) {
    const have = state.items[id];
    const keep = have && !p && have.version > current.version ? have : current;
    return { ...state, items: { ...state.items, [id]: keep }, pending };
  }
  if (!p) return { ...state, pending };
  if (state.removed[id]) return { ...state, pending };
  const have = state.items[id];
  // A newer server copy arrived meanwhile: keep it rather than the old one.
  const back = have && have.version > p.before.version ? have : p.before;
  return { ...state, items: { ...state.items, [id]: back }, pending };
}

/** The version to send with a PATCH: the server copy the change is based on. */
export function baseVersion(state: BoardState, id: string): number | null {
  const p = state.pending[id];
  if (p) return p.before.version;
  return state.items[id]?.version ?? null;
}

export function isItem(value: unknown): value is Item {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === "string" &&
    typeof v.text === "string" &&
    typeof v.state === "string" &&
    typeof v.version === "number"
  );
}

/** Counts per column, for the projects list after a live change. */
export function columnCounts(state: BoardState): Record<Column, number> {
  const c = groupColumns(state);
  return { decided: c.decided.length, exploring: c.exploring.length, parked: c.parked.length };
}
