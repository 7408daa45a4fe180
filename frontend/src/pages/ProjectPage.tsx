import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { errorMessage } from "../api/client";
import { exportProject, saveBlob, type ExportFormat } from "../api/documents";
import type { LiveStatus } from "../api/events";
import { canEdit, roleOf } from "../api/members";
import type { Item, Message } from "../api/types";
import { Board } from "../components/Board";
import { Chat, type ChatHandle } from "../components/Chat";
import { AppShell } from "../components/Layout";
import { MembersDialog, RoleBadge } from "../components/MembersDialog";
import { IconActivity, IconArrowLeft, IconDocument, IconDownload, IconUsers } from "../components/icons";
import { Alert, Button, EmptyState, MenuButton, Skeleton, Spinner, cx } from "../components/ui";
import { quoteForReply } from "../lib/conversation";
import { Link, navigate } from "../lib/router";
import { useClient } from "../lib/session";
import { useProject } from "../lib/useProject";

function LiveIndicator({ status }: { status: LiveStatus }) {
  const map: Record<LiveStatus, { label: string; dot: string; text: string }> = {
    connecting: { label: "Connecting…", dot: "bg-stone-400 animate-pulse", text: "text-stone-500" },
    live: { label: "Live", dot: "bg-emerald-500", text: "text-emerald-700 dark:text-emerald-400" },
    reconnecting: { label: "Reconnecting…", dot: "bg-amber-500 animate-pulse", text: "text-amber-700 dark:text-amber-400" },
    paused: { label: "Paused", dot: "bg-stone-400", text: "text-stone-500" },
    offline: { label: "Offline", dot: "bg-rose-500", text: "text-rose-700 dark:text-rose-400" },
    closed: { label: "Closed", dot: "bg-stone-400", text: "text-stone-500" },
  };
  const m = map[status];
  return (
    <span
      role="status"
      className={cx("inline-flex items-center gap-1.5 text-xs font-medium", m.text)}
      title={status === "live" ? "Changes made elsewhere appear here as they happen." : undefined}
      data-testid="live-status"
      data-status={status}
    >
      <span aria-hidden="true" className={cx("h-2 w-2 rounded-full", m.dot)} />
      {m.label}
    </span>
  );
}

// The documents view (and its Markdown renderer) loads when first opened.
const Documents = lazy(() => import("../components/Documents").then((m) => ({ default: m.Documents })));

function ViewTab({ to, active, children, testId }: { to: string; active: boolean; children: ReactNode; testId: string }) {
  return (
    <Link
      to={to}
      aria-current={active ? "page" : undefined}
      data-testid={testId}
      className={cx(
        "-mb-px inline-flex items-center gap-1.5 border-b-2 px-3 py-2 text-sm font-medium transition-colors",
        active
          ? "border-indigo-600 text-indigo-700 dark:border-indigo-400 dark:text-indigo-300"
          : "border-transparent text-stone-500 hover:text-stone-800 dark:text-stone-400 dark:hover:text-stone-200",
      )}
    >
      {children}
    </Link>
  );
}

export function ProjectPage({ id, view = "board" }: { id: string; view?: "board" | "documents" }) {
  const client = useClient();
  const model = useProject(client, id);
  const { project, projectError } = model;
  const role = roleOf(project);
  const readOnly = project !== null && !canEdit(role);
  const [draft, setDraft] = useState("");
  const [highlighted, setHighlighted] = useState<string | null>(null);
  const [pane, setPane] = useState<"chat" | "board">("chat");
  const [membersOpen, setMembersOpen] = useState(false);
  const [exporting, setExporting] = useState<ExportFormat | null>(null);
  const [focusItem, setFocusItem] = useState<string | null>(null);
  const boardItems = useMemo(() => Object.values(model.board.items), [model.board.items]);

  const doExport = async (format: ExportFormat) => {
    setExporting(format);
    try {
      const { blob, filename } = await exportProject(client, id, format);
      saveBlob(blob, filename);
    } catch (e) {
      model.toast("error", `The export failed: ${errorMessage(e)}`);
    } finally {
      setExporting(null);
    }
  };

  // A document's citation asks for its card: the board, scrolled to it.
  const showItem = useCallback(
    (item: Item) => {
      setFocusItem(item.id);
      navigate(`/projects/${id}`);
    },
    [id],
  );
  useEffect(() => {
    if (view !== "board" || focusItem === null) return;
    // eslint-disable-next-line react-hooks/set-state-in-effect -- on a phone the board is a tab of its own
    setPane("board");
    const frame = window.requestAnimationFrame(() => {
      const el = document.querySelector<HTMLElement>(`[data-item-id="${CSS.escape(focusItem)}"]`);
      setFocusItem(null);
      if (!el) return;
      el.scrollIntoView({ behavior: "smooth", block: "center" });
      el.setAttribute("tabindex", "-1");
      el.focus({ preventScroll: true });
      el.classList.add("ring-2", "ring-amber-400");
      el.dataset.highlighted = "true";
      window.setTimeout(() => {
        el.classList.remove("ring-2", "ring-amber-400");
        delete el.dataset.highlighted;
      }, 2400);
    });
    return () => window.cancelAnimationFrame(frame);
  }, [view, focusItem]);
  const chatRef = useRef<ChatHandle>(null);
  const highlightTimer = useRef<number | null>(null);

  // The composer keeps the text of a message that could not be sent.
  const { sendError } = model;
  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- restore the unsent text once
    if (sendError && sendError.content) setDraft((d) => (d.trim() === "" ? sendError.content : d));
  }, [sendError]);

  useEffect(() => {
    if (project) document.title = `${project.title} · Brainstorm`;
    return () => {
      document.title = "Brainstorm";
    };
  }, [project]);

  const onAnswer = useCallback((q: Message) => {
    setPane("chat");
    setDraft((d) => {
      const quote = quoteForReply(q.content);
      return d.includes(quote) ? d : `${d.trim() === "" ? "" : `${d.trimEnd()}\n\n`}${quote}`;
    });
    window.setTimeout(() => chatRef.current?.focusComposer(), 0);
  }, []);

  const { loadEarlier } = model;
  const jumpToSource = useCallback(
    async (messageId: string) => {
      setPane("chat");
      let el = document.getElementById(`msg-${messageId}`);
      // Older than the loaded page: load earlier messages until it appears.
      for (let i = 0; !el && i < 20; i++) {
        const more = await loadEarlier();
        await new Promise((r) => window.setTimeout(r, 50));
        el = document.getElementById(`msg-${messageId}`);
        if (!more) break;
      }
      if (!el) {
        model.toast("info", "The message this card came from is no longer in the conversation.");
        return;
      }
      el.scrollIntoView({ behavior: "smooth", block: "center" });
      el.focus({ preventScroll: true });
      setHighlighted(null);
      window.requestAnimationFrame(() => setHighlighted(messageId));
      if (highlightTimer.current !== null) window.clearTimeout(highlightTimer.current);
      highlightTimer.current = window.setTimeout(() => setHighlighted(null), 2400);
    },
    [loadEarlier, model],
  );

  if (projectError) {
    return (
      <AppShell>
        <div className="mx-auto w-full max-w-xl px-4 py-16">
          {projectError.notFound ? (
            <EmptyState
              title="This project does not exist"
              action={
                <Link to="/" className="text-sm font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400">
                  Back to your projects
                </Link>
              }
            >
              It may have been deleted, or the link is wrong.
            </EmptyState>
          ) : (
            <Alert title="The project could not be loaded" action={<Button size="sm" onClick={() => window.location.reload()}>Reload</Button>}>
              {projectError.message}
            </Alert>
          )}
        </div>
      </AppShell>
    );
  }

  return (
    <AppShell wide fill>
      <div className="mx-auto flex min-h-0 w-full max-w-[1600px] flex-1 flex-col px-3 pt-4 pb-3 sm:px-6">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1 pb-3">
          <Link
            to="/"
            aria-label="All projects"
            title="All projects"
            className="inline-flex h-8 w-8 items-center justify-center rounded-md text-stone-500 hover:bg-stone-200/70 hover:text-stone-900 dark:hover:bg-stone-800 dark:hover:text-stone-100"
          >
            <IconArrowLeft />
          </Link>
          <div className="min-w-0 flex-1">
            {project ? (
              <h1 className="truncate text-lg font-semibold tracking-tight" data-testid="project-title">
                {project.title}
                <RoleBadge role={role} className="ml-2 align-middle" />
                {project.status === "archived" && (
                  <span className="ml-2 rounded bg-stone-200 px-1.5 py-0.5 align-middle text-xs font-medium text-stone-600 dark:bg-stone-800 dark:text-stone-300">
                    Archived
                  </span>
                )}
              </h1>
            ) : (
              <Skeleton className="h-6 w-48" />
            )}
          </div>
          <LiveIndicator status={model.liveStatus} />
          <Button size="sm" variant="ghost" onClick={() => setMembersOpen(true)} disabled={!project} data-testid="members-button">
            <IconUsers /> <span className="sr-only sm:not-sr-only">Members</span>
          </Button>
          <MenuButton
            label="Export this project"
            heading="Export as"
            items={[
              { label: "Markdown (.md)", icon: <IconDocument />, onSelect: () => void doExport("md"), disabled: exporting !== null },
              { label: "JSON (.json), to import", icon: <IconDownload />, onSelect: () => void doExport("json"), disabled: exporting !== null },
            ]}
            buttonClassName="gap-1.5 px-2.5 text-sm font-medium text-stone-600 dark:text-stone-400"
          >
            {exporting ? <Spinner size={14} /> : <IconDownload />} <span className="sr-only sm:not-sr-only">Export</span>
          </MenuButton>
          <Link
            to={`/projects/${id}/activity`}
            className="inline-flex h-8 items-center gap-1.5 rounded-md px-2.5 text-sm font-medium text-stone-600 hover:bg-stone-200/70 hover:text-stone-900 dark:text-stone-400 dark:hover:bg-stone-800 dark:hover:text-stone-100"
          >
            <IconActivity /> <span className="sr-only sm:not-sr-only">Agent activity</span>
          </Link>
        </div>

        {model.toasts.length > 0 && (
          <div className="pointer-events-none fixed right-4 bottom-4 z-40 flex w-[min(26rem,calc(100%-2rem))] flex-col gap-2">
            {model.toasts.map((t) => (
              <Alert key={t.id} tone={t.tone} className="pointer-events-auto animate-fade-in shadow-lg" onDismiss={() => model.dismissToast(t.id)}>
                {t.text}
              </Alert>
            ))}
          </div>
        )}

        <nav aria-label="Project views" className="mb-3 flex gap-1 border-b border-stone-200 dark:border-stone-800">
          <ViewTab to={`/projects/${id}`} active={view === "board"} testId="view-board">
            Conversation &amp; board
          </ViewTab>
          <ViewTab to={`/projects/${id}/documents`} active={view === "documents"} testId="view-documents">
            <IconDocument /> Documents
          </ViewTab>
        </nav>

        {view === "documents" && (
          <Suspense fallback={<Skeleton className="h-64 w-full" />}>
            <Documents projectId={id} items={boardItems} readOnly={readOnly} onShowItem={showItem} revision={model.documentsRevision} />
          </Suspense>
        )}

        {view === "board" && (
        <>
        <div role="tablist" aria-label="Show" className="mb-3 grid grid-cols-2 gap-1 rounded-lg bg-stone-200/70 p-1 lg:hidden dark:bg-stone-800/70">
          {(["chat", "board"] as const).map((p) => (
            <button
              key={p}
              type="button"
              role="tab"
              aria-selected={pane === p}
              aria-controls={`pane-${p}`}
              onClick={() => setPane(p)}
              className={cx(
                "rounded-md py-1.5 text-sm font-medium transition-colors",
                pane === p ? "bg-white text-stone-900 shadow-sm dark:bg-stone-900 dark:text-stone-100" : "text-stone-600 dark:text-stone-400",
              )}
            >
              {p === "chat" ? "Conversation" : `Board (${Object.values(model.board.items).filter((i) => i.state !== "rejected").length})`}
            </button>
          ))}
        </div>

        <div className="grid min-h-0 flex-1 grid-cols-1 gap-4 lg:grid-cols-[minmax(360px,5fr)_8fr]">
          <div id="pane-chat" className={cx("min-h-0 flex-col", pane === "chat" ? "flex" : "hidden lg:flex")}>
            <Chat
              ref={chatRef}
              conversation={model.conversation}
              loaded={model.messagesLoaded}
              error={model.messagesError}
              onRetryLoad={() => void model.reloadMessages()}
              sending={model.sending}
              sendError={model.sendError}
              onDismissSendError={model.clearSendError}
              onSend={(text) => void model.send(text)}
              onRetryTurn={(t) => void model.retryTurn(t)}
              draft={draft}
              setDraft={setDraft}
              onAnswer={onAnswer}
              highlighted={highlighted}
              onLoadEarlier={() => void model.loadEarlier()}
              loadingEarlier={model.loadingEarlier}
              readOnly={readOnly}
            />
          </div>
          <div id="pane-board" className={cx("min-h-0 flex-col overflow-y-auto md:overflow-visible", pane === "board" ? "flex" : "hidden lg:flex")}>
            <Board
              projectId={id}
              board={model.board}
              loaded={model.boardLoaded}
              error={model.boardError}
              onRetry={() => void model.reloadBoard()}
              onMove={(itemId, to) => void model.moveItem(itemId, to)}
              onEdit={model.editItem}
              onDelete={model.deleteItem}
              onAdd={model.addItem}
              onJumpToSource={(m) => void jumpToSource(m)}
              readOnly={readOnly}
            />
          </div>
        </div>
        </>
        )}
      </div>
      {project && (
        <MembersDialog
          open={membersOpen}
          onClose={() => setMembersOpen(false)}
          projectId={id}
          projectTitle={project.title}
          role={role}
          onLeft={() => navigate("/", { replace: true })}
        />
      )}
    </AppShell>
  );
}
