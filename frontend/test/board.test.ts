import { describe, expect, it } from "vitest";
import type { Item } from "../src/api/types";
import {
  applyItemsChanged,
  baseVersion,
  columnCounts,
  confirmMove,
  emptyBoard,
  groupColumns,
  mergeSnapshot,
  moveOptimistic,
  rollbackMove,
  upsertItem,
  type BoardState,
} from "../src/lib/board";

let seq = 0;
function item(over: Partial<Item> = {}): Item {
  seq += 1;
  return {
    id: `i${seq}`,
    project_id: "p1",
    text: `Item ${seq}`,
    state: "exploring",
    confidence: 80,
    user_quote: "",
    source_message_id: null,
    created_by: "recorder",
    position: 0,
    version: 1,
    created_at: `2026-01-01T00:00:${String(seq % 60).padStart(2, "0")}Z`,
    updated_at: "2026-01-01T00:00:00Z",
    ...over,
  };
}

function boardOf(...items: Item[]): BoardState {
  return applyItemsChanged(emptyBoard(), { items });
}

describe("grouping and ordering", () => {
  it("puts items in their columns, ordered by position, creation, id; hides rejected", () => {
    const a = item({ id: "a", state: "decided", position: 2 });
    const b = item({ id: "b", state: "decided", position: 1 });
    const c = item({ id: "c", state: "decided", position: 1, created_at: "2025-12-31T00:00:00Z" });
    const d = item({ id: "d", state: "parked" });
    const r = item({ id: "r", state: "rejected" });
    const cols = groupColumns(boardOf(a, b, c, d, r));
    expect(cols.decided.map((i) => i.id)).toEqual(["c", "b", "a"]);
    expect(cols.exploring).toEqual([]);
    expect(cols.parked.map((i) => i.id)).toEqual(["d"]);
    expect(columnCounts(boardOf(a, b, c, d, r))).toEqual({ decided: 3, exploring: 0, parked: 1 });
  });

  it("breaks full ties by id", () => {
    const t = "2026-01-01T00:00:00Z";
    const x = item({ id: "x", created_at: t });
    const w = item({ id: "w", created_at: t });
    expect(groupColumns(boardOf(x, w)).exploring.map((i) => i.id)).toEqual(["w", "x"]);
  });
});

describe("items.changed", () => {
  it("adds, replaces by newer version and removes", () => {
    const a = item({ id: "a" });
    let s = boardOf(a);
    s = applyItemsChanged(s, { items: [{ ...a, text: "new", version: 2 }], removed: [] });
    expect(s.items.a?.text).toBe("new");
    s = applyItemsChanged(s, { items: [], removed: ["a"] });
    expect(s.items.a).toBeUndefined();
  });

  it("ignores an older copy that arrives late (events from two streams)", () => {
    const a = item({ id: "a", version: 3, text: "v3" });
    const s = applyItemsChanged(boardOf(a), { items: [{ ...a, version: 2, text: "v2" }] });
    expect(s.items.a?.text).toBe("v3");
  });

  it("is idempotent: the same event twice changes nothing", () => {
    const a = item({ id: "a" });
    const once = applyItemsChanged(emptyBoard(), { items: [a] });
    const twice = applyItemsChanged(once, { items: [a] });
    expect(twice).toBe(once);
  });

  it("does not bring back a removed item", () => {
    const a = item({ id: "a" });
    let s = applyItemsChanged(boardOf(a), { removed: ["a"] });
    s = applyItemsChanged(s, { items: [a] });
    expect(s.items.a).toBeUndefined();
  });
});

describe("snapshots", () => {
  it("replaces the board, keeping newer copies and items that arrived meanwhile", () => {
    const a = item({ id: "a", version: 5, text: "newer" });
    const b = item({ id: "b" });
    const c = item({ id: "c" });
    const s0 = boardOf(a, b, c);
    const s = mergeSnapshot(s0, [{ ...a, version: 4, text: "older" }, item({ id: "d" })], new Set(["c"]));
    expect(s.items.a?.text).toBe("newer");
    expect(s.items.b).toBeUndefined(); // gone on the server
    expect(s.items.c).toBeDefined(); // arrived by event during the GET
    expect(s.items.d).toBeDefined();
  });

  it("keeps a pending move applied", () => {
    const a = item({ id: "a", state: "exploring" });
    const moved = moveOptimistic(boardOf(a), "a", "parked");
    const s = mergeSnapshot(moved, [a]);
    expect(s.items.a?.state).toBe("parked");
    expect(s.pending.a).toBeDefined();
  });
});

describe("optimistic moves", () => {
  it("moves at once to the end of the target column and remembers the original", () => {
    const p1 = item({ id: "p1", state: "parked", position: 4 });
    const a = item({ id: "a", state: "exploring", version: 2 });
    const s = moveOptimistic(boardOf(p1, a), "a", "parked");
    expect(s.items.a?.state).toBe("parked");
    expect(s.items.a?.position).toBe(5);
    expect(s.pending.a?.before.state).toBe("exploring");
    expect(baseVersion(s, "a")).toBe(2);
    expect(groupColumns(s).parked.map((i) => i.id)).toEqual(["p1", "a"]);
  });

  it("confirms with the server's copy", () => {
    const a = item({ id: "a", version: 2 });
    let s = moveOptimistic(boardOf(a), "a", "decided");
    s = confirmMove(s, { ...a, state: "decided", version: 3, position: 0 });
    expect(s.pending.a).toBeUndefined();
    expect(s.items.a).toMatchObject({ state: "decided", version: 3 });
  });

  it("rolls back to the original when the server fails", () => {
    const a = item({ id: "a", state: "exploring", version: 2 });
    let s = moveOptimistic(boardOf(a), "a", "decided");
    s = rollbackMove(s, "a");
    expect(s.items.a).toEqual(a);
    expect(s.pending.a).toBeUndefined();
  });

  it("on 409 shows the server's current copy", () => {
    const a = item({ id: "a", state: "exploring", version: 2 });
    let s = moveOptimistic(boardOf(a), "a", "decided");
    const current = { ...a, state: "parked" as const, text: "changed elsewhere", version: 3 };
    s = rollbackMove(s, "a", current);
    expect(s.items.a).toEqual(current);
  });

  it("an event with a newer copy during the move wins over both", () => {
    const a = item({ id: "a", state: "exploring", version: 2 });
    let s = moveOptimistic(boardOf(a), "a", "decided");
    // Our own PATCH's event (version 3) arrives before the response.
    const ours = { ...a, state: "decided" as const, version: 3 };
    s = upsertItem(s, ours);
    expect(s.pending.a).toBeUndefined();
    expect(s.items.a).toEqual(ours);
    s = confirmMove(s, ours);
    expect(s.items.a).toEqual(ours);
    // An older copy replayed later changes nothing.
    s = upsertItem(s, a);
    expect(s.items.a).toEqual(ours);
  });

  it("a stale event during the move does not undo it", () => {
    const a = item({ id: "a", state: "exploring", version: 2 });
    let s = moveOptimistic(boardOf(a), "a", "decided");
    s = upsertItem(s, a);
    expect(s.items.a?.state).toBe("decided");
    expect(s.pending.a).toBeDefined();
  });

  it("moving to the same column, or an unknown item, does nothing", () => {
    const a = item({ id: "a", state: "parked" });
    const s = boardOf(a);
    expect(moveOptimistic(s, "a", "parked")).toBe(s);
    expect(moveOptimistic(s, "zzz", "parked")).toBe(s);
  });

  it("two moves in a row keep the first original for the rollback", () => {
    const a = item({ id: "a", state: "exploring", version: 2 });
    let s = moveOptimistic(boardOf(a), "a", "decided");
    s = moveOptimistic(s, "a", "parked");
    expect(s.pending.a?.before.state).toBe("exploring");
    expect(baseVersion(s, "a")).toBe(2);
    s = rollbackMove(s, "a");
    expect(s.items.a?.state).toBe("exploring");
  });
});
