import { describe, expect, it, vi } from "vitest";
import {
  ApiClient,
  ACCESS_TOKEN_KEY,
  ApiError,
  REFRESH_TOKEN_KEY,
  parseErrorResponse,
  type KeyValueStorage,
  type SessionChange,
} from "../src/api/client";
import type { Session } from "../src/api/types";

class MemoryStorage implements KeyValueStorage {
  map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

const USER = { id: "u1", email: "ada@example.com", display_name: "Ada", created_at: "2026-01-01T00:00:00Z" };

function session(n: number, expiresIn = 900): Session {
  return {
    user: USER,
    access_token: `access-${n}`,
    token_type: "Bearer",
    expires_in: expiresIn,
    refresh_token: `refresh-${n}`,
    refresh_expires_in: 2592000,
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function errorBody(code: string, message: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message, request_id: "req-1", ...extra } };
}

type Handler = (call: Call) => Response | Promise<Response>;

function setup(handler: Handler, options: { now?: () => number; persistent?: MemoryStorage } = {}) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const call: Call = {
      method: init?.method ?? "GET",
      url: String(input),
      headers,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return handler(call);
  });
  const persistent = options.persistent ?? new MemoryStorage();
  const tab = new MemoryStorage();
  const changes: SessionChange[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const client = new ApiClient({
    fetch: fetchMock as unknown as typeof fetch,
    persistentStorage: persistent,
    tabStorage: tab,
    now: options.now,
    setTimeout: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimeout: () => undefined,
  });
  client.onSessionChange((c) => changes.push(c));
  return { client, calls, persistent, tab, changes, timers, fetchMock };
}

/** A server with rotating refresh tokens, as the API does. */
function server(routes: Record<string, Handler> = {}) {
  let n = 1;
  let valid = "refresh-1";
  let access = "access-1";
  const state = {
    refreshes: 0,
    revoke() {
      valid = "";
    },
    expireAccess() {
      access = "";
    },
  };
  const handler: Handler = (call) => {
    const path = new URL(call.url, "http://x").pathname;
    if (path === "/api/auth/login" || path === "/api/auth/register") {
      return json(path.endsWith("register") ? 201 : 200, session(1));
    }
    if (path === "/api/auth/refresh") {
      state.refreshes += 1;
      const body = call.body as { refresh_token: string };
      if (body.refresh_token !== valid) return json(401, errorBody("invalid_refresh_token", "Invalid refresh token."));
      n += 1;
      valid = `refresh-${n}`;
      access = `access-${n}`;
      return json(200, session(n));
    }
    if (path === "/api/auth/logout") return new Response(null, { status: 204 });
    if (call.headers.authorization !== `Bearer ${access}`) {
      return json(401, errorBody("unauthorized", "Missing or invalid access token."), {
        "WWW-Authenticate": 'Bearer realm="brainstorm", error="invalid_token"',
      });
    }
    const route = routes[`${call.method} ${path}`];
    if (route) return route(call);
    return json(404, errorBody("not_found", "Not found."));
  };
  return { handler, state };
}

describe("ApiClient: sessions", () => {
  it("signs in, keeps the refresh token in localStorage and sends the access token", async () => {
    const s = server({ "GET /api/auth/me": () => json(200, { user: USER }) });
    const { client, calls, persistent, tab, changes } = setup(s.handler);
    await client.login("ada@example.com", "a long passphrase");
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBe("refresh-1");
    expect(tab.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(changes).toEqual([{ kind: "signed_in", user: USER }]);
    const me = await client.me();
    expect(me).toEqual(USER);
    const last = calls[calls.length - 1] as Call;
    expect(last.headers.authorization).toBe("Bearer access-1");
    expect(last.headers.accept).toBe("application/json");
    expect(calls[0]?.headers.authorization).toBeUndefined();
    expect(calls[0]?.headers["content-type"]).toBe("application/json");
  });

  it("keeps the refresh token for this tab only when not remembered", async () => {
    const { client, persistent, tab } = setup(server().handler);
    await client.login("ada@example.com", "pw", false);
    expect(tab.getItem(REFRESH_TOKEN_KEY)).toBe("refresh-1");
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });

  it("on 401 refreshes (rotating the token) and retries the request once", async () => {
    const s = server({ "GET /api/projects": () => json(200, { projects: [], next_cursor: null }) });
    const { client, calls, persistent } = setup(s.handler);
    await client.login("a@b.co", "pw");
    s.state.expireAccess();
    const page = await client.listProjects();
    expect(page.projects).toEqual([]);
    const paths = calls.map((c) => `${c.method} ${new URL(c.url, "http://x").pathname}`);
    expect(paths).toEqual([
      "POST /api/auth/login",
      "GET /api/projects",
      "POST /api/auth/refresh",
      "GET /api/projects",
    ]);
    expect(calls[2]?.body).toEqual({ refresh_token: "refresh-1" });
    expect(calls[3]?.headers.authorization).toBe("Bearer access-2");
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBe("refresh-2");
  });

  it("refreshes once for many requests that get 401 at the same time", async () => {
    const s = server({ "GET /api/agents": () => json(200, { agents: [], demo_model: true }) });
    const { client } = setup(s.handler);
    await client.login("a@b.co", "pw");
    s.state.expireAccess();
    const results = await Promise.all([client.agents(), client.agents(), client.agents()]);
    expect(results.every((r) => r.demo_model)).toBe(true);
    expect(s.state.refreshes).toBe(1);
  });

  it("refreshes before a request when the access token is about to expire", async () => {
    let now = 1_000_000;
    const s = server({ "GET /api/usage": () => json(200, { days: 30, usage: [], total_cost_usd: 0 }) });
    const { client, calls } = setup(s.handler, { now: () => now });
    await client.login("a@b.co", "pw");
    now += 890_000; // 10 s before the 15 minutes are over
    await client.usage();
    const paths = calls.map((c) => new URL(c.url, "http://x").pathname);
    expect(paths).toEqual(["/api/auth/login", "/api/auth/refresh", "/api/usage"]);
  });

  it("schedules a refresh a minute before expiry", async () => {
    const s = server();
    const { client, timers } = setup(s.handler);
    await client.login("a@b.co", "pw");
    expect(timers[timers.length - 1]?.ms).toBe(840_000);
    timers[timers.length - 1]?.fn();
    await vi.waitFor(() => expect(s.state.refreshes).toBe(1));
  });

  it("ends the session when the refresh token is refused (revoked), and says so", async () => {
    const s = server({ "GET /api/projects": () => json(200, { projects: [], next_cursor: null }) });
    const { client, persistent, changes } = setup(s.handler);
    await client.login("a@b.co", "pw");
    s.state.revoke();
    s.state.expireAccess();
    const err = await client.listProjects().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(client.user).toBeNull();
    expect(changes[changes.length - 1]).toEqual({ kind: "expired" });
  });

  it("restores a session from the stored refresh token", async () => {
    const s = server();
    const { client, persistent, changes } = setup(s.handler);
    persistent.setItem(REFRESH_TOKEN_KEY, "refresh-1");
    const user = await client.restore();
    expect(user).toEqual(USER);
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBe("refresh-2");
    expect(changes).toEqual([{ kind: "signed_in", user: USER }]);
  });

  it("restores nothing without a stored token, and nothing from a revoked one", async () => {
    const s = server();
    const { client, persistent } = setup(s.handler);
    expect(await client.restore()).toBeNull();
    persistent.setItem(REFRESH_TOKEN_KEY, "stolen-and-rotated");
    expect(await client.restore()).toBeNull();
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });

  it("presents the newest stored refresh token (another tab rotated it)", async () => {
    const s = server({ "GET /api/agents": () => json(200, { agents: [], demo_model: false }) });
    const { client, persistent, calls } = setup(s.handler);
    await client.login("a@b.co", "pw");
    // Another tab refreshed: the server now knows refresh-2 only.
    const other = setup(s.handler);
    other.persistent.setItem(REFRESH_TOKEN_KEY, "refresh-1");
    await other.client.restore();
    persistent.setItem(REFRESH_TOKEN_KEY, other.persistent.getItem(REFRESH_TOKEN_KEY) as string);
    s.state.expireAccess();
    await client.agents();
    const refresh = calls.filter((c) => c.url.endsWith("/api/auth/refresh"));
    expect(refresh[refresh.length - 1]?.body).toEqual({ refresh_token: "refresh-2" });
    expect(client.user).toEqual(USER);
  });

  it("signs out: revokes on the server and forgets the tokens", async () => {
    const s = server();
    const { client, calls, persistent, changes } = setup(s.handler);
    await client.login("a@b.co", "pw");
    await client.logout();
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    const last = calls[calls.length - 1] as Call;
    expect(last.url).toBe("/api/auth/logout");
    expect(last.body).toEqual({ refresh_token: "refresh-1" });
    expect(changes[changes.length - 1]).toEqual({ kind: "signed_out" });
  });

  it("does not end the session when the refresh fails for lack of network", async () => {
    let down = false;
    const s = server({ "GET /api/agents": () => json(200, { agents: [], demo_model: false }) });
    const { client, persistent } = setup((c) => {
      if (down) throw new TypeError("Failed to fetch");
      return s.handler(c);
    });
    await client.login("a@b.co", "pw");
    s.state.expireAccess();
    down = true;
    const err = (await client.agents().catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("network_error");
    expect(err.status).toBe(0);
    expect(persistent.getItem(REFRESH_TOKEN_KEY)).toBe("refresh-1");
    expect(client.user).toEqual(USER);
  });
});

describe("ApiClient: tabs of one session", () => {
  const paths = (calls: Call[]) => calls.map((c) => `${c.method} ${new URL(c.url, "http://x").pathname}`);

  it("a tab that opens takes the access token another tab stored, without a refresh", async () => {
    let now = 1_000_000;
    const s = server({ "GET /api/agents": () => json(200, { agents: [], demo_model: false }) });
    const first = setup(s.handler, { now: () => now });
    await first.client.login("a@b.co", "pw");
    now += 60_000;
    const second = setup(s.handler, { now: () => now, persistent: first.persistent });
    expect(await second.client.restore()).toEqual(USER);
    expect(second.changes).toEqual([{ kind: "signed_in", user: USER }]);
    await second.client.agents();
    expect(paths(second.calls)).toEqual(["GET /api/agents"]);
    expect(second.calls[0]?.headers.authorization).toBe("Bearer access-1");
    expect(s.state.refreshes).toBe(0);
    // Its refresh is due when the shared token's is: 14 minutes after it was given.
    expect(second.timers[second.timers.length - 1]?.ms).toBe(780_000);
  });

  it("one refresh serves every tab when their tokens come due", async () => {
    let now = 1_000_000;
    const s = server();
    const tabs = [setup(s.handler, { now: () => now })];
    await tabs[0]?.client.login("a@b.co", "pw");
    for (let i = 1; i < 20; i++) {
      const t = setup(s.handler, { now: () => now, persistent: tabs[0]?.persistent });
      await t.client.restore();
      tabs.push(t);
    }
    now += 840_000;
    for (const t of tabs) {
      t.timers[t.timers.length - 1]?.fn();
      await vi.waitFor(() => expect(t.changes[t.changes.length - 1]?.kind).toBe("refreshed"));
    }
    expect(s.state.refreshes).toBe(1);
    for (const t of tabs) {
      expect(await t.client.me().catch(() => null)).toBeNull(); // no route: 404 with the new token
      const last = t.calls[t.calls.length - 1] as Call;
      expect(last.headers.authorization).toBe("Bearer access-2");
    }
  });

  it("asks the server when the stored token is the one a request was refused with", async () => {
    const s = server({ "GET /api/agents": () => json(200, { agents: [], demo_model: true }) });
    const first = setup(s.handler);
    await first.client.login("a@b.co", "pw");
    const second = setup(s.handler, { persistent: first.persistent });
    await second.client.restore();
    s.state.expireAccess();
    expect((await second.client.agents()).demo_model).toBe(true);
    expect(paths(second.calls)).toEqual(["GET /api/agents", "POST /api/auth/refresh", "GET /api/agents"]);
    // The first tab is refused with its token too, and takes the second's.
    expect((await first.client.agents()).demo_model).toBe(true);
    expect(paths(first.calls).slice(1)).toEqual(["GET /api/agents", "GET /api/agents"]);
    expect(first.calls[first.calls.length - 1]?.headers.authorization).toBe("Bearer access-2");
    expect(s.state.refreshes).toBe(1);
  });

  it("asks the server when the stored token is about to expire or belongs to an older refresh token", async () => {
    let now = 1_000_000;
    const s = server();
    const first = setup(s.handler, { now: () => now });
    await first.client.login("a@b.co", "pw");
    now += 850_000; // 50 s left: less than the margin
    const second = setup(s.handler, { now: () => now, persistent: first.persistent });
    await second.client.restore();
    expect(s.state.refreshes).toBe(1);
    const shared = JSON.parse(first.persistent.getItem(ACCESS_TOKEN_KEY) as string) as { token: string };
    expect(shared.token).toBe("access-2");
    // A tab of an older version of the app rotates the refresh token and
    // stores no access token: the stored one belongs to refresh-2.
    const older = setup(s.handler, { now: () => now });
    older.persistent.setItem(REFRESH_TOKEN_KEY, "refresh-2");
    await older.client.restore();
    first.persistent.setItem(REFRESH_TOKEN_KEY, "refresh-3");
    const third = setup(s.handler, { now: () => now, persistent: first.persistent });
    expect(await third.client.restore()).toEqual(USER);
    expect(s.state.refreshes).toBe(3);
    expect(third.calls[0]?.body).toEqual({ refresh_token: "refresh-3" });
  });

  it("forgets the stored access token at sign-out", async () => {
    const s = server();
    const { client, persistent } = setup(s.handler);
    await client.login("a@b.co", "pw");
    expect(persistent.getItem(ACCESS_TOKEN_KEY)).not.toBeNull();
    await client.logout();
    expect(persistent.getItem(ACCESS_TOKEN_KEY)).toBeNull();
  });
});

describe("ApiClient: errors", () => {
  it("parses the API's error shape", async () => {
    const e = await parseErrorResponse(
      json(422, errorBody("validation_failed", "title: 1 to 255 characters.", { field: "title" })),
    );
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(422);
    expect(e.code).toBe("validation_failed");
    expect(e.message).toBe("title: 1 to 255 characters.");
    expect(e.requestId).toBe("req-1");
    expect(e.field).toBe("title");
  });

  it("carries `current` of a 409 version conflict", async () => {
    const current = { id: "i1", text: "now", version: 3 };
    const e = await parseErrorResponse(
      json(409, { error: { code: "version_conflict", message: "Stale version.", request_id: "r" }, current }),
    );
    expect(e.code).toBe("version_conflict");
    expect(e.current).toEqual(current);
  });

  it("reads Retry-After of a 429", async () => {
    const e = await parseErrorResponse(json(429, errorBody("rate_limited", "Too many."), { "Retry-After": "7" }));
    expect(e.code).toBe("rate_limited");
    expect(e.retryAfter).toBe(7);
  });

  it("turns a body that is not JSON into a generic error with the status", async () => {
    const e = await parseErrorResponse(
      new Response("<html>Bad Gateway</html>", { status: 502, headers: { "X-Request-Id": "abc" } }),
    );
    expect(e.status).toBe(502);
    expect(e.code).toBe("http_502");
    expect(e.requestId).toBe("abc");
    expect(e.message).toMatch(/not available/);
  });

  it("throws ApiError from requests, with the server's code", async () => {
    const s = server({
      "POST /api/projects": () => json(422, errorBody("validation_failed", "Bad title.", { field: "title" })),
    });
    const { client } = setup(s.handler);
    await client.login("a@b.co", "pw");
    const err = (await client.createProject("").catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("validation_failed");
    expect(err.field).toBe("title");
  });

  it("sends PATCH bodies with the version, and returns undefined for 204", async () => {
    const s = server({
      "PATCH /api/projects/p1/items/i1": (c) => json(200, { id: "i1", ...(c.body as object) }),
      "DELETE /api/projects/p1/items/i1": () => new Response(null, { status: 204 }),
    });
    const { client, calls } = setup(s.handler);
    await client.login("a@b.co", "pw");
    const item = await client.updateItem("p1", "i1", { state: "parked", version: 4 });
    expect(item).toMatchObject({ id: "i1", state: "parked", version: 4 });
    expect(calls[calls.length - 1]?.body).toEqual({ state: "parked", version: 4 });
    expect(await client.deleteItem("p1", "i1")).toBeUndefined();
  });

  it("reads a board bigger than one page by following next_cursor", async () => {
    const pages: Record<string, { items: { id: string }[]; next_cursor: string | null }> = {
      "": { items: [{ id: "a" }, { id: "b" }], next_cursor: "c1" },
      c1: { items: [{ id: "c" }], next_cursor: "c2" },
      c2: { items: [{ id: "d" }], next_cursor: null },
    };
    const s = server({
      "GET /api/projects/p1/items": (c) => {
        const cursor = new URL(c.url, "http://x").searchParams.get("cursor") ?? "";
        return json(200, pages[cursor]);
      },
    });
    const { client, calls } = setup(s.handler);
    await client.login("a@b.co", "pw");
    const items = await client.listItems("p1", "exploring");
    expect(items.map((i) => i.id)).toEqual(["a", "b", "c", "d"]);
    const urls = calls.filter((c) => c.url.includes("/items")).map((c) => new URL(c.url, "http://x"));
    expect(urls).toHaveLength(3);
    expect(urls.map((u) => u.searchParams.get("cursor"))).toEqual([null, "c1", "c2"]);
    for (const u of urls) {
      expect(u.searchParams.get("state")).toBe("exploring");
      expect(u.searchParams.get("limit")).toBe("1000");
    }
  });

  it("asks for an event stream with Last-Event-ID when reopening the live events", async () => {
    const s = server({
      "GET /api/projects/p1/events": () =>
        new Response("retry: 3000\n\n", { status: 200, headers: { "Content-Type": "text/event-stream" } }),
    });
    const { client, calls } = setup(s.handler);
    await client.login("a@b.co", "pw");
    const res = await client.openEvents("p1", "1795601537408-1");
    expect(res.status).toBe(200);
    const last = calls[calls.length - 1] as Call;
    expect(last.headers.accept).toBe("text/event-stream");
    expect(last.headers["last-event-id"]).toBe("1795601537408-1");
    expect(last.headers.authorization).toBe("Bearer access-1");
  });

  it("posts a message asking for the turn as an event stream", async () => {
    const s = server({
      "POST /api/projects/p1/messages": () =>
        new Response("event: turn.done\ndata: {}\n\n", { status: 200, headers: { "Content-Type": "text/event-stream" } }),
    });
    const { client, calls } = setup(s.handler);
    await client.login("a@b.co", "pw");
    await client.postMessageStream("p1", "Hello there");
    const last = calls[calls.length - 1] as Call;
    expect(last.headers.accept).toBe("text/event-stream");
    expect(last.body).toEqual({ content: "Hello there" });
  });
});
