// The documents tab of a project: the five kinds, each kind's latest
// version, its versions, any version, a line diff between two of them, and
// a new version generated from the board and the conversation (streamed),
// and the list kept up to date as anyone saves a version.

import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage, isApiError } from "../api/client";
import {
  diffVersions,
  generateDocument,
  getVersion,
  listDocuments,
  listVersions,
} from "../api/documents";
import type { DocumentDiff, DocumentEvent, DocumentKind, DocumentVersion, Item } from "../api/types";
import { DOCUMENT_KINDS, KIND_INFO, diffRows } from "../lib/documents";
import { humanizeAgent } from "../lib/conversation";
import { formatCompact, formatDateTime, formatLatency, formatRelative } from "../lib/format";
import { useClient } from "../lib/session";
import { IconCheck, IconCompare, IconDocument, IconSparkle, IconX } from "./icons";
import { Markdown } from "./Markdown";
import { Alert, Button, EmptyState, LiveAnnouncer, Skeleton, Spinner, cx } from "./ui";

interface Progress {
  kind: DocumentKind;
  agent: string | null;
  status: "running" | "ok" | "error";
  latency_ms?: number;
  tokens?: number;
}

function generationFailureTitle(code: string | null): string {
  switch (code) {
    case "refused":
      return "Claude declined to write this document";
    case "spend_cap":
      return "The Claude spending limit is reached";
    case "model_unavailable":
      return "The model is no longer available";
    default:
      return "The document could not be written";
  }
}

function selectClass() {
  return "h-8 rounded-md border border-stone-300 bg-white px-2 text-sm text-stone-800 shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-stone-700 dark:bg-stone-900 dark:text-stone-100";
}

export function Documents({
  projectId,
  items,
  readOnly,
  onShowItem,
  revision = 0,
}: {
  projectId: string;
  items: Item[];
  readOnly: boolean;
  onShowItem: (item: Item) => void;
  /** Bumped by the project's live events when anyone saves a version. */
  revision?: number;
}) {
  const client = useClient();
  const [latest, setLatest] = useState<Partial<Record<DocumentKind, DocumentVersion>> | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [kind, setKind] = useState<DocumentKind>("brief");
  const [versions, setVersions] = useState<DocumentVersion[] | null>(null);
  const [shown, setShown] = useState<DocumentVersion | null>(null);
  const [shownError, setShownError] = useState<string | null>(null);
  const [loadingVersion, setLoadingVersion] = useState(false);
  const [compare, setCompare] = useState<{ from: number; to: number } | null>(null);
  const [diff, setDiff] = useState<DocumentDiff | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [genError, setGenError] = useState<{ title: string; message: string; notes: string[] } | null>(null);
  const [genNotes, setGenNotes] = useState<string[]>([]);
  const [announce, setAnnounce] = useState("");
  const cache = useRef(new Map<string, DocumentVersion>());
  const abort = useRef<AbortController | null>(null);
  const kindRef = useRef(kind);
  useEffect(() => {
    kindRef.current = kind;
  }, [kind]);

  const loadList = useCallback(async () => {
    setLoadError(null);
    try {
      const r = await listDocuments(client, projectId);
      const map: Partial<Record<DocumentKind, DocumentVersion>> = {};
      for (const d of r.documents) map[d.kind] = d;
      setLatest(map);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, [client, projectId]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- loading data on mount
    void loadList();
    return () => abort.current?.abort();
  }, [loadList]);

  // A version saved elsewhere (another member, another tab): the list again.
  useEffect(() => {
    if (revision === 0) return;
    // eslint-disable-next-line react-hooks/set-state-in-effect -- reloading on a live event
    void loadList();
  }, [revision, loadList]);

  const showVersion = useCallback(
    async (k: DocumentKind, n: number) => {
      const key = `${k}/${n}`;
      setShownError(null);
      const hit = cache.current.get(key);
      if (hit) {
        setShown(hit);
        return;
      }
      setLoadingVersion(true);
      try {
        const v = await getVersion(client, projectId, k, n);
        cache.current.set(key, v);
        if (kindRef.current === k) setShown(v);
      } catch (e) {
        if (kindRef.current === k) setShownError(errorMessage(e));
      } finally {
        setLoadingVersion(false);
      }
    },
    [client, projectId],
  );

  const loadVersions = useCallback(
    async (k: DocumentKind) => {
      try {
        const list = await listVersions(client, projectId, k);
        if (kindRef.current === k) setVersions(list);
        return list;
      } catch (e) {
        if (isApiError(e) && e.status === 404) {
          if (kindRef.current === k) setVersions([]);
          return [];
        }
        if (kindRef.current === k) setShownError(errorMessage(e));
        return null;
      }
    },
    [client, projectId],
  );

  // A kind is chosen (or the list arrived): its versions, and its latest.
  const latestOfKind = latest?.[kind]?.version ?? null;
  const listLoaded = latest !== null;
  useEffect(() => {
    if (!listLoaded) return;
    /* eslint-disable react-hooks/set-state-in-effect -- a new kind starts blank, then loads */
    setVersions(null);
    setShown(null);
    setCompare(null);
    setDiff(null);
    /* eslint-enable react-hooks/set-state-in-effect */
    if (latestOfKind === null) {
      setVersions([]);
      return;
    }
    void loadVersions(kind);
    void showVersion(kind, latestOfKind);
  }, [kind, listLoaded, latestOfKind, loadVersions, showVersion]);

  // Two versions to compare: their diff.
  useEffect(() => {
    if (compare === null) return;
    let cancelled = false;
    /* eslint-disable react-hooks/set-state-in-effect -- loading the diff */
    setDiff(null);
    setDiffError(null);
    /* eslint-enable react-hooks/set-state-in-effect */
    diffVersions(client, projectId, kind, compare.from, compare.to)
      .then((d) => !cancelled && setDiff(d))
      .catch((e: unknown) => !cancelled && setDiffError(errorMessage(e)));
    return () => {
      cancelled = true;
    };
  }, [client, projectId, kind, compare]);

  const generate = async () => {
    const k = kind;
    setGenError(null);
    setGenNotes([]);
    setProgress({ kind: k, agent: null, status: "running" });
    setAnnounce(`Writing the ${KIND_INFO[k].label.toLowerCase()}…`);
    const controller = new AbortController();
    abort.current = controller;
    const onEvent = (event: DocumentEvent) => {
      switch (event.type) {
        case "document.queued":
          break;
        case "document.started":
        case "agent.started":
          setProgress((p) => ({ ...(p ?? { kind: k, status: "running" }), agent: event.data.agent, status: "running" }));
          break;
        case "agent.finished": {
          const t = event.data.tokens;
          setProgress((p) => ({
            ...(p ?? { kind: k }),
            agent: event.data.agent,
            status: event.data.status === "ok" ? "ok" : "error",
            latency_ms: event.data.latency_ms,
            tokens: t ? t.input + t.output + t.cache_read + t.cache_write : undefined,
          }));
          break;
        }
        default:
          break;
      }
    };
    try {
      const r = await generateDocument(client, projectId, k, onEvent, controller.signal);
      if (r.status === "done" && r.version !== null) {
        if (r.document?.markdown !== undefined) cache.current.set(`${k}/${r.version}`, r.document);
        setGenNotes(r.notes);
        setAnnounce(`Version ${r.version} of the ${KIND_INFO[k].label.toLowerCase()} is ready.`);
        setProgress(null);
        // The list gives the new latest; the effect above loads it.
        setLatest((l) => ({
          ...(l ?? {}),
          [k]: r.document ?? { ...(l?.[k] ?? ({} as DocumentVersion)), kind: k, version: r.version as number },
        }));
        void loadList();
      } else {
        setProgress(null);
        setGenError({
          title: generationFailureTitle(r.code),
          message: r.error ?? "The document could not be written.",
          notes: r.notes,
        });
        setAnnounce("The document could not be written.");
      }
    } catch (e) {
      if (controller.signal.aborted) return;
      setProgress(null);
      let title = "The document could not be written";
      if (isApiError(e) && e.code === "generation_running") title = "Another document is being written";
      else if (isApiError(e) && e.code === "rate_limited") title = "Too many documents in a minute";
      else if (isApiError(e) && e.code === "token_limit_reached") title = "Your monthly token limit is reached";
      else if (isApiError(e) && e.status === 403) title = "You cannot write documents in this project";
      else if (isApiError(e)) title = generationFailureTitle(e.code);
      setGenError({ title, message: errorMessage(e), notes: [] });
      setAnnounce(title);
    } finally {
      if (abort.current === controller) abort.current = null;
    }
  };

  const busy = progress !== null;
  const info = KIND_INFO[kind];
  const current = latest?.[kind] ?? null;

  return (
    <section aria-labelledby="documents-heading" className="flex min-h-0 flex-1 flex-col overflow-y-auto lg:overflow-visible" data-testid="documents">
      <LiveAnnouncer message={announce} />
      <h2 id="documents-heading" className="sr-only">
        Documents
      </h2>
      {loadError && (
        <Alert className="mb-3" title="The documents could not be loaded" action={<Button size="sm" onClick={() => void loadList()}>Try again</Button>}>
          {loadError}
        </Alert>
      )}
      <div className="grid grid-cols-1 gap-4 lg:min-h-0 lg:flex-1 lg:grid-cols-[230px_minmax(0,1fr)] xl:grid-cols-[230px_minmax(0,1fr)_260px]">
        {/* The kinds */}
        <nav aria-label="Document kinds" className="min-h-0 lg:overflow-y-auto">
          <ul className="flex gap-1.5 overflow-x-auto pb-1 lg:flex-col lg:overflow-visible lg:pb-0">
            {DOCUMENT_KINDS.map((k) => {
              const d = latest?.[k];
              const active = k === kind;
              return (
                <li key={k} className="shrink-0">
                  <button
                    type="button"
                    onClick={() => setKind(k)}
                    aria-current={active ? "true" : undefined}
                    data-testid={`kind-${k}`}
                    className={cx(
                      "flex w-full items-start gap-2.5 rounded-lg border px-3 py-2 text-left transition-colors",
                      active
                        ? "border-indigo-300 bg-indigo-50 dark:border-indigo-800 dark:bg-indigo-950/40"
                        : "border-transparent hover:bg-stone-200/60 dark:hover:bg-stone-800/60",
                    )}
                  >
                    <IconDocument className={cx("mt-0.5 shrink-0", active ? "text-indigo-600 dark:text-indigo-300" : "text-stone-400")} />
                    <span className="min-w-0">
                      <span className="block text-sm font-medium text-stone-900 dark:text-stone-100">{KIND_INFO[k].label}</span>
                      <span className="block truncate text-xs text-stone-500 dark:text-stone-400">
                        {latest === null ? "…" : d ? `Version ${d.version} · ${formatRelative(d.created_at)}` : "Not written yet"}
                      </span>
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        </nav>

        {/* The document */}
        <div className="flex flex-col rounded-xl border border-stone-200 bg-white shadow-sm lg:min-h-0 dark:border-stone-800 dark:bg-stone-900">
          <div className="flex flex-wrap items-center gap-2 border-b border-stone-200 px-4 py-3 dark:border-stone-800">
            <div className="min-w-[14rem] flex-1">
              <h3 className="text-base font-semibold" data-testid="document-kind-title">
                {info.label}
              </h3>
              <p className="text-xs text-stone-500 dark:text-stone-400">{info.blurb}</p>
            </div>
            {versions && versions.length > 0 && (
              <label className="flex items-center gap-1.5 text-xs text-stone-500 dark:text-stone-400">
                <span>Version</span>
                <select
                  className={selectClass()}
                  value={shown?.version ?? ""}
                  onChange={(e) => {
                    setCompare(null);
                    void showVersion(kind, Number(e.target.value));
                  }}
                  data-testid="version-select"
                >
                  {versions.map((v) => (
                    <option key={v.version} value={v.version}>
                      {v.version}
                      {v.version === current?.version ? " (latest)" : ""}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {versions && versions.length > 1 && (
              <Button
                size="sm"
                variant={compare ? "subtle" : "secondary"}
                onClick={() => {
                  if (compare) {
                    setCompare(null);
                    return;
                  }
                  const to = shown?.version ?? versions[0]?.version ?? 1;
                  const older = versions.find((v) => v.version < to) ?? versions[versions.length - 1];
                  setCompare({ from: older?.version ?? to, to });
                }}
                aria-pressed={compare !== null}
              >
                <IconCompare /> Compare
              </Button>
            )}
            {!readOnly && (
              <Button variant="primary" size="sm" onClick={() => void generate()} busy={busy} data-testid="generate-document">
                {!busy && <IconSparkle />}
                {current ? "Write a new version" : `Write the ${info.label.toLowerCase()}`}
              </Button>
            )}
          </div>

          <div className="px-5 py-4 lg:min-h-0 lg:flex-1 lg:overflow-y-auto" data-testid="document-body">
            {progress && (
              <div role="status" className="mb-4 flex items-center gap-3 rounded-lg border border-indigo-200 bg-indigo-50/70 px-3.5 py-2.5 text-sm text-indigo-900 dark:border-indigo-900/60 dark:bg-indigo-950/40 dark:text-indigo-100" data-testid="generation-progress">
                {progress.status === "running" ? <Spinner size={16} /> : progress.status === "ok" ? <IconCheck /> : <IconX />}
                <div className="min-w-0 flex-1">
                  <p className="font-medium">Writing the {KIND_INFO[progress.kind].label.toLowerCase()}…</p>
                  <p className="text-xs opacity-80">
                    {progress.agent ? humanizeAgent(progress.agent) : "Starting"}
                    {progress.status === "running" && " is reading the board and the conversation"}
                    {progress.status === "ok" && " has answered; saving the version"}
                    {progress.latency_ms !== undefined && ` · ${formatLatency(progress.latency_ms)}`}
                    {progress.tokens !== undefined && ` · ${formatCompact(progress.tokens)} tokens`}
                  </p>
                </div>
              </div>
            )}
            {genError && (
              <Alert className="mb-4" title={genError.title} onDismiss={() => setGenError(null)}>
                {genError.message}
                {genError.notes.length > 0 && (
                  <ul className="mt-1 list-disc pl-5 text-xs">
                    {genError.notes.map((n) => (
                      <li key={n}>{n}</li>
                    ))}
                  </ul>
                )}
              </Alert>
            )}
            {genNotes.length > 0 && (
              <Alert tone="info" className="mb-4" title="Written, with notes" onDismiss={() => setGenNotes([])}>
                <ul className="list-disc pl-5 text-xs">
                  {genNotes.map((n) => (
                    <li key={n}>{n}</li>
                  ))}
                </ul>
              </Alert>
            )}

            {compare ? (
              <DiffView
                versions={versions ?? []}
                compare={compare}
                setCompare={setCompare}
                diff={diff}
                error={diffError}
              />
            ) : latest === null && !loadError ? (
              <div aria-label="Loading the document" className="space-y-3">
                <Skeleton className="h-7 w-1/2" />
                <Skeleton className="h-3 w-full" />
                <Skeleton className="h-3 w-5/6" />
              </div>
            ) : current === null ? (
              <EmptyState
                icon={<IconDocument size={20} />}
                title={`No ${info.label.toLowerCase()} yet`}
                action={
                  !readOnly && (
                    <Button variant="primary" onClick={() => void generate()} busy={busy}>
                      <IconSparkle /> Write the {info.label.toLowerCase()}
                    </Button>
                  )
                }
              >
                {readOnly
                  ? "An editor or the owner of this project can write it from the board and the conversation."
                  : "It is written from the board (with the words each card came from) and the recent conversation. Each statement cites the cards it rests on."}
              </EmptyState>
            ) : shownError ? (
              <Alert title="This version could not be loaded">{shownError}</Alert>
            ) : shown === null || shown.markdown === undefined ? (
              <div className="space-y-3" aria-label="Loading the document">
                <Skeleton className="h-7 w-1/2" />
                <Skeleton className="h-3 w-full" />
                <Skeleton className="h-3 w-5/6" />
              </div>
            ) : (
              <article aria-label={`${info.label}, version ${shown.version}`} className={cx(loadingVersion && "opacity-60")} data-testid="document-article" data-version={shown.version}>
                <p className="mb-3 text-xs text-stone-500 dark:text-stone-400" data-testid="document-meta">
                  Version {shown.version}
                  {shown.version !== current.version && (
                    <>
                      {" "}
                      (not the latest:{" "}
                      <button type="button" className="font-medium text-indigo-700 underline dark:text-indigo-300" onClick={() => void showVersion(kind, current.version)}>
                        show version {current.version}
                      </button>
                      )
                    </>
                  )}{" "}
                  · written {formatDateTime(shown.created_at)} · {shown.model} · {formatCompact(shown.input_tokens + shown.output_tokens)} tokens
                </p>
                <Markdown markdown={shown.markdown} items={items} onShowItem={onShowItem} />
              </article>
            )}
          </div>
        </div>

        {/* The versions */}
        <aside aria-labelledby="versions-heading" className="min-h-0 lg:col-start-2 xl:col-start-auto xl:overflow-y-auto">
          <h3 id="versions-heading" className="px-1 pb-2 text-sm font-semibold tracking-wide text-stone-500 uppercase dark:text-stone-400">
            Versions
          </h3>
          {versions === null && current !== null ? (
            <Skeleton className="h-16 w-full" />
          ) : !versions || versions.length === 0 ? (
            <p className="px-1 text-sm text-stone-500 dark:text-stone-400">None yet.</p>
          ) : (
            <ol className="space-y-1.5" data-testid="versions-list">
              {versions.map((v) => {
                const active = !compare && shown?.version === v.version;
                const previous = versions.find((o) => o.version < v.version);
                return (
                  <li
                    key={v.version}
                    className={cx(
                      "rounded-lg border px-3 py-2 text-sm",
                      active ? "border-indigo-300 bg-indigo-50/70 dark:border-indigo-800 dark:bg-indigo-950/30" : "border-stone-200 bg-white dark:border-stone-800 dark:bg-stone-900",
                    )}
                    data-testid="version-row"
                  >
                    <div className="flex items-center justify-between gap-2">
                      <button
                        type="button"
                        className="font-medium text-stone-900 hover:text-indigo-700 dark:text-stone-100 dark:hover:text-indigo-300"
                        onClick={() => {
                          setCompare(null);
                          void showVersion(kind, v.version);
                        }}
                        aria-label={`Read version ${v.version}`}
                      >
                        Version {v.version}
                        {v.version === current?.version && <span className="ml-1.5 rounded bg-emerald-100 px-1 text-[11px] font-medium text-emerald-800 dark:bg-emerald-950/60 dark:text-emerald-300">latest</span>}
                      </button>
                      {previous && (
                        <button
                          type="button"
                          onClick={() => setCompare({ from: previous.version, to: v.version })}
                          className="text-xs font-medium text-indigo-700 hover:underline dark:text-indigo-300"
                          aria-label={`Compare version ${v.version} with version ${previous.version}`}
                        >
                          Changes
                        </button>
                      )}
                    </div>
                    <p className="mt-0.5 text-xs text-stone-500 dark:text-stone-400" title={formatDateTime(v.created_at)}>
                      {formatRelative(v.created_at)} · {formatCompact(v.input_tokens + v.output_tokens)} tokens
                    </p>
                  </li>
                );
              })}
            </ol>
          )}
        </aside>
      </div>
    </section>
  );
}

function DiffView({
  versions,
  compare,
  setCompare,
  diff,
  error,
}: {
  versions: DocumentVersion[];
  compare: { from: number; to: number };
  setCompare: (c: { from: number; to: number } | null) => void;
  diff: DocumentDiff | null;
  error: string | null;
}) {
  const rows = diff ? diffRows(diff.lines) : [];
  return (
    <div data-testid="document-diff">
      <div className="mb-3 flex flex-wrap items-center gap-2 text-sm">
        <label className="flex items-center gap-1.5">
          <span className="text-stone-600 dark:text-stone-400">From version</span>
          <select className={selectClass()} value={compare.from} onChange={(e) => setCompare({ ...compare, from: Number(e.target.value) })} data-testid="diff-from">
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-1.5">
          <span className="text-stone-600 dark:text-stone-400">to version</span>
          <select className={selectClass()} value={compare.to} onChange={(e) => setCompare({ ...compare, to: Number(e.target.value) })} data-testid="diff-to">
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
              </option>
            ))}
          </select>
        </label>
        {diff && (
          <span className="ml-auto text-xs text-stone-500 dark:text-stone-400" data-testid="diff-stats">
            <span className="font-semibold text-emerald-700 dark:text-emerald-400">+{diff.added}</span>{" "}
            <span className="font-semibold text-rose-700 dark:text-rose-400">−{diff.removed}</span> lines in {diff.hunks}{" "}
            {diff.hunks === 1 ? "place" : "places"}
          </span>
        )}
      </div>
      {error && <Alert title="These versions could not be compared">{error}</Alert>}
      {!diff && !error && <Skeleton className="h-32 w-full" />}
      {diff && rows.length === 0 && (
        <p className="rounded-lg border border-dashed border-stone-300 px-4 py-6 text-center text-sm text-stone-500 dark:border-stone-700 dark:text-stone-400">
          {compare.from === compare.to ? "That is the same version twice." : "These two versions are the same, line for line."}
        </p>
      )}
      {rows.length > 0 && (
        <div className="overflow-x-auto rounded-lg border border-stone-200 dark:border-stone-800">
          <table className="w-full border-collapse font-mono text-xs leading-5" aria-label={`Changes from version ${compare.from} to version ${compare.to}`}>
            <tbody>
              {rows.map((r, i) => {
                if (r.type === "file") return null;
                if (r.type === "hunk") {
                  return (
                    <tr key={i} className="bg-sky-50 text-sky-800 dark:bg-sky-950/40 dark:text-sky-300">
                      <td colSpan={3} className="px-3 py-1">
                        {r.text}
                      </td>
                    </tr>
                  );
                }
                const tone =
                  r.type === "added"
                    ? "bg-emerald-50 text-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-200"
                    : r.type === "removed"
                      ? "bg-rose-50 text-rose-900 dark:bg-rose-950/40 dark:text-rose-200"
                      : "text-stone-700 dark:text-stone-300";
                const sign = r.type === "added" ? "+" : r.type === "removed" ? "−" : " ";
                return (
                  <tr key={i} className={tone} data-diff={r.type}>
                    <td className="w-10 border-r border-stone-200 px-2 text-right text-stone-400 select-none dark:border-stone-800">{r.oldLine ?? ""}</td>
                    <td className="w-10 border-r border-stone-200 px-2 text-right text-stone-400 select-none dark:border-stone-800">{r.newLine ?? ""}</td>
                    <td className="px-3 whitespace-pre-wrap break-words">
                      <span aria-hidden="true" className="mr-2 select-none opacity-60">
                        {sign}
                      </span>
                      {r.type !== "context" && <span className="sr-only">{r.type === "added" ? "Added: " : "Removed: "}</span>}
                      {r.text}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
