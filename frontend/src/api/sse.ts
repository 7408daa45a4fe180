// Server-Sent Events, read from a fetch() body. EventSource cannot POST nor
// send an Authorization header, so the app parses the event-stream format
// itself (https://html.spec.whatwg.org/multipage/server-sent-events.html,
// "Interpreting an event stream"), incrementally: the bytes may arrive in any
// chunking, lines may end in \n, \r\n or \r, data may span several lines,
// comments (": heartbeat") are skipped, and `id:` sets the last event id that
// a reconnection sends back as Last-Event-ID.

export interface SSEMessage {
  /** The event type: the `event:` field, or "message". */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last event id in force when the event was dispatched ("" if none). */
  id: string;
}

export interface SSEParserHandlers {
  onEvent(message: SSEMessage): void;
  /** A `retry:` field: the reconnection time the server asks for, in ms. */
  onRetry?(ms: number): void;
  /** A comment line (without its leading colon), e.g. " heartbeat". */
  onComment?(text: string): void;
}

/**
 * The incremental parser: feed it decoded text with push(), in pieces of any
 * size. It keeps the partial line and the event being built between calls.
 */
export class SSEParser {
  private buffer = "";
  private data: string[] = [];
  private hasData = false;
  private eventType = "";
  private pendingCR = false;
  private started = false;
  /** The last event id buffer; survives across events, as the spec says. */
  lastEventId: string;

  constructor(
    private readonly handlers: SSEParserHandlers,
    initialLastEventId = "",
  ) {
    this.lastEventId = initialLastEventId;
  }

  push(chunk: string): void {
    if (chunk.length === 0) return;
    let text = chunk;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A \r at the end of the previous chunk already ended a line: a \n
    // that starts this one belongs to it (\r\n split across chunks).
    if (this.pendingCR) {
      this.pendingCR = false;
      if (text.startsWith("\n")) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(buf.slice(start, i));
      if (c === 13) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
    }
    this.buffer = buf.slice(start);
  }

  /** The stream ended: an event without its final blank line is dropped (spec). */
  end(): void {
    this.buffer = "";
    this.data = [];
    this.hasData = false;
    this.eventType = "";
    this.pendingCR = false;
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) {
      this.handlers.onComment?.(line.slice(1));
      return;
    }
    const colon = line.indexOf(":");
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.eventType = "";
      return;
    }
    const message: SSEMessage = {
      event: this.eventType === "" ? "message" : this.eventType,
      data: this.data.join("\n"),
      id: this.lastEventId,
    };
    this.data = [];
    this.hasData = false;
    this.eventType = "";
    this.handlers.onEvent(message);
  }
}

export interface ReadEventStreamOptions {
  lastEventId?: string;
  onRetry?(ms: number): void;
  onComment?(text: string): void;
  /** Called for every chunk of bytes received (a liveness signal for watchdogs). */
  onBytes?(): void;
}

/**
 * The events of a ReadableStream of bytes (a fetch Response body), in order,
 * as an async iterator. UTF-8 sequences split across chunks are decoded
 * correctly. The iterator ends when the stream ends; a read error (a dropped
 * connection, an abort) is thrown to the consumer.
 */
export async function* readEventStream(
  body: ReadableStream<Uint8Array>,
  options: ReadEventStreamOptions = {},
): AsyncGenerator<SSEMessage, void, undefined> {
  const queue: SSEMessage[] = [];
  const parser = new SSEParser(
    {
      onEvent: (m) => queue.push(m),
      onRetry: options.onRetry,
      onComment: options.onComment,
    },
    options.lastEventId ?? "",
  );
  const decoder = new TextDecoder("utf-8");
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        parser.push(decoder.decode());
        break;
      }
      options.onBytes?.();
      parser.push(decoder.decode(value, { stream: true }));
      while (queue.length > 0) {
        yield queue.shift() as SSEMessage;
      }
    }
    while (queue.length > 0) {
      yield queue.shift() as SSEMessage;
    }
    parser.end();
  } finally {
    // The consumer stopped early (break/return) or the read failed: release
    // the connection.
    try {
      await reader.cancel();
    } catch {
      /* already closed */
    }
    reader.releaseLock();
  }
}
