import { describe, expect, it } from "vitest";
import { ApiError, type ApiClient } from "../src/api/client";
import { LiveEvents, backoffDelay, consumeTurnStream, toTurnEvent, type LiveStatus } from "../src/api/events";
import type { TurnEvent } from "../src/api/types";
import { niceMax, usageByDay, usageByModel } from "../src/lib/usage";

function sse(text: string): Response {
  return new Response(text, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

describe("turn events", () => {
  it("types known events and skips the rest", () => {
    expect(toTurnEvent({ event: "reply.delta", data: '{"turn_id":"t","text":"Hi"}', id: "" })).toEqual({
      type: "reply.delta",
      data: { turn_id: "t", text: "Hi" },
    });
    expect(toTurnEvent({ event: "reply.delta", data: "not json", id: "" })).toBeNull();
    expect(toTurnEvent({ event: "ping", data: "{}", id: "" })).toBeNull();
    expect(toTurnEvent({ event: "turn.done", data: "[]", id: "" })).toBeNull();
    expect(toTurnEvent({ event: "turn.done", data: '{"turn_id":"t"}', id: "5-0" })?.id).toBe("5-0");
  });

  it("reads a streamed turn to turn.done", async () => {
    const got: string[] = [];
    const done = await consumeTurnStream(
      sse('event: turn.started\ndata: {"turn_id":"t","message":{}}\n\nevent: turn.done\ndata: {"turn_id":"t","status":"done"}\n\n'),
      (e) => got.push(e.type),
    );
    expect(done).toBe(true);
    expect(got).toEqual(["turn.started", "turn.done"]);
  });

  it("says when a stream ends before turn.done", async () => {
    const done = await consumeTurnStream(sse('event: reply.delta\ndata: {"turn_id":"t","text":"a"}\n\n'), () => undefined);
    expect(done).toBe(false);
  });
});

describe("backoff", () => {
  it("doubles up to the ceiling, with jitter between half and all of it", () => {
    expect(backoffDelay(1, 1000, 30000, () => 1)).toBe(1000);
    expect(backoffDelay(2, 1000, 30000, () => 1)).toBe(2000);
    expect(backoffDelay(3, 1000, 30000, () => 1)).toBe(4000);
    expect(backoffDelay(10, 1000, 30000, () => 1)).toBe(30000);
    expect(backoffDelay(3, 1000, 30000, () => 0)).toBe(2000);
  });
});

describe("LiveEvents", () => {
  it("reconnects after a drop and asks for what it missed with Last-Event-ID", async () => {
    const asked: (string | null)[] = [];
    const responses = [
      () => sse('retry: 3000\n\nid: 10-0\nevent: agent.started\ndata: {"turn_id":"t","agent":"recorder"}\n\n'),
      () => sse('id: 11-0\nevent: items.changed\ndata: {"actor":"user","items":[],"removed":["x"]}\n\n'),
      () => {
        throw new ApiError({ status: 404, code: "not_found", message: "gone" });
      },
    ];
    const client = {
      openEvents: async (_p: string, last: string | null) => {
        asked.push(last);
        const next = responses.shift();
        if (!next) throw new Error("no more");
        return next();
      },
    } as unknown as ApiClient;
    const timers: { fn: () => void; ms: number }[] = [];
    const events: TurnEvent[] = [];
    const statuses: LiveStatus[] = [];
    const live = new LiveEvents(client, "p1", {
      onEvent: (e) => events.push(e),
      onStatus: (s) => statuses.push(s),
      random: () => 1,
      setTimeout: (fn, ms) => {
        timers.push({ fn, ms });
        return timers.length;
      },
      clearTimeout: () => undefined,
    });
    live.start();
    // First connection: one event, then the stream ends.
    await new Promise((r) => setTimeout(r, 20));
    expect(events.map((e) => e.type)).toEqual(["agent.started"]);
    expect(statuses).toContain("live");
    expect(statuses[statuses.length - 1]).toBe("reconnecting");
    // The server asked for 3 s between attempts.
    const retry = timers.filter((t) => t.ms >= 1000).pop();
    expect(retry?.ms).toBe(3000);
    retry?.fn();
    await new Promise((r) => setTimeout(r, 20));
    expect(asked).toEqual([null, "10-0"]);
    expect(events.map((e) => e.type)).toEqual(["agent.started", "items.changed"]);
    timers.filter((t) => t.ms >= 1000).pop()?.fn();
    await new Promise((r) => setTimeout(r, 20));
    expect(asked).toEqual([null, "10-0", "11-0"]);
    // 404: the project is gone; no more attempts.
    expect(statuses[statuses.length - 1]).toBe("offline");
    live.close();
  });

  it("lets its connection go while paused and asks for what it missed on resuming", async () => {
    // Streams that stay open until their request is aborted, as fetch's do.
    const asked: (string | null)[] = [];
    const open: AbortSignal[] = [];
    const client = {
      openEvents: async (_p: string, last: string | null, signal: AbortSignal) => {
        asked.push(last);
        open.push(signal);
        const id = asked.length * 10;
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode(`id: ${id}-0\nevent: items.changed\ndata: {"actor":"user","items":[],"removed":[]}\n\n`));
            signal.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
          },
        });
        return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
      },
    } as unknown as ApiClient;
    const timers: number[] = [];
    const statuses: LiveStatus[] = [];
    const opens: boolean[] = [];
    const live = new LiveEvents(client, "p1", {
      onEvent: () => undefined,
      onStatus: (s) => statuses.push(s),
      onOpen: ({ resumed }) => opens.push(resumed),
      setTimeout: (_fn, ms) => {
        timers.push(ms);
        return timers.length;
      },
      clearTimeout: () => undefined,
    });
    live.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(live.status).toBe("live");
    live.pause();
    await new Promise((r) => setTimeout(r, 20));
    // The request is aborted, nothing waits to reconnect, and the status says so.
    expect(open[0]?.aborted).toBe(true);
    expect(live.status).toBe("paused");
    expect(statuses.slice(-1)).toEqual(["paused"]);
    expect(timers.filter((ms) => ms < 45_000)).toEqual([]);
    // A lost network while paused changes nothing.
    live.drop();
    live.pause();
    expect(asked).toEqual([null]);
    live.reconnectNow();
    await new Promise((r) => setTimeout(r, 20));
    expect(asked).toEqual([null, "10-0"]);
    expect(opens).toEqual([false, true]);
    expect(live.status).toBe("live");
    live.close();
    expect(open[1]?.aborted).toBe(true);
  });

  it("backs off further after failed attempts", async () => {
    let n = 0;
    const client = {
      openEvents: async () => {
        n += 1;
        throw new ApiError({ status: 0, code: "network_error", message: "down" });
      },
    } as unknown as ApiClient;
    const delays: number[] = [];
    let pending: (() => void) | null = null;
    const live = new LiveEvents(client, "p1", {
      onEvent: () => undefined,
      random: () => 1,
      setTimeout: (fn, ms) => {
        if (ms >= 1000 && ms <= 30000 && ms !== 45000) {
          delays.push(ms);
          pending = fn;
        }
        return 1;
      },
      clearTimeout: () => undefined,
    });
    live.start();
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 5));
      const fn = pending as (() => void) | null;
      pending = null;
      fn?.();
    }
    live.close();
    expect(n).toBeGreaterThanOrEqual(6);
    expect(delays.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
  });
});

describe("usage", () => {
  const row = (day: string, model: string, n: number) => ({
    day,
    model,
    calls: 1,
    input_tokens: n,
    output_tokens: 1,
    cache_read_tokens: 2,
    cache_write_tokens: 3,
    cost_usd: 0.5,
  });

  it("fills every day of the window, summing models", () => {
    const days = usageByDay([row("2026-11-25", "a", 10), row("2026-11-25", "b", 5), row("2026-11-20", "a", 1)], 7, new Date("2026-11-25T12:00:00Z"));
    expect(days.map((d) => d.day)).toEqual([
      "2026-11-19",
      "2026-11-20",
      "2026-11-21",
      "2026-11-22",
      "2026-11-23",
      "2026-11-24",
      "2026-11-25",
    ]);
    expect(days[6]).toMatchObject({ input: 15, output: 2, cache: 10, calls: 2, cost: 1 });
    expect(days[1]?.input).toBe(1);
    expect(days[2]?.input).toBe(0);
  });

  it("sums per model, most expensive first", () => {
    const m = usageByModel([row("2026-11-25", "a", 1), row("2026-11-24", "a", 1), row("2026-11-25", "b", 1)]);
    expect(m.map((x) => [x.model, x.calls])).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
  });

  it("counts the calls with a long prompt per model", () => {
    const m = usageByModel([{ ...row("2026-11-25", "a", 1), long_prompt_calls: 2 }, row("2026-11-24", "a", 1), { ...row("2026-11-25", "b", 1), long_prompt_calls: 1 }]);
    expect(m.map((x) => [x.model, x.longCalls])).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
  });

  it("picks a round axis maximum in four steps", () => {
    expect(niceMax(21053)).toBe(24000);
    expect(niceMax(100)).toBe(100);
    expect(niceMax(0)).toBe(4);
    expect(niceMax(7)).toBe(8);
  });
});
