import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { ApiClient, ApiError } from "../src/api/client";
import { filenameFromDisposition, generateDocument, importProject } from "../src/api/documents";
import type { DocumentEvent, Item } from "../src/api/types";
import { Markdown, safeHref } from "../src/components/Markdown";
import { diffRows, importProblem, itemForCitation, parseCitations, plainText } from "../src/lib/documents";

function item(id: string, text = "An idea"): Item {
  return {
    id,
    project_id: "p",
    text,
    state: "decided",
    confidence: 90,
    user_quote: "",
    source_message_id: null,
    created_by: "recorder",
    position: 0,
    version: 1,
    created_at: "2026-12-05T00:00:00Z",
    updated_at: "2026-12-05T00:00:00Z",
  };
}

const BRIEF = [
  "# Brief: Invoice helper",
  "",
  "## Decisions",
  "",
  "- The product is a web app for designers.[^3f2a9c1d]",
  "- Invoices go out monthly.[^3f2a9c1d][^77aa0b12]",
  "",
  "## Sources",
  "",
  "[^3f2a9c1d]: Web app for designers (decided, confidence 90). The person's words: “Let's go with a web app \\*now\\*.”",
  "[^77aa0b12]: Monthly invoices &lt;b&gt; (exploring, confidence 60).",
  "",
].join("\n");

describe("citations", () => {
  it("reads the footnote definitions in order, once each", () => {
    const c = parseCitations(BRIEF + "[^3f2a9c1d]: a second definition is ignored\n");
    expect(c.map((x) => [x.label, x.number])).toEqual([
      ["3f2a9c1d", 1],
      ["77aa0b12", 2],
    ]);
    expect(c[0]?.text).toMatch(/^Web app for designers/);
  });

  it("ties a label to the one item whose id starts with it", () => {
    const items = [item("3f2a9c1d-0000-4000-8000-000000000001"), item("77aa0b12-0000-4000-8000-000000000002")];
    expect(itemForCitation("3f2a9c1d", items)?.id).toBe(items[0]?.id);
    expect(itemForCitation("deadbeef", items)).toBeNull();
    // Ambiguous (two items share the prefix) or too short: no guess.
    expect(itemForCitation("3f2a9c1d", [...items, item("3f2a9c1d-ffff-4000-8000-000000000003")])).toBeNull();
    expect(itemForCitation("3f", items)).toBeNull();
  });

  it("turns the server's escapes back into plain text", () => {
    expect(plainText("a \\*b\\* &lt;c&gt; &amp; \\[d\\]")).toBe("a *b* <c> & [d]");
  });
});

describe("Markdown rendering", () => {
  const render = (markdown: string, items: Item[] = []) =>
    renderToStaticMarkup(createElement(Markdown, { markdown, items, onShowItem: () => undefined }));

  it("never lets raw HTML through", () => {
    const html = render(
      [
        "# Title <script>alert(1)</script>",
        "",
        '<img src="x" onerror="alert(2)">',
        "",
        "<iframe src='https://example.com'></iframe>",
        "",
        'Text <b onclick="alert(3)">bold</b> and <style>body{display:none}</style>.',
      ].join("\n"),
    );
    expect(html).not.toMatch(/<script|<img|<iframe|<style|onerror|onclick|<b[ >]/i);
    expect(html).toContain("<h1");
  });

  it("keeps only http, https and mailto links, opened without an opener", () => {
    const html = render(
      "[a](javascript:alert(1)) [b](data:text/html,hi) [c](https://example.com/x) [d](mailto:a@example.com) [e](/relative)",
    );
    expect(html).not.toMatch(/javascript:|data:text/);
    expect(html).toContain('href="https://example.com/x"');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
    expect(html).toContain('href="mailto:a@example.com"');
    expect(html).not.toContain('href="/relative"');
    expect(safeHref(" JavaScript:alert(1)")).toBeNull();
    expect(safeHref("HTTPS://example.com")).toBe("HTTPS://example.com");
  });

  it("shows citations as numbered chips with their source, and ties sources to cards", () => {
    const items = [item("3f2a9c1d-0000-4000-8000-000000000001", "Web app for designers")];
    const html = render(BRIEF, items);
    expect(html).toContain('data-testid="citation"');
    expect(html).toMatch(/title="Web app for designers \(decided, confidence 90\)\. The person&#x27;s words: “Let&#x27;s go with a web app \*now\*\.”"/);
    expect(html).toContain("Show on board · Decided");
    // The second source is not on the board any more.
    expect(html).toContain("no longer on the board");
    // Entities in the source stay text.
    expect(html).not.toContain("<b>");
  });
});

describe("diff rows", () => {
  it("numbers both sides of a unified diff", () => {
    const rows = diffRows([
      "--- brief version 1",
      "+++ brief version 2",
      "@@ -3,3 +3,4 @@",
      " ## Decisions",
      "-- Old line",
      "+- New line",
      "+- Added line",
      " ",
      "\\ No newline at end of file",
    ]);
    expect(rows.map((r) => r.type)).toEqual(["file", "file", "hunk", "context", "removed", "added", "added", "context"]);
    expect(rows[3]).toMatchObject({ oldLine: 3, newLine: 3, text: "## Decisions" });
    expect(rows[4]).toMatchObject({ oldLine: 4, newLine: null, text: "- Old line" });
    expect(rows[5]).toMatchObject({ oldLine: null, newLine: 4, text: "- New line" });
    expect(rows[6]).toMatchObject({ newLine: 5 });
    expect(rows[7]).toMatchObject({ oldLine: 5, newLine: 6 });
  });

  it("is empty for versions that are the same", () => {
    expect(diffRows([])).toEqual([]);
  });
});

describe("export and import", () => {
  it("takes the file name from Content-Disposition, and only a name", () => {
    expect(filenameFromDisposition('attachment; filename="brainstorm-Tool library.md"', "x.md")).toBe("brainstorm-Tool library.md");
    expect(filenameFromDisposition("attachment; filename*=UTF-8''brainstorm-caf%C3%A9.json", "x.json")).toBe("brainstorm-café.json");
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"', "x")).toBe("_.._etc_passwd");
    expect(filenameFromDisposition(null, "fallback.json")).toBe("fallback.json");
  });

  it("explains a refused import: the path of the first problem, or the size", () => {
    const e422 = new ApiError({ status: 422, code: "validation_failed", message: "state must be one of...", field: "items[3].state" });
    expect(importProblem(e422)).toMatchObject({ title: "This file cannot be imported", path: "items[3].state" });
    const e413 = new ApiError({ status: 413, code: "payload_too_large", message: "too large" });
    expect(importProblem(e413).title).toBe("This file is too large to import");
    expect(importProblem(e413).path).toBeNull();
  });

  it("refuses a file that is not JSON before sending it", async () => {
    const client = new ApiClient({ fetch: (() => Promise.reject(new Error("no request expected"))) as unknown as typeof fetch });
    await expect(importProject(client, "# notes")).rejects.toMatchObject({ code: "invalid_json" });
  });
});

// ---- a generation's stream -------------------------------------------------------

function sse(events: [string, unknown][], cut = false): Response {
  let text = events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join("");
  if (cut) text = text.slice(0, -1);
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // In small pieces, as a network would.
      for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

async function signedInClient(answer: (url: string) => Response) {
  const session = {
    user: { id: "u1", email: "a@example.com", display_name: "A", created_at: "2026-12-05T00:00:00Z" },
    access_token: "access",
    token_type: "Bearer",
    expires_in: 900,
    refresh_token: "refresh",
    refresh_expires_in: 2592000,
  };
  const seen: { url: string; accept: string | null; body: string }[] = [];
  const client = new ApiClient({
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      if (url.endsWith("/api/auth/login")) {
        return new Response(JSON.stringify(session), { status: 200, headers: { "Content-Type": "application/json" } });
      }
      seen.push({ url, accept: new Headers(init?.headers).get("Accept"), body: String(init?.body) });
      return answer(url);
    }) as unknown as typeof fetch,
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  });
  await client.login("a@example.com", "password123", false);
  return { client, seen };
}

const G = { generation_id: "g1", kind: "brief" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("generateDocument", () => {
  it("streams the events and ends with the new version", async () => {
    const version = { kind: "brief", version: 3, title: "T", markdown: "# T\n", created_at: "2026-12-05T00:00:00Z" };
    const { client, seen } = await signedInClient(() =>
      sse([
        ["document.started", { ...G, agent: "brief_writer" }],
        ["agent.started", { ...G, agent: "brief_writer" }],
        ["agent.finished", { ...G, agent: "brief_writer", status: "ok", latency_ms: 12, tokens: { input: 1, output: 2, cache_read: 0, cache_write: 0 } }],
        ["items.changed", { items: [], removed: [] }],
        ["document.done", { ...G, status: "done", version, notes: ["one citation dropped"] }],
      ]),
    );
    const events: DocumentEvent[] = [];
    const r = await generateDocument(client, "p1", "brief", (e) => events.push(e));
    expect(seen[0]).toMatchObject({ url: "/api/projects/p1/documents", accept: "text/event-stream", body: '{"kind":"brief"}' });
    expect(events.map((e) => e.type)).toEqual(["document.started", "agent.started", "agent.finished", "document.done"]);
    expect(r).toMatchObject({ status: "done", version: 3, notes: ["one citation dropped"] });
    expect(r.document?.markdown).toBe("# T\n");
  });

  it("reports a failed generation with its code", async () => {
    const { client } = await signedInClient(() =>
      sse([
        ["document.started", { ...G, agent: "brief_writer" }],
        ["error", { ...G, code: "refused", message: "Claude declined." }],
        ["document.done", { ...G, status: "failed", code: "refused", error: "Claude declined.", notes: [] }],
      ]),
    );
    const r = await generateDocument(client, "p1", "brief", () => undefined);
    expect(r).toMatchObject({ status: "failed", code: "refused", error: "Claude declined.", version: null });
  });

  it("treats a stream that ends before any event as a failure", async () => {
    const { client } = await signedInClient(() => sse([], true));
    const r = await generateDocument(client, "p1", "brief", () => undefined);
    expect(r.status).toBe("failed");
    expect(r.error).toMatch(/dropped/);
  });

  it("asks for the state of a generation whose stream dropped: it goes on on the server", async () => {
    const version = { kind: "brief", version: 2, title: "T", markdown: "# T\n", created_at: "2026-12-05T00:00:00Z" };
    const { client, seen } = await signedInClient((url) =>
      url.includes("/generations/")
        ? json({ ...G, status: "done", runs: 1, error: null, notes: [], version })
        : sse([["document.queued", G], ["document.started", { ...G, agent: "brief_writer" }]], true),
    );
    const r = await generateDocument(client, "p1", "brief", () => undefined);
    expect(seen[1]?.url).toBe("/api/projects/p1/documents/generations/g1");
    expect(r).toMatchObject({ status: "done", version: 2 });
  });

  it("follows a queued generation answered 202 to its end", async () => {
    let asked = 0;
    const { client } = await signedInClient((url) => {
      if (!url.includes("/generations/")) return json({ ...G, status: "queued", url: "/x", stream_url: "/x/events" }, 202);
      asked += 1;
      return json({ ...G, status: asked < 2 ? "running" : "failed", runs: 1, error: "Claude declined.", notes: [], version: null });
    });
    const r = await generateDocument(client, "p1", "brief", () => undefined);
    expect(asked).toBe(2);
    expect(r).toMatchObject({ status: "failed", error: "Claude declined.", version: null });
  });

  it("throws the refusal to start (409 generation_running) as an ApiError", async () => {
    const { client } = await signedInClient(
      () =>
        new Response(JSON.stringify({ error: { code: "generation_running", message: "A document is being generated." } }), {
          status: 409,
          headers: { "Content-Type": "application/json" },
        }),
    );
    await expect(generateDocument(client, "p1", "brief", () => undefined)).rejects.toMatchObject({
      status: 409,
      code: "generation_running",
    });
  });
});
