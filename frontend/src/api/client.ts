// The one typed API client that every component uses (docs/API.md).
//
// Sessions: the refresh token lives in localStorage ("keep me signed in") or
// sessionStorage (this tab only), and beside it the access token it last
// gave, so that every tab of a session shares one: a tab that opens, or
// whose token is about to expire, takes the stored one while it has more
// than the refresh margin left, and asks the server only otherwise. One
// refresh every quarter of an hour serves any number of tabs; the server
// allows a session REFRESH_RATE_LIMIT refreshes an hour (60 by default),
// which tabs refreshing on their own would use up at fourteen tabs. The
// access token is refreshed before it expires and, transparently, when a
// request answers 401; refresh tokens rotate on every use, so a refresh
// always presents the newest stored token, one tab at a time (Web Locks),
// because presenting an already rotated token revokes the whole family. A
// refresh answered 401 (revoked, expired, reused) ends the session.

import { cleanLine } from "../lib/text";
import type {
  AgentRun,
  AgentsResponse,
  Item,
  ItemHistory,
  ItemPage,
  ItemState,
  Message,
  Project,
  ProjectPage,
  ProjectStatus,
  Session,
  UsageResponse,
  User,
} from "./types";

export const REFRESH_TOKEN_KEY = "brainstorm.refresh_token";
/** The access token the stored refresh token last gave (a SharedAccess). */
export const ACCESS_TOKEN_KEY = "brainstorm.access_token";

/** What ACCESS_TOKEN_KEY holds, as JSON. */
interface SharedAccess {
  token: string;
  /** ms since the epoch. */
  expires_at: number;
  user: User;
  /** The end of the refresh token it goes with: a newer one makes it stale. */
  refresh: string;
}

/** Enough of a refresh token to tell it from the next one. */
function refreshTag(token: string): string {
  return token.slice(-16);
}
/** Items per page of the board: the API's largest page. */
export const ITEMS_PAGE_MAX = 1000;
/** Pages of one board at most (ITEMS_MAX_PER_PROJECT is 2000 by default). */
export const ITEMS_PAGES_MAX = 1000;

/** An error answer of the API ({"error": {...}}), or a failure to reach it. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  readonly field: string | null;
  /** For 409 version_conflict: the stored object as it is now. */
  readonly current: unknown;
  /** Seconds, from Retry-After (429, 503). */
  readonly retryAfter: number | null;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    requestId?: string | null;
    field?: string | null;
    current?: unknown;
    retryAfter?: number | null;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId ?? null;
    this.field = init.field ?? null;
    this.current = init.current;
    this.retryAfter = init.retryAfter ?? null;
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** The human text to show for any error thrown by the client or the app. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === "rate_limited" && e.retryAfter) {
      return `${e.message} (try again in ${e.retryAfter} s)`;
    }
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

const GENERIC_MESSAGES: Record<number, string> = {
  400: "The request could not be understood.",
  401: "Please sign in again.",
  404: "Not found.",
  409: "This changed in the meantime.",
  413: "That is too large.",
  422: "Some of the input is not valid.",
  429: "Too many requests; please wait a moment.",
  500: "Something went wrong on the server.",
  502: "The server is not available right now; retrying shortly may help.",
  503: "The service is not available right now; retrying shortly may help.",
  504: "The server did not answer in time.",
};

function parseRetryAfter(value: string | null): number | null {
  if (value === null) return null;
  const n = Number(value.trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** The ApiError for a response that is not ok, from its JSON error body when it has one. */
export async function parseErrorResponse(res: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
  let text = "";
  try {
    text = await res.text();
  } catch {
    /* the body is gone: use the status */
  }
  try {
    const body: unknown = JSON.parse(text);
    if (body !== null && typeof body === "object" && "error" in body) {
      const err = (body as { error: unknown }).error;
      if (err !== null && typeof err === "object") {
        const e = err as Record<string, unknown>;
        const code = typeof e.code === "string" ? e.code : `http_${res.status}`;
        const message =
          typeof e.message === "string" && e.message !== ""
            ? e.message
            : (GENERIC_MESSAGES[res.status] ?? `Request failed (${res.status}).`);
        return new ApiError({
          status: res.status,
          code,
          message,
          requestId:
            typeof e.request_id === "string" ? e.request_id : res.headers.get("X-Request-Id"),
          field: typeof e.field === "string" ? e.field : null,
          current: (body as Record<string, unknown>).current ?? e.current,
          retryAfter,
        });
      }
    }
  } catch {
    /* not JSON */
  }
  return new ApiError({
    status: res.status,
    code: `http_${res.status}`,
    message: GENERIC_MESSAGES[res.status] ?? `Request failed (${res.status}).`,
    requestId: res.headers.get("X-Request-Id"),
    retryAfter,
  });
}

function networkError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof DOMException && e.name === "AbortError") throw e;
  return new ApiError({
    status: 0,
    code: "network_error",
    message: "Cannot reach the server. Check your connection and try again.",
  });
}

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type SessionChange =
  | { kind: "signed_in"; user: User }
  | { kind: "refreshed"; user: User }
  | { kind: "signed_out" }
  /** The refresh token was refused (revoked, expired, reused elsewhere). */
  | { kind: "expired" };

export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  /** "Keep me signed in": survives the browser (localStorage). */
  persistentStorage?: KeyValueStorage | null;
  /** This tab only (sessionStorage). */
  tabStorage?: KeyValueStorage | null;
  now?: () => number;
  /** Runs fn while holding a lock shared by every tab (navigator.locks). */
  withLock?: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  /** Refresh this many ms before the access token expires (default 60 s). */
  refreshMarginMs?: number;
  /** Default timeout for JSON requests (default 30 s). */
  timeoutMs?: number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** false for the auth endpoints that take no token. */
  auth?: boolean;
  timeoutMs?: number;
}

export interface ProjectPatch {
  title?: string;
  description?: string;
  status?: ProjectStatus;
  version: number;
}

export interface ItemPatch {
  text?: string;
  state?: ItemState;
  position?: number;
  reason?: string;
  version: number;
}

export interface NewItem {
  text: string;
  state?: ItemState;
  user_quote?: string;
  confidence?: number;
  position?: number;
}

function joinSignals(signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const list = signals.filter((s): s is AbortSignal => s !== undefined);
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  return AbortSignal.any(list);
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly persistent: KeyValueStorage | null;
  private readonly tab: KeyValueStorage | null;
  private readonly now: () => number;
  private readonly withLock: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  private readonly refreshMarginMs: number;
  private readonly timeoutMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  private accessToken: string | null = null;
  private accessExpiresAt = 0;
  private refreshTimer: unknown = null;
  private refreshing: Promise<void> | null = null;
  private listeners = new Set<(change: SessionChange) => void>();
  user: User | null = null;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.persistent = options.persistentStorage ?? null;
    this.tab = options.tabStorage ?? null;
    this.now = options.now ?? (() => Date.now());
    this.withLock = options.withLock ?? ((_name, fn) => fn());
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.setTimer = options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimer =
      options.clearTimeout ??
      ((h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>));
  }

  // ---- session -------------------------------------------------------------

  onSessionChange(listener: (change: SessionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: SessionChange): void {
    for (const l of [...this.listeners]) l(change);
  }

  get signedIn(): boolean {
    return this.user !== null;
  }

  /** The stored refresh token: the persistent one first, then this tab's. */
  storedRefreshToken(): string | null {
    return this.persistent?.getItem(REFRESH_TOKEN_KEY) ?? this.tab?.getItem(REFRESH_TOKEN_KEY) ?? null;
  }

  private storeSession(session: Session, expiresAt: number, remember: boolean): void {
    const keep = remember ? this.persistent : this.tab;
    const other = remember ? this.tab : this.persistent;
    other?.removeItem(REFRESH_TOKEN_KEY);
    other?.removeItem(ACCESS_TOKEN_KEY);
    const shared: SharedAccess = {
      token: session.access_token,
      expires_at: expiresAt,
      user: session.user,
      refresh: refreshTag(session.refresh_token),
    };
    const store = keep ?? other;
    store?.setItem(REFRESH_TOKEN_KEY, session.refresh_token);
    store?.setItem(ACCESS_TOKEN_KEY, JSON.stringify(shared));
  }

  /**
   * The access token another tab stored for the current refresh token, if it
   * is neither `rejected` (the one a request was just refused with) nor the
   * one this tab holds, and has more than the refresh margin left.
   */
  private sharedAccess(refreshToken: string, rejected: string | null): SharedAccess | null {
    const store = this.rememberedPersistently() ? this.persistent : this.tab;
    const text = store?.getItem(ACCESS_TOKEN_KEY);
    if (text == null) return null;
    let shared: SharedAccess;
    try {
      shared = JSON.parse(text) as SharedAccess;
    } catch {
      return null;
    }
    if (
      typeof shared.token !== "string" ||
      typeof shared.expires_at !== "number" ||
      typeof shared.user !== "object" ||
      shared.user === null ||
      shared.refresh !== refreshTag(refreshToken) ||
      shared.token === rejected ||
      shared.token === this.accessToken ||
      shared.expires_at - this.now() <= this.refreshMarginMs
    ) {
      return null;
    }
    return shared;
  }

  private rememberedPersistently(): boolean {
    return this.persistent?.getItem(REFRESH_TOKEN_KEY) != null;
  }

  private clearStoredTokens(): void {
    for (const store of [this.persistent, this.tab]) {
      store?.removeItem(REFRESH_TOKEN_KEY);
      store?.removeItem(ACCESS_TOKEN_KEY);
    }
  }

  private applySession(session: Session, remember: boolean): void {
    this.accessToken = session.access_token;
    this.accessExpiresAt = this.now() + session.expires_in * 1000;
    this.user = session.user;
    this.storeSession(session, this.accessExpiresAt, remember);
    this.scheduleRefresh(session.expires_in * 1000);
  }

  /** Take the access token another tab of this session stored. */
  private adoptSharedAccess(shared: SharedAccess): void {
    this.accessToken = shared.token;
    this.accessExpiresAt = shared.expires_at;
    this.user = shared.user;
    this.scheduleRefresh(shared.expires_at - this.now());
  }

  private scheduleRefresh(lifetimeMs: number): void {
    if (this.refreshTimer !== null) this.clearTimer(this.refreshTimer);
    const delay = Math.max(5_000, lifetimeMs - this.refreshMarginMs);
    this.refreshTimer = this.setTimer(() => {
      this.refreshTimer = null;
      this.refresh().catch(() => {
        /* a network failure: the next request tries again */
      });
    }, delay);
  }

  private endSession(change: SessionChange): void {
    this.accessToken = null;
    this.accessExpiresAt = 0;
    const had = this.user !== null;
    this.user = null;
    this.clearStoredTokens();
    if (this.refreshTimer !== null) {
      this.clearTimer(this.refreshTimer);
      this.refreshTimer = null;
    }
    if (had || change.kind === "expired") this.emit(change);
  }

  /** Forget the session without telling the server (another tab signed out). */
  dropSession(): void {
    this.accessToken = null;
    this.accessExpiresAt = 0;
    const had = this.user !== null;
    this.user = null;
    if (this.refreshTimer !== null) {
      this.clearTimer(this.refreshTimer);
      this.refreshTimer = null;
    }
    if (had) this.emit({ kind: "signed_out" });
  }

  /** At start-up: a stored refresh token becomes a session (or nothing). */
  async restore(): Promise<User | null> {
    if (this.storedRefreshToken() === null) return null;
    try {
      await this.refresh();
      return this.user;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  }

  async register(
    email: string,
    password: string,
    displayName: string,
    remember = true,
  ): Promise<User> {
    const body: Record<string, string> = { email, password };
    const name = cleanLine(displayName);
    if (name !== "") body.display_name = name;
    const session = await this.request<Session>("POST", "/api/auth/register", {
      body,
      auth: false,
    });
    this.applySession(session, remember);
    this.emit({ kind: "signed_in", user: session.user });
    return session.user;
  }

  async login(email: string, password: string, remember = true): Promise<User> {
    const session = await this.request<Session>("POST", "/api/auth/login", {
      body: { email, password },
      auth: false,
    });
    this.applySession(session, remember);
    this.emit({ kind: "signed_in", user: session.user });
    return session.user;
  }

  async logout(): Promise<void> {
    const token = this.storedRefreshToken();
    this.endSession({ kind: "signed_out" });
    if (token !== null) {
      try {
        await this.request<undefined>("POST", "/api/auth/logout", {
          body: { refresh_token: token },
          auth: false,
        });
      } catch {
        /* signed out here anyway */
      }
    }
  }

  /**
   * One refresh at a time in this tab, and one at a time across tabs.
   * rejected: the access token a request was just refused with, which must
   * not be taken again from the storage the tabs share.
   */
  refresh(rejected: string | null = null): Promise<void> {
    if (this.refreshing === null) {
      this.refreshing = this.withLock("brainstorm-refresh", () => this.doRefresh(0, rejected)).finally(
        () => {
          this.refreshing = null;
        },
      );
    }
    return this.refreshing;
  }

  private async doRefresh(attempt: number, rejected: string | null): Promise<void> {
    // Read the token now, inside the lock: another tab may have rotated it.
    const token = this.storedRefreshToken();
    if (token === null) {
      const e = new ApiError({
        status: 401,
        code: "invalid_refresh_token",
        message: "Your session has ended. Please sign in again.",
      });
      this.endSession({ kind: "expired" });
      throw e;
    }
    const change = this.user !== null ? "refreshed" : "signed_in";
    const shared = this.sharedAccess(token, rejected);
    if (shared !== null) {
      this.adoptSharedAccess(shared);
      this.emit({ kind: change, user: shared.user });
      return;
    }
    const remember = this.rememberedPersistently();
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}/api/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: token }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) {
      const err = await parseErrorResponse(res);
      if (res.status === 401) {
        // Another tab may have rotated the token while this one asked
        // (browsers without Web Locks): then the newer one is tried once.
        const stored = this.storedRefreshToken();
        if (stored !== null && stored !== token && attempt === 0) {
          return this.doRefresh(1, rejected);
        }
        this.endSession({ kind: "expired" });
        throw new ApiError({
          status: 401,
          code: err.code,
          message: "Your session has ended. Please sign in again.",
          requestId: err.requestId,
        });
      }
      throw err;
    }
    const session = (await res.json()) as Session;
    this.applySession(session, remember);
    this.emit({ kind: change, user: session.user });
  }

  /** A valid access token, refreshed first when it is about to expire. */
  private async accessTokenForRequest(): Promise<string> {
    if (this.accessToken === null || this.now() >= this.accessExpiresAt - 30_000) {
      await this.refresh();
    }
    if (this.accessToken === null) {
      throw new ApiError({ status: 401, code: "unauthorized", message: "Please sign in." });
    }
    return this.accessToken;
  }

  // ---- requests ------------------------------------------------------------

  private url(path: string, query?: RequestOptions["query"]): string {
    let url = `${this.baseUrl}${path}`;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
      }
      const qs = params.toString();
      if (qs !== "") url += `?${qs}`;
    }
    return url;
  }

  /**
   * fetch() with the Authorization header; on 401 the token is refreshed and
   * the request sent once more. Resolves with an ok Response; any other
   * answer is thrown as an ApiError.
   */
  async fetchAuthorized(
    method: string,
    path: string,
    options: RequestOptions & { accept?: string; timeout?: boolean } = {},
  ): Promise<Response> {
    const auth = options.auth ?? true;
    const send = async (token: string | null): Promise<Response> => {
      const headers: Record<string, string> = {
        Accept: options.accept ?? "application/json",
        ...options.headers,
      };
      if (options.body !== undefined) headers["Content-Type"] = "application/json";
      if (token !== null) headers.Authorization = `Bearer ${token}`;
      const useTimeout = options.timeout ?? true;
      const signal = joinSignals([
        options.signal,
        useTimeout ? AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs) : undefined,
      ]);
      try {
        return await this.fetchImpl(this.url(path, options.query), {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal,
        });
      } catch (e) {
        if (options.signal?.aborted) throw options.signal.reason ?? e;
        if (e instanceof DOMException && e.name === "TimeoutError") {
          throw new ApiError({ status: 0, code: "timeout", message: "The server did not answer in time." });
        }
        throw networkError(e);
      }
    };

    const token = auth ? await this.accessTokenForRequest() : null;
    let res = await send(token);
    if (res.status === 401 && auth) {
      await res.body?.cancel().catch(() => undefined);
      // Another request may already have refreshed the token.
      if (this.accessToken === token) await this.refresh(token);
      const fresh = await this.accessTokenForRequest();
      res = await send(fresh);
      if (res.status === 401) {
        const err = await parseErrorResponse(res);
        this.endSession({ kind: "expired" });
        throw err;
      }
    }
    if (!res.ok) throw await parseErrorResponse(res);
    return res;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.fetchAuthorized(method, path, options);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({
        status: res.status,
        code: "invalid_response",
        message: "The server sent an answer that could not be read.",
      });
    }
  }

  // ---- accounts ------------------------------------------------------------

  async me(): Promise<User> {
    const r = await this.request<{ user: User }>("GET", "/api/auth/me");
    return r.user;
  }

  /** The signed-in person changed (a new display name): tell every listener. */
  setUser(user: User): void {
    if (this.user === null) return;
    this.user = user;
    this.emit({ kind: "refreshed", user });
  }

  /** A session the server handed over outside sign-in (a password change). */
  adoptSession(session: Session): void {
    this.applySession(session, this.rememberedPersistently());
    this.emit({ kind: "refreshed", user: session.user });
  }

  // ---- projects ------------------------------------------------------------

  listProjects(cursor?: string | null, limit = 50): Promise<ProjectPage> {
    return this.request("GET", "/api/projects", { query: { cursor, limit } });
  }

  createProject(title: string, description = ""): Promise<Project> {
    return this.request("POST", "/api/projects", { body: { title, description } });
  }

  getProject(id: string): Promise<Project> {
    return this.request("GET", `/api/projects/${encodeURIComponent(id)}`);
  }

  updateProject(id: string, patch: ProjectPatch): Promise<Project> {
    return this.request("PATCH", `/api/projects/${encodeURIComponent(id)}`, { body: patch });
  }

  deleteProject(id: string): Promise<undefined> {
    return this.request("DELETE", `/api/projects/${encodeURIComponent(id)}`);
  }

  // ---- the board -------------------------------------------------------------

  /** One page of the board, in the board's order (ITEMS_PAGE_MAX at most). */
  listItemsPage(
    projectId: string,
    options: { state?: ItemState; cursor?: string | null; limit?: number } = {},
  ): Promise<ItemPage> {
    return this.request("GET", `/api/projects/${encodeURIComponent(projectId)}/items`, {
      query: { state: options.state, cursor: options.cursor, limit: options.limit },
    });
  }

  /**
   * The whole board: every page, following next_cursor. The server caps a
   * project's items (ITEMS_MAX_PER_PROJECT), so this ends; ITEMS_PAGES_MAX
   * guards against a server that keeps answering a cursor.
   */
  async listItems(projectId: string, state?: ItemState): Promise<Item[]> {
    const items: Item[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < ITEMS_PAGES_MAX; page++) {
      const r: ItemPage = await this.listItemsPage(projectId, {
        state,
        cursor,
        limit: ITEMS_PAGE_MAX,
      });
      items.push(...r.items);
      cursor = r.next_cursor ?? null;
      if (!cursor) break;
    }
    return items;
  }

  createItem(projectId: string, item: NewItem): Promise<Item> {
    return this.request("POST", `/api/projects/${encodeURIComponent(projectId)}/items`, {
      body: item,
    });
  }

  updateItem(projectId: string, itemId: string, patch: ItemPatch): Promise<Item> {
    return this.request(
      "PATCH",
      `/api/projects/${encodeURIComponent(projectId)}/items/${encodeURIComponent(itemId)}`,
      { body: patch },
    );
  }

  deleteItem(projectId: string, itemId: string): Promise<undefined> {
    return this.request(
      "DELETE",
      `/api/projects/${encodeURIComponent(projectId)}/items/${encodeURIComponent(itemId)}`,
    );
  }

  itemHistory(projectId: string, itemId: string): Promise<ItemHistory> {
    return this.request<ItemHistory>(
      "GET",
      `/api/projects/${encodeURIComponent(projectId)}/items/${encodeURIComponent(itemId)}/history`,
    );
  }

  // ---- the conversation ------------------------------------------------------

  async listMessages(
    projectId: string,
    options: { before?: string; limit?: number } = {},
  ): Promise<Message[]> {
    const r = await this.request<{ messages: Message[] }>(
      "GET",
      `/api/projects/${encodeURIComponent(projectId)}/messages`,
      { query: { before: options.before, limit: options.limit ?? 50 } },
    );
    return r.messages;
  }

  /** POST a message and get the turn's event stream (the Response, unread). */
  postMessageStream(projectId: string, content: string, signal?: AbortSignal): Promise<Response> {
    return this.fetchAuthorized("POST", `/api/projects/${encodeURIComponent(projectId)}/messages`, {
      body: { content },
      accept: "text/event-stream",
      signal,
      timeout: false,
    });
  }

  /** Run a failed turn again, streamed. */
  retryTurnStream(projectId: string, turnId: string, signal?: AbortSignal): Promise<Response> {
    return this.fetchAuthorized(
      "POST",
      `/api/projects/${encodeURIComponent(projectId)}/turns/${encodeURIComponent(turnId)}/retry`,
      { accept: "text/event-stream", signal, timeout: false },
    );
  }

  /** The project's live event stream (the Response, unread). */
  openEvents(projectId: string, lastEventId: string | null, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    return this.fetchAuthorized("GET", `/api/projects/${encodeURIComponent(projectId)}/events`, {
      accept: "text/event-stream",
      headers,
      signal,
      timeout: false,
    });
  }

  // ---- agents and usage ------------------------------------------------------

  agents(): Promise<AgentsResponse> {
    return this.request("GET", "/api/agents");
  }

  async activity(projectId: string, limit = 200): Promise<AgentRun[]> {
    const r = await this.request<{ runs: AgentRun[] }>(
      "GET",
      `/api/projects/${encodeURIComponent(projectId)}/activity`,
      { query: { limit } },
    );
    return r.runs;
  }

  usage(): Promise<UsageResponse> {
    return this.request("GET", "/api/usage");
  }
}

function browserLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (locks === undefined) return fn();
  return locks.request(name, fn) as Promise<T>;
}

function safeStorage(get: () => Storage): KeyValueStorage | null {
  try {
    const s = get();
    const probe = "brainstorm.probe";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    return null;
  }
}

/** The app's client: same origin, the browser's storage and locks. */
export function createBrowserClient(): ApiClient {
  return new ApiClient({
    baseUrl: "",
    persistentStorage: safeStorage(() => window.localStorage),
    tabStorage: safeStorage(() => window.sessionStorage),
    withLock: browserLock,
  });
}
