// The events of a turn (POST .../messages with Accept: text/event-stream)
// and the project's live stream (GET .../events), both read with fetch and
// the SSE reader, since both need an Authorization header.

import type { ApiClient } from "./client";
import { ApiError } from "./client";
import { readEventStream, type SSEMessage } from "./sse";
import { isTurnEventName, type TurnEvent } from "./types";

/** A typed turn event from an SSE message; null for unknown or unreadable ones. */
export function toTurnEvent(message: SSEMessage): TurnEvent | null {
  if (!isTurnEventName(message.event)) return null;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
  const event = { type: message.event, data } as TurnEvent;
  if (message.id !== "") event.id = message.id;
  return event;
}

/**
 * Read a streamed turn to its end, calling onEvent for each event. Resolves
 * with true when `turn.done` arrived, false when the stream ended early.
 */
export async function consumeTurnStream(
  response: Response,
  onEvent: (event: TurnEvent) => void,
): Promise<boolean> {
  if (response.body === null) return false;
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.includes("text/event-stream")) {
    // The server answered the finished turn as JSON (no streaming): nothing
    // to replay event by event; the caller reloads.
    await response.body.cancel().catch(() => undefined);
    return false;
  }
  // The turn's stream stays open a few seconds after turn.done (so that a
  // client handed to it late still finds it): stop reading at turn.done,
  // which releases the connection (readEventStream cancels its reader).
  for await (const message of readEventStream(response.body)) {
    const event = toTurnEvent(message);
    if (event === null) continue;
    onEvent(event);
    if (event.type === "turn.done") return true;
  }
  return false;
}

export type LiveStatus = "connecting" | "live" | "reconnecting" | "paused" | "offline" | "closed";

export interface LiveEventsOptions {
  onEvent(event: TurnEvent): void;
  onStatus?(status: LiveStatus, detail?: { attempt: number; retryInMs?: number }): void;
  /** Each (re)connection that is open, with whether events were replayed from an id. */
  onOpen?(info: { resumed: boolean }): void;
  /** Backoff: first delay, growth factor and ceiling, in ms. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** No byte for this long (heartbeats come every 15 s): the connection is dead. */
  idleTimeoutMs?: number;
  random?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/** The next wait before reconnecting: exponential, capped, with jitter (50–100 %). */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random() / 2));
}

/**
 * The project's live events, kept open: reconnects with backoff after a
 * drop and asks for what it missed with Last-Event-ID.
 */
export class LiveEvents {
  private controller: AbortController | null = null;
  private closed = false;
  private paused = false;
  private attempt = 0;
  private retryTimer: unknown = null;
  private idleTimer: unknown = null;
  private serverRetryMs: number | null = null;
  lastEventId: string | null = null;
  status: LiveStatus = "connecting";

  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly idleTimeoutMs: number;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(
    private readonly client: ApiClient,
    private readonly projectId: string,
    private readonly options: LiveEventsOptions,
  ) {
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
    this.random = options.random ?? Math.random;
    this.setTimer = options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimer =
      options.clearTimeout ??
      ((h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>));
  }

  start(): void {
    this.closed = false;
    void this.connect();
  }

  close(): void {
    this.closed = true;
    this.controller?.abort();
    this.controller = null;
    this.clearRetry();
    this.clearIdle();
    this.setStatus("closed");
  }

  /**
   * The network went away (the browser says it is offline): the open
   * connection is likely dead without knowing it; drop it and retry.
   */
  drop(): void {
    if (this.closed) return;
    this.controller?.abort(new Error("offline"));
  }

  /**
   * Let the connection go until reconnectNow() (the tab has been hidden a
   * while): over HTTP/1.1 a browser opens at most six connections to a
   * host, and every open tab's stream holds one of them.
   */
  pause(): void {
    if (this.closed || this.paused) return;
    this.paused = true;
    this.clearRetry();
    this.clearIdle();
    this.controller?.abort(new Error("paused"));
    this.controller = null;
    this.setStatus("paused");
  }

  /** Reconnect now (the browser came back online, the tab became visible). */
  reconnectNow(): void {
    if (this.closed) return;
    if (this.paused) {
      // Asks for what it missed meanwhile with Last-Event-ID.
      this.paused = false;
    } else if (this.status === "live" || this.status === "connecting") return;
    this.clearRetry();
    this.attempt = 0;
    void this.connect();
  }

  private setStatus(status: LiveStatus, detail?: { attempt: number; retryInMs?: number }): void {
    this.status = status;
    this.options.onStatus?.(status, detail);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) {
      this.clearTimer(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) {
      this.clearTimer(this.idleTimer);
      this.idleTimer = null;
    }
  }

  private armIdle(controller: AbortController): void {
    this.clearIdle();
    this.idleTimer = this.setTimer(() => controller.abort(new Error("idle")), this.idleTimeoutMs);
  }

  private async connect(): Promise<void> {
    if (this.closed || this.paused) return;
    const controller = new AbortController();
    this.controller = controller;
    this.setStatus(this.attempt === 0 && this.lastEventId === null ? "connecting" : "reconnecting", {
      attempt: this.attempt,
    });
    let gotSomething = false;
    try {
      const res = await this.client.openEvents(this.projectId, this.lastEventId, controller.signal);
      if (this.closed || this.controller !== controller || res.body === null) return;
      this.setStatus("live");
      this.options.onOpen?.({ resumed: this.lastEventId !== null });
      this.armIdle(controller);
      for await (const message of readEventStream(res.body, {
        lastEventId: this.lastEventId ?? "",
        onRetry: (ms) => {
          this.serverRetryMs = ms;
        },
        onBytes: () => {
          gotSomething = true;
          this.armIdle(controller);
        },
      })) {
        if (message.id !== "") this.lastEventId = message.id;
        const event = toTurnEvent(message);
        if (event !== null) this.options.onEvent(event);
      }
    } catch (e) {
      if (this.closed || this.controller !== controller) return;
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
        // Signed out, or the project is gone: nothing to reconnect to.
        this.setStatus("offline");
        return;
      }
    } finally {
      if (this.controller === controller || this.controller === null) this.clearIdle();
    }
    // Closed, paused, or replaced by a newer connection: nothing to retry.
    if (this.closed || this.controller !== controller) return;
    // The stream ended or failed: try again after a while.
    if (gotSomething) this.attempt = 0;
    this.attempt += 1;
    const initial = Math.max(this.initialDelayMs, this.serverRetryMs ?? 0);
    const delay = backoffDelay(this.attempt, initial, this.maxDelayMs, this.random);
    this.setStatus("reconnecting", { attempt: this.attempt, retryInMs: delay });
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }
}
