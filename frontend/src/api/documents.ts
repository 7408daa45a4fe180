// Documents, export and import (docs/API.md "Documents", "Export and
// import"): requests through the one client, and the reader of a
// generation's event stream (the SSE reader of sse.ts, like a turn).

import { ApiError, type ApiClient } from "./client";
import { readEventStream, type SSEMessage } from "./sse";
import type {
  DocumentDiff,
  DocumentEvent,
  DocumentEventName,
  DocumentKind,
  DocumentVersion,
  DocumentsResponse,
  Project,
} from "./types";

const DOCUMENT_EVENT_NAMES: readonly DocumentEventName[] = [
  "document.queued",
  "document.started",
  "agent.started",
  "agent.finished",
  "error",
  "document.done",
];

function projectPath(projectId: string): string {
  return `/api/projects/${encodeURIComponent(projectId)}`;
}

function kindPath(projectId: string, kind: DocumentKind): string {
  return `${projectPath(projectId)}/documents/${encodeURIComponent(kind)}`;
}

export function listDocuments(client: ApiClient, projectId: string): Promise<DocumentsResponse> {
  return client.request("GET", `${projectPath(projectId)}/documents`);
}

export function latestDocument(client: ApiClient, projectId: string, kind: DocumentKind): Promise<DocumentVersion> {
  return client.request("GET", kindPath(projectId, kind));
}

export async function listVersions(client: ApiClient, projectId: string, kind: DocumentKind): Promise<DocumentVersion[]> {
  const r = await client.request<{ versions: DocumentVersion[] }>("GET", `${kindPath(projectId, kind)}/versions`);
  return r.versions;
}

export function getVersion(
  client: ApiClient,
  projectId: string,
  kind: DocumentKind,
  version: number,
): Promise<DocumentVersion> {
  return client.request("GET", `${kindPath(projectId, kind)}/versions/${version}`);
}

export function diffVersions(
  client: ApiClient,
  projectId: string,
  kind: DocumentKind,
  from: number,
  to: number,
): Promise<DocumentDiff> {
  return client.request("GET", `${kindPath(projectId, kind)}/diff`, { query: { from, to } });
}

/** A typed generation event from an SSE message; null for unknown or unreadable ones. */
export function toDocumentEvent(message: SSEMessage): DocumentEvent | null {
  if (!(DOCUMENT_EVENT_NAMES as readonly string[]).includes(message.event)) return null;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
  return { type: message.event, data } as DocumentEvent;
}

export interface GenerationResult {
  status: "done" | "failed";
  version: number | null;
  /** The new version itself, when the server sent it. */
  document: DocumentVersion | null;
  code: string | null;
  error: string | null;
  notes: string[];
}

/** A generation's state (GET .../documents/generations/{id}). */
export interface GenerationState {
  generation_id: string;
  kind: DocumentKind;
  status: "queued" | "running" | "done" | "failed";
  runs: number;
  error: string | null;
  notes: string[];
  version: DocumentVersion | null;
}

export function getGeneration(client: ApiClient, projectId: string, generationId: string): Promise<GenerationState> {
  return client.request("GET", `${projectPath(projectId)}/documents/generations/${encodeURIComponent(generationId)}`);
}

function resultOf(g: GenerationState): GenerationResult {
  return {
    status: g.status === "done" ? "done" : "failed",
    version: g.version?.version ?? null,
    document: g.version,
    code: g.status === "done" ? null : "generation_failed",
    error: g.error,
    notes: g.notes ?? [],
  };
}

/** Ask for the generation's state until it ended (the 202 path, or a dropped stream). */
export async function waitForGeneration(
  client: ApiClient,
  projectId: string,
  generationId: string,
  signal?: AbortSignal,
  intervalMs = 1000,
): Promise<GenerationResult> {
  for (;;) {
    const g = await getGeneration(client, projectId, generationId);
    if (g.status === "done" || g.status === "failed") return resultOf(g);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, intervalMs);
      signal?.addEventListener("abort", () => {
        clearTimeout(t);
        reject(signal.reason ?? new Error("aborted"));
      });
    });
  }
}

/**
 * Generate the next version of a document: the server queues it for its
 * engine and hands the request to the generation's stream; onEvent sees
 * each event as it arrives. Resolves with how it ended. Answered 202
 * instead (no stream), or a stream that ended before `document.done`, the
 * generation's state is asked for until it ends. A refusal before the
 * generation is queued (409 generation_running, 429, 404...) is thrown as
 * an ApiError.
 */
export async function generateDocument(
  client: ApiClient,
  projectId: string,
  kind: DocumentKind,
  onEvent: (event: DocumentEvent) => void,
  signal?: AbortSignal,
): Promise<GenerationResult> {
  const res = await client.fetchAuthorized("POST", `${projectPath(projectId)}/documents`, {
    body: { kind },
    accept: "text/event-stream",
    signal,
    timeout: false,
  });
  const type = res.headers.get("Content-Type") ?? "";
  if (!type.includes("text/event-stream") || res.body === null) {
    // Answered 202: queued, with where to look.
    const body = (await res.json().catch(() => null)) as { generation_id?: string } | null;
    if (!body?.generation_id) {
      return { status: "failed", version: null, document: null, code: "unexpected_answer", error: "The server answered without a generation.", notes: [] };
    }
    return waitForGeneration(client, projectId, body.generation_id, signal);
  }
  let result: GenerationResult | null = null;
  let lastError: { code: string; message: string } | null = null;
  let generationId: string | null = null;
  // The stream lingers a few seconds after document.done: stop reading
  // there, which releases the connection.
  for await (const message of readEventStream(res.body)) {
    const event = toDocumentEvent(message);
    if (event === null) continue;
    generationId = event.data.generation_id ?? generationId;
    onEvent(event);
    if (event.type === "error") lastError = { code: event.data.code, message: event.data.message };
    if (event.type === "document.done") {
      const d = event.data;
      const v = d.version;
      result = {
        status: d.status,
        version: typeof v === "number" ? v : (v?.version ?? null),
        document: typeof v === "object" && v !== null ? v : null,
        code: d.code ?? lastError?.code ?? null,
        error: d.error ?? lastError?.message ?? null,
        notes: d.notes ?? [],
      };
      break;
    }
  }
  if (result !== null) return result;
  // The stream dropped: the generation goes on on the server.
  if (generationId !== null) return waitForGeneration(client, projectId, generationId, signal);
  return {
    status: "failed",
    version: null,
    document: null,
    code: lastError?.code ?? "stream_ended",
    error: lastError?.message ?? "The connection dropped before the document was finished.",
    notes: [],
  };
}

// ---- export and import -------------------------------------------------------

export type ExportFormat = "md" | "json";

/** The file name of a Content-Disposition header (filename*= first), else a fallback. */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (header) {
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
    if (star?.[1]) {
      try {
        return sanitizeFilename(decodeURIComponent(star[1].trim()), fallback);
      } catch {
        /* a bad escape: try the plain one */
      }
    }
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
    const name = plain?.[1]?.replace(/\\(.)/g, "$1") ?? plain?.[2];
    if (name) return sanitizeFilename(name, fallback);
  }
  return fallback;
}

function sanitizeFilename(name: string, fallback: string): string {
  // No folders, no control characters: only a name.
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\\/\u0000-\u001f\u007f]/g, "_").replace(/^\.+/, "").trim();
  return clean === "" ? fallback : clean;
}

/** The project as a file: its bytes and the name the server gave it. */
export async function exportProject(
  client: ApiClient,
  projectId: string,
  format: ExportFormat,
): Promise<{ blob: Blob; filename: string }> {
  const res = await client.fetchAuthorized("GET", `${projectPath(projectId)}/export`, {
    query: { format },
    accept: format === "md" ? "text/markdown" : "application/json",
    timeoutMs: 120_000,
  });
  const blob = await res.blob();
  const filename = filenameFromDisposition(
    res.headers.get("Content-Disposition"),
    `brainstorm-project.${format}`,
  );
  return { blob, filename };
}

/** The largest file the import takes (IMPORT_MAX_BYTES by default); the server decides. */
export const IMPORT_MAX_BYTES = 32 * 1024 * 1024;

/**
 * A JSON export (the file's text) as a new project. A file that is not
 * JSON is refused here, before sending; everything else is the server's
 * call (422 with the path of the first problem, 413 when too large).
 */
export async function importProject(client: ApiClient, text: string): Promise<Project> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError({
      status: 422,
      code: "invalid_json",
      message: "This file is not a JSON export of a Brainstorm project (it is not JSON at all).",
    });
  }
  return client.request("POST", "/api/projects/import", { body, timeoutMs: 120_000 });
}

/** Save a blob as a download, with the name given. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
