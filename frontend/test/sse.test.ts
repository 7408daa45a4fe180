import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SSEParser, readEventStream, type SSEMessage } from "../src/api/sse";

const fixtures = path.join(__dirname, "fixtures");
const recorded = {
  // A turn streamed by POST /api/projects/{id}/messages (the real stack).
  turn: readFileSync(path.join(fixtures, "turn.sse")),
  // A turn with the questioner ([intent:exploring]).
  questions: readFileSync(path.join(fixtures, "turn-questions.sse")),
  // GET /api/projects/{id}/events: retry, ids, the same turn's events.
  events: readFileSync(path.join(fixtures, "events.sse")),
};

// Everything the format allows, in one small stream.
const SYNTHETIC =
  "\uFEFF" + // a byte order mark, dropped
  ": a comment\n" +
  "retry: 2500\n" +
  "retry: soon\n" + // not digits: ignored
  "\n" +
  "event: first\r\n" +
  "data: one\r\n" +
  "data:two\r\n" + // no space after the colon
  "data:  three\r\n" + // only one space is removed
  "id: 7\r\n" +
  "\r\n" +
  "data\n" + // a field name alone: empty data
  "\n" +
  "event: unused\n" +
  "\n" + // an event type without data dispatches nothing
  "data: héllo wörld ✓ 🎉\r" + // bare \r line endings and multi-byte UTF-8
  "id: 8\r" +
  "\r" +
  ":heartbeat\n\n" +
  "id: bad\u0000id\n" + // an id with NUL is ignored
  "unknown: field\n" +
  "data: {\"a\":1}\n" +
  "\n" +
  "id\n" + // empty id resets the last event id
  "data: after reset\n" +
  "\n" +
  "data: never finished\n"; // no blank line: dropped at the end

const SYNTHETIC_EXPECTED: SSEMessage[] = [
  { event: "first", data: "one\ntwo\n three", id: "7" },
  { event: "message", data: "", id: "7" },
  { event: "message", data: "héllo wörld ✓ 🎉", id: "8" },
  { event: "message", data: '{"a":1}', id: "8" },
  { event: "message", data: "after reset", id: "" },
];

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++] as Uint8Array);
      else controller.close();
    },
  });
}

async function parseChunks(chunks: Uint8Array[]): Promise<{ events: SSEMessage[]; retries: number[]; comments: string[] }> {
  const events: SSEMessage[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  for await (const m of readEventStream(streamOf(chunks), {
    onRetry: (ms) => retries.push(ms),
    onComment: (c) => comments.push(c),
  })) {
    events.push(m);
  }
  return { events, retries, comments };
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("SSEParser", () => {
  it("parses every field rule of the format", async () => {
    const { events, retries, comments } = await parseChunks([new TextEncoder().encode(SYNTHETIC)]);
    expect(events).toEqual(SYNTHETIC_EXPECTED);
    expect(retries).toEqual([2500]);
    expect(comments).toEqual([" a comment", "heartbeat"]);
  });

  it("gives the same events for every single split point of the synthetic stream", async () => {
    const bytes = new TextEncoder().encode(SYNTHETIC);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { events } = await parseChunks(splitAt(bytes, [cut]));
      expect(events, `split at ${cut}`).toEqual(SYNTHETIC_EXPECTED);
    }
  });

  it("gives the same events for every pair of split points of the synthetic stream", async () => {
    const bytes = new TextEncoder().encode(SYNTHETIC);
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i; j < bytes.length; j++) {
        const { events } = await parseChunks(splitAt(bytes, [i, j]));
        if (JSON.stringify(events) !== JSON.stringify(SYNTHETIC_EXPECTED)) {
          expect(events, `split at ${i}, ${j}`).toEqual(SYNTHETIC_EXPECTED);
        }
      }
    }
  });

  it("handles a stream delivered one byte at a time", async () => {
    const bytes = new TextEncoder().encode(SYNTHETIC);
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    const { events } = await parseChunks(chunks);
    expect(events).toEqual(SYNTHETIC_EXPECTED);
  });

  it("keeps a \\r\\n split across two pushes as one line ending", () => {
    const got: SSEMessage[] = [];
    const p = new SSEParser({ onEvent: (m) => got.push(m) });
    p.push("data: a\r");
    p.push("\ndata: b\r");
    p.push("\n\r");
    p.push("\n");
    expect(got).toEqual([{ event: "message", data: "a\nb", id: "" }]);
  });

  it("starts from a given last event id and keeps ids across events", () => {
    const got: SSEMessage[] = [];
    const p = new SSEParser({ onEvent: (m) => got.push(m) }, "41");
    p.push("data: x\n\nid: 42\ndata: y\n\ndata: z\n\n");
    expect(got.map((m) => m.id)).toEqual(["41", "42", "42"]);
    expect(p.lastEventId).toBe("42");
  });
});

describe("recorded streams from the stack", () => {
  for (const [name, bytes] of Object.entries(recorded)) {
    it(`${name}: parses into the events the server sent`, async () => {
      const { events, retries } = await parseChunks([bytes]);
      const text = bytes.toString("utf8");
      // As many events as "event:" lines that end in a complete event.
      const complete = text.split(/\n\n/).filter((block: string) => /^data: /m.test(block));
      expect(events.length).toBe(complete.length);
      for (const e of events) expect(() => JSON.parse(e.data)).not.toThrow();
      if (name === "events") {
        expect(retries).toEqual([3000]);
        expect(events.every((e) => /^\d+-\d+$/.test(e.id))).toBe(true);
      }
      if (name === "turn") {
        expect(events[0]?.event).toBe("turn.started");
        expect(events[events.length - 1]?.event).toBe("turn.done");
        const deltas = events.filter((e) => e.event === "reply.delta").map((e) => (JSON.parse(e.data) as { text: string }).text);
        const done = events.find((e) => e.event === "reply.done");
        expect(deltas.join("")).toBe((JSON.parse(done?.data ?? "{}") as { text: string }).text);
      }
    });

    it(`${name}: every single split point gives the same events`, async () => {
      const whole = (await parseChunks([bytes])).events;
      for (let cut = 0; cut <= bytes.length; cut++) {
        const { events } = await parseChunks(splitAt(bytes, [cut]));
        if (events.length !== whole.length || JSON.stringify(events) !== JSON.stringify(whole)) {
          expect(events, `split at ${cut}`).toEqual(whole);
        }
      }
    });

    it(`${name}: random chunkings (1 to 64 bytes) and \\r\\n line endings give the same events`, async () => {
      const whole = (await parseChunks([bytes])).events;
      const random = rng(bytes.length);
      const crlf = Buffer.from(bytes.toString("utf8").replace(/\n/g, "\r\n"), "utf8");
      for (let round = 0; round < 200; round++) {
        const source = round % 2 === 0 ? bytes : crlf;
        const cuts: number[] = [];
        let at = 0;
        while (at < source.length) {
          at += 1 + Math.floor(random() * 64);
          if (at < source.length) cuts.push(at);
        }
        const { events } = await parseChunks(splitAt(source, cuts));
        if (JSON.stringify(events) !== JSON.stringify(whole)) {
          expect(events, `round ${round}`).toEqual(whole);
        }
      }
    });
  }
});

describe("readEventStream", () => {
  it("releases the stream when the consumer stops early", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("data: 1\n\ndata: 2\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const m of readEventStream(body)) {
      expect(m.data).toBe("1");
      break;
    }
    expect(cancelled).toBe(true);
  });

  it("passes a read error on to the consumer", async () => {
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (n++ === 0) c.enqueue(new TextEncoder().encode("data: 1\n\n"));
        else c.error(new Error("connection reset"));
      },
    });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const m of readEventStream(body)) got.push(m.data);
      })(),
    ).rejects.toThrow("connection reset");
    expect(got).toEqual(["1"]);
  });
});
