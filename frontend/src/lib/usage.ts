// Usage rows (per day and model) turned into what the usage page shows.

import type { UsageRow } from "../api/types";

export interface DayTotals {
  day: string;
  input: number;
  output: number;
  cache: number;
  calls: number;
  cost: number;
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** One entry per day for the last `days` days up to `today` (UTC), zeros where nothing ran. */
export function usageByDay(rows: UsageRow[], days: number, today = new Date()): DayTotals[] {
  const byDay = new Map<string, DayTotals>();
  for (const r of rows) {
    const day = r.day.slice(0, 10);
    const t = byDay.get(day) ?? { day, input: 0, output: 0, cache: 0, calls: 0, cost: 0 };
    t.input += r.input_tokens;
    t.output += r.output_tokens;
    t.cache += r.cache_read_tokens + r.cache_write_tokens;
    t.calls += r.calls;
    t.cost += r.cost_usd;
    byDay.set(day, t);
  }
  const out: DayTotals[] = [];
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  for (let i = days - 1; i >= 0; i--) {
    const day = isoDay(new Date(end - i * 86_400_000));
    out.push(byDay.get(day) ?? { day, input: 0, output: 0, cache: 0, calls: 0, cost: 0 });
    byDay.delete(day);
  }
  // Days outside the window (clock skew): keep them rather than lose them.
  for (const extra of [...byDay.values()].sort((a, b) => (a.day < b.day ? -1 : 1))) out.push(extra);
  return out;
}

export interface ModelTotals {
  model: string;
  calls: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Calls with a prompt over 100,000 tokens. */
  longCalls: number;
  cost: number;
}

export function usageByModel(rows: UsageRow[]): ModelTotals[] {
  const m = new Map<string, ModelTotals>();
  for (const r of rows) {
    const t = m.get(r.model) ?? { model: r.model, calls: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, longCalls: 0, cost: 0 };
    t.calls += r.calls;
    t.input += r.input_tokens;
    t.output += r.output_tokens;
    t.cacheRead += r.cache_read_tokens;
    t.cacheWrite += r.cache_write_tokens;
    t.longCalls += r.long_prompt_calls ?? 0;
    t.cost += r.cost_usd;
    m.set(r.model, t);
  }
  return [...m.values()].sort((a, b) => b.cost - a.cost || a.model.localeCompare(b.model));
}

/** The top of the axis: four equal steps of a round size that cover v. */
export function niceMax(v: number): number {
  if (v <= 0) return 4;
  const step = v / 4;
  const base = 10 ** Math.floor(Math.log10(step));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * base >= step) return 4 * m * base;
  }
  return 40 * base;
}
