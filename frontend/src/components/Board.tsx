import { useEffect, useRef, useState, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { errorMessage } from "../api/client";
import type { Item, ItemEvent, ItemHistory } from "../api/types";
import { COLUMNS, COLUMN_LABELS, groupColumns, type BoardState, type Column } from "../lib/board";
import { formatDateTime } from "../lib/format";
import { cleanText } from "../lib/text";
import { humanizeAgent } from "../lib/conversation";
import { useSession } from "../lib/session";
import type { EditResult } from "../lib/useProject";
import { IconDots, IconHistory, IconMove, IconPencil, IconPlus, IconQuote, IconTrash } from "./icons";
import { Alert, Button, ConfirmDialog, Dialog, EmptyState, IconButton, MenuButton, Skeleton, Spinner, cx } from "./ui";

const DRAG_TYPE = "application/x-brainstorm-item";

const COLUMN_STYLE: Record<Column, { dot: string; head: string; drop: string; hint: string }> = {
  decided: {
    dot: "bg-emerald-500",
    head: "text-emerald-800 dark:text-emerald-300",
    drop: "ring-emerald-400/70 bg-emerald-50/70 dark:bg-emerald-950/30",
    hint: "What you have settled on.",
  },
  exploring: {
    dot: "bg-sky-500",
    head: "text-sky-800 dark:text-sky-300",
    drop: "ring-sky-400/70 bg-sky-50/70 dark:bg-sky-950/30",
    hint: "Ideas still being weighed.",
  },
  parked: {
    dot: "bg-stone-400",
    head: "text-stone-700 dark:text-stone-300",
    drop: "ring-stone-400/70 bg-stone-100/80 dark:bg-stone-800/40",
    hint: "Good ideas for later.",
  },
};

export interface BoardProps {
  board: BoardState;
  loaded: boolean;
  error: string | null;
  onRetry: () => void;
  onMove: (id: string, to: Column) => void;
  onEdit: (id: string, text: string, version: number) => Promise<EditResult>;
  onDelete: (id: string) => Promise<void>;
  onAdd: (state: Column, text: string) => Promise<Item>;
  onJumpToSource: (messageId: string) => void;
  projectId: string;
  /** A viewer: cards are read (and their history), never moved, edited or added. */
  readOnly?: boolean;
}

export function Board(props: BoardProps) {
  const { board, error, onRetry } = props;
  const columns = groupColumns(board);
  const [dragging, setDragging] = useState<string | null>(null);
  const [historyFor, setHistoryFor] = useState<Item | null>(null);
  const [deleting, setDeleting] = useState<Item | null>(null);
  const [deleteBusy, setDeleteBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  return (
    <section aria-labelledby="board-heading" className="flex min-h-0 flex-1 flex-col">
      <div className="flex items-center justify-between px-1 pb-3">
        <h2 id="board-heading" className="text-sm font-semibold tracking-wide text-stone-500 uppercase dark:text-stone-400">
          Board
        </h2>
        <p className="hidden text-xs text-stone-500 sm:block dark:text-stone-500">
          {props.readOnly ? "Read only: you are a viewer of this project." : "Drag cards between columns, or use a card’s move menu."}
        </p>
      </div>
      {error && (
        <Alert className="mb-3" title="The board could not be loaded" action={<Button size="sm" onClick={onRetry}>Try again</Button>}>
          {error}
        </Alert>
      )}
      <div className="grid min-h-0 flex-1 grid-cols-1 gap-3 md:grid-cols-3" data-testid="board">
        {COLUMNS.map((col) => (
          <BoardColumn
            key={col}
            column={col}
            items={columns[col]}
            dragging={dragging}
            setDragging={setDragging}
            pending={board.pending}
            onShowHistory={setHistoryFor}
            onAskDelete={(item) => {
              setDeleteError(null);
              setDeleting(item);
            }}
            {...props}
          />
        ))}
      </div>
      <HistoryDialog item={historyFor} projectId={props.projectId} onClose={() => setHistoryFor(null)} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this card?"
        description={
          <>
            “{deleting?.text}” will be removed from the board. Its history stays readable in the project’s record.
          </>
        }
        confirmLabel="Delete card"
        busy={deleteBusy}
        error={deleteError}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (!deleting) return;
          setDeleteBusy(true);
          props
            .onDelete(deleting.id)
            .then(() => setDeleting(null))
            .catch((e: unknown) => setDeleteError(errorMessage(e)))
            .finally(() => setDeleteBusy(false));
        }}
      />
    </section>
  );
}

function BoardColumn({
  column,
  items,
  loaded,
  dragging,
  setDragging,
  pending,
  onMove,
  onEdit,
  onAdd,
  onJumpToSource,
  onShowHistory,
  onAskDelete,
  readOnly = false,
}: BoardProps & {
  column: Column;
  items: Item[];
  dragging: string | null;
  setDragging: (id: string | null) => void;
  pending: BoardState["pending"];
  onShowHistory: (item: Item) => void;
  onAskDelete: (item: Item) => void;
}) {
  const [over, setOver] = useState(false);
  const [adding, setAdding] = useState(false);
  const style = COLUMN_STYLE[column];
  const headingId = `col-${column}`;

  const accepts = (e: DragEvent) => !readOnly && e.dataTransfer.types.includes(DRAG_TYPE);
  const onDragOver = (e: DragEvent) => {
    if (!accepts(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    if (!over) setOver(true);
  };
  const onDrop = (e: DragEvent) => {
    if (!accepts(e)) return;
    e.preventDefault();
    setOver(false);
    const id = e.dataTransfer.getData(DRAG_TYPE);
    setDragging(null);
    if (id) onMove(id, column);
  };

  return (
    <div
      role="group"
      aria-labelledby={headingId}
      data-column={column}
      onDragOver={onDragOver}
      onDragEnter={onDragOver}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={onDrop}
      className={cx(
        "flex min-h-40 flex-col rounded-xl border border-stone-200 bg-stone-100/70 p-2 transition-colors md:min-h-0 dark:border-stone-800 dark:bg-stone-900/50",
        over && `ring-2 ${style.drop}`,
        dragging && !over && "border-dashed",
      )}
    >
      <div className="flex items-center gap-2 px-1.5 pt-1 pb-2">
        <span aria-hidden="true" className={cx("h-2.5 w-2.5 rounded-full", style.dot)} />
        <h3 id={headingId} className={cx("text-sm font-semibold", style.head)}>
          {COLUMN_LABELS[column]}
        </h3>
        <span
          className="rounded-full bg-white px-2 text-xs font-medium text-stone-600 tabular-nums shadow-sm dark:bg-stone-800 dark:text-stone-300"
          aria-label={`${items.length} cards`}
          data-testid={`column-count-${column}`}
        >
          {items.length}
        </span>
        {!readOnly && (
        <button
          type="button"
          onClick={() => setAdding(true)}
          aria-label={`Add a card to ${COLUMN_LABELS[column]}`}
          title={`Add a card to ${COLUMN_LABELS[column]}`}
          className="ml-auto inline-flex h-7 w-7 items-center justify-center rounded-md text-stone-500 hover:bg-white hover:text-stone-900 dark:hover:bg-stone-800 dark:hover:text-stone-100"
        >
          <IconPlus />
        </button>
        )}
      </div>
      <ul className="flex min-h-0 flex-1 flex-col gap-2 overflow-y-auto px-0.5 pb-1" aria-label={`${COLUMN_LABELS[column]} cards`}>
        {!loaded &&
          [0, 1].map((i) => (
            <li key={i} className="rounded-lg bg-white p-3 dark:bg-stone-900">
              <Skeleton className="h-4 w-4/5" />
              <Skeleton className="mt-2 h-3 w-1/2" />
            </li>
          ))}
        {items.map((item) => (
          <ItemCard
            key={item.id}
            item={item}
            pending={pending[item.id] !== undefined}
            onMove={onMove}
            onEdit={onEdit}
            onJumpToSource={onJumpToSource}
            onShowHistory={() => onShowHistory(item)}
            onAskDelete={() => onAskDelete(item)}
            onDragStart={() => setDragging(item.id)}
            onDragEnd={() => setDragging(null)}
            readOnly={readOnly}
          />
        ))}
        {loaded && items.length === 0 && !adding && (
          <li className="flex flex-col items-center justify-center rounded-lg border border-dashed border-stone-300 px-3 py-8 text-center text-xs text-stone-500 dark:border-stone-700 dark:text-stone-500">
            <span>{style.hint}</span>
            <span className="mt-0.5">Nothing here yet.</span>
          </li>
        )}
        {adding && (
          <li>
            <AddCardForm
              column={column}
              onCancel={() => setAdding(false)}
              onAdd={async (text) => {
                await onAdd(column, text);
                setAdding(false);
              }}
            />
          </li>
        )}
      </ul>
    </div>
  );
}

function AddCardForm({
  column,
  onAdd,
  onCancel,
}: {
  column: Column;
  onAdd: (text: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const clean = cleanText(text);
    if (clean === "") return;
    setBusy(true);
    setError(null);
    try {
      await onAdd(clean);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="rounded-lg bg-white p-2 shadow-sm ring-1 ring-stone-200 dark:bg-stone-900 dark:ring-stone-700">
      <label htmlFor={`add-${column}`} className="sr-only">
        New card in {COLUMN_LABELS[column]}
      </label>
      <textarea
        id={`add-${column}`}
        autoFocus
        rows={2}
        maxLength={2000}
        value={text}
        placeholder="Write the idea…"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") onCancel();
          if (e.key === "Enter" && !e.shiftKey) {
            e.preventDefault();
            void submit();
          }
        }}
        className="block w-full resize-none rounded-md border-0 bg-transparent p-1 text-sm focus:ring-0 focus:outline-none"
      />
      {error && <p className="px-1 text-xs text-rose-600 dark:text-rose-400">{error}</p>}
      <div className="mt-1 flex justify-end gap-1.5">
        <Button size="sm" variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
        <Button size="sm" variant="primary" type="submit" busy={busy} disabled={cleanText(text) === ""}>
          Add card
        </Button>
      </div>
    </form>
  );
}

function Confidence({ value }: { value: number }) {
  const tone = value >= 80 ? "bg-emerald-500" : value >= 60 ? "bg-sky-500" : "bg-amber-500";
  return (
    <span className="inline-flex items-center gap-1.5" title={`Confidence ${value}%`}>
      <span
        role="meter"
        aria-label="Confidence"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        aria-valuetext={`${value}%`}
        className="relative h-1.5 w-12 overflow-hidden rounded-full bg-stone-200 dark:bg-stone-700"
      >
        <span className={cx("absolute inset-y-0 left-0 rounded-full", tone)} style={{ width: `${Math.max(0, Math.min(100, value))}%` }} />
      </span>
      <span className="text-xs text-stone-500 tabular-nums dark:text-stone-400">{value}%</span>
    </span>
  );
}

function ItemCard({
  item,
  pending,
  onMove,
  onEdit,
  onJumpToSource,
  onShowHistory,
  onAskDelete,
  onDragStart,
  onDragEnd,
  readOnly,
}: {
  readOnly: boolean;
  item: Item;
  pending: boolean;
  onMove: (id: string, to: Column) => void;
  onEdit: (id: string, text: string, version: number) => Promise<EditResult>;
  onJumpToSource: (messageId: string) => void;
  onShowHistory: () => void;
  onAskDelete: () => void;
  onDragStart: () => void;
  onDragEnd: () => void;
}) {
  const [editing, setEditing] = useState<{ base: Item; draft: string } | null>(null);
  const [conflict, setConflict] = useState<Item | null>(null);
  const [editError, setEditError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const moreButtonRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (editing) textareaRef.current?.focus();
  }, [editing !== null]); // eslint-disable-line react-hooks/exhaustive-deps

  // Changed elsewhere while being edited: say so now, before saving.
  const changedElsewhere = editing !== null && item.version !== editing.base.version ? item : null;
  const shownConflict = conflict ?? changedElsewhere;

  const startEdit = () => {
    setConflict(null);
    setEditError(null);
    setEditing({ base: item, draft: item.text });
  };
  const cancelEdit = () => {
    setEditing(null);
    setConflict(null);
    setEditError(null);
    window.setTimeout(() => moreButtonRef.current?.focus(), 0);
  };

  const save = async (version: number) => {
    if (!editing) return;
    const text = cleanText(editing.draft);
    if (text === "") {
      setEditError("A card needs some text.");
      return;
    }
    if (text === item.text && version === item.version) {
      cancelEdit();
      return;
    }
    setSaving(true);
    setEditError(null);
    const r = await onEdit(item.id, text, version);
    setSaving(false);
    if (r.ok) {
      setEditing(null);
      setConflict(null);
      window.setTimeout(() => moreButtonRef.current?.focus(), 0);
    } else if (r.conflict) {
      // Keep the person's text; show the current one; let them re-apply.
      setConflict(r.conflict);
    } else {
      setEditError(r.message);
    }
  };

  const onDrag = (e: DragEvent<HTMLLIElement>) => {
    e.dataTransfer.setData(DRAG_TYPE, item.id);
    e.dataTransfer.setData("text/plain", item.text);
    e.dataTransfer.effectAllowed = "move";
    onDragStart();
  };

  const others = COLUMNS.filter((c) => c !== item.state);
  const short = item.text.length > 40 ? `${item.text.slice(0, 40)}…` : item.text;

  return (
    <li
      draggable={!editing && !readOnly}
      onDragStart={onDrag}
      onDragEnd={onDragEnd}
      data-item-id={item.id}
      data-testid="item-card"
      className={cx(
        "group animate-fade-in rounded-lg border bg-white p-3 shadow-sm transition-shadow dark:bg-stone-900",
        editing ? "border-indigo-300 ring-2 ring-indigo-500/20 dark:border-indigo-700" : readOnly ? "border-stone-200 dark:border-stone-800" : "cursor-grab border-stone-200 hover:shadow-md active:cursor-grabbing dark:border-stone-800",
        pending && "opacity-70",
      )}
    >
      {editing ? (
        <div>
          <label htmlFor={`edit-${item.id}`} className="sr-only">
            Card text
          </label>
          <textarea
            id={`edit-${item.id}`}
            ref={textareaRef}
            rows={3}
            maxLength={2000}
            value={editing.draft}
            onChange={(e) => setEditing({ ...editing, draft: e.target.value })}
            onKeyDown={(e: KeyboardEvent<HTMLTextAreaElement>) => {
              if (e.key === "Escape") {
                e.preventDefault();
                cancelEdit();
              }
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                void save(shownConflict ? shownConflict.version : editing.base.version);
              }
            }}
            className="block w-full resize-y rounded-md border border-stone-300 bg-white p-2 text-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-stone-700 dark:bg-stone-950"
          />
          {shownConflict && (
            <div role="alert" className="mt-2 rounded-md border border-amber-200 bg-amber-50 p-2.5 text-xs text-amber-900 dark:border-amber-900/60 dark:bg-amber-950/40 dark:text-amber-100" data-testid="edit-conflict">
              <p className="font-semibold">This card was changed elsewhere while you were editing.</p>
              <p className="mt-1">
                It now reads: <q className="italic">{shownConflict.text}</q>
                {shownConflict.state !== editing.base.state && <> (now in {COLUMN_LABELS[shownConflict.state as Column] ?? shownConflict.state})</>}
              </p>
              <p className="mt-1">Your text is kept above. Save it over the new version, or keep theirs.</p>
              <div className="mt-2 flex flex-wrap gap-1.5">
                <Button size="sm" variant="primary" busy={saving} onClick={() => void save(shownConflict.version)}>
                  Save mine
                </Button>
                <Button size="sm" onClick={cancelEdit}>
                  Keep theirs
                </Button>
              </div>
            </div>
          )}
          {editError && <p className="mt-1 text-xs text-rose-600 dark:text-rose-400" role="alert">{editError}</p>}
          {!shownConflict && (
            <div className="mt-2 flex justify-end gap-1.5">
              <Button size="sm" variant="ghost" onClick={cancelEdit}>
                Cancel
              </Button>
              <Button size="sm" variant="primary" busy={saving} onClick={() => void save(editing.base.version)}>
                Save
              </Button>
            </div>
          )}
        </div>
      ) : (
        <>
          <p
            className="text-sm leading-snug font-medium break-words text-stone-900 dark:text-stone-100"
            data-testid="item-text"
            onDoubleClick={readOnly ? undefined : startEdit}
            title={readOnly ? undefined : "Double-click to edit"}
          >
            {item.text}
          </p>
          {item.user_quote && (
            <button
              type="button"
              onClick={() => item.source_message_id && onJumpToSource(item.source_message_id)}
              disabled={!item.source_message_id}
              aria-label={`Quote: “${item.user_quote}”. ${item.source_message_id ? "Show the message it came from." : ""}`}
              title={item.source_message_id ? "Show the message this came from" : undefined}
              className="mt-2 flex w-full items-start gap-1.5 rounded-md border-l-2 border-indigo-300 bg-indigo-50/60 px-2 py-1.5 text-left text-xs text-stone-700 transition-colors hover:bg-indigo-100/70 disabled:cursor-default dark:border-indigo-700 dark:bg-indigo-950/30 dark:text-stone-300 dark:hover:bg-indigo-950/60"
              data-testid="item-quote"
            >
              <IconQuote size={12} className="mt-0.5 shrink-0 text-indigo-400" />
              <span className="line-clamp-3 italic">{item.user_quote}</span>
            </button>
          )}
          <div className="mt-2.5 flex items-center gap-2">
            <Confidence value={item.confidence} />
            <span className="truncate text-xs text-stone-400 dark:text-stone-500" title={`Added by ${item.created_by}`}>
              {item.created_by === "user" ? "you" : humanizeAgent(item.created_by)}
            </span>
            {pending && <Spinner size={12} className="text-stone-400" label="Saving" />}
            <div className="ml-auto flex items-center opacity-100 transition-opacity sm:opacity-60 sm:group-focus-within:opacity-100 sm:group-hover:opacity-100">
              {readOnly ? (
                <IconButton label={`History of “${short}”`} onClick={onShowHistory} className="h-7 w-7">
                  <IconHistory size={14} />
                </IconButton>
              ) : (
              <>
              <MenuButton
                label={`Move “${short}” to another column`}
                heading="Move to"
                items={others.map((c) => ({
                  label: COLUMN_LABELS[c],
                  onSelect: () => onMove(item.id, c),
                }))}
                buttonClassName="h-7 min-w-7"
              >
                <IconMove size={14} />
              </MenuButton>
              <MenuButton
                label={`More actions for “${short}”`}
                buttonClassName="h-7 min-w-7"
                buttonRef={moreButtonRef}
                items={[
                  { label: "Edit", icon: <IconPencil />, onSelect: startEdit },
                  { label: "History", icon: <IconHistory />, onSelect: onShowHistory },
                  { label: "Delete…", icon: <IconTrash />, onSelect: onAskDelete, danger: true },
                ]}
              >
                <IconDots size={14} />
              </MenuButton>
              </>
              )}
            </div>
          </div>
        </>
      )}
    </li>
  );
}

function describeEvent(e: ItemEvent): string {
  const col = (s: string | null) => (s ? (COLUMN_LABELS[s as Column] ?? s) : "?");
  switch (e.action) {
    case "created":
      return `Added to ${col(e.to_state)}`;
    case "moved":
      return `Moved from ${col(e.from_state)} to ${col(e.to_state)}`;
    case "updated":
      if (e.from_state && e.to_state && e.from_state !== e.to_state) {
        return `Moved from ${col(e.from_state)} to ${col(e.to_state)}`;
      }
      return "Text changed";
    case "deleted":
      return "Deleted";
  }
  return e.action;
}

/** Who made a change: an agent, the reader, or another person of the team. */
function describeActor(e: ItemEvent, me: string | undefined): string {
  if (e.actor !== "user") return humanizeAgent(e.actor);
  if (e.actor_user_id === null) return "a person";
  if (e.actor_user_id === me) return "you";
  return e.actor_name ?? "a former member";
}

function HistoryDialog({ item, projectId, onClose }: { item: Item | null; projectId: string; onClose: () => void }) {
  return (
    <Dialog open={item !== null} onClose={onClose} title="Card history" description={item ? `“${item.text}”` : undefined} wide>
      {item && <HistoryList key={item.id} itemId={item.id} projectId={projectId} />}
    </Dialog>
  );
}

function HistoryList({ itemId, projectId }: { itemId: string; projectId: string }) {
  const { client, user } = useSession();
  const [history, setHistory] = useState<ItemHistory | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    client
      .itemHistory(projectId, itemId)
      .then((h) => !cancelled && setHistory(h))
      .catch((e: unknown) => !cancelled && setError(errorMessage(e)));
    return () => {
      cancelled = true;
    };
  }, [client, projectId, itemId]);
  if (error) return <Alert>{error}</Alert>;
  if (history === null)
    return (
      <div className="flex items-center gap-2 py-6 text-sm text-stone-500" role="status">
        <Spinner /> Loading history…
      </div>
    );
  const { events, omitted } = history;
  if (events.length === 0) return <EmptyState title="No history yet" />;
  // A project keeps a bounded history: its oldest changes go first.
  const earlier =
    omitted > 0
      ? `${omitted} earlier ${omitted === 1 ? "change is" : "changes are"} not shown.`
      : events[0]?.action !== "created"
        ? "Earlier changes of this card are no longer kept."
        : null;
  return (
    <div className="max-h-[60vh] overflow-y-auto py-1 pl-2">
      {earlier && (
        <p className="mb-4 text-xs text-stone-500 dark:text-stone-400" data-testid="history-earlier">
          {earlier}
        </p>
      )}
      <ol className="relative space-y-5 border-l border-stone-200 pl-5 dark:border-stone-700" data-testid="history-list">
        {events.map((e) => (
          <li key={e.id} className="relative">
            <span aria-hidden="true" className="absolute top-1 -left-[27px] h-3 w-3 rounded-full border-2 border-white bg-indigo-500 dark:border-stone-900" />
            <p className="text-sm font-medium">{describeEvent(e)}</p>
            <p className="text-xs text-stone-500 dark:text-stone-400">
              {formatDateTime(e.created_at)} · by {describeActor(e, user?.id)}
            </p>
            {e.old_text !== null && e.new_text !== null && e.old_text !== e.new_text && (
              <div className="mt-1.5 space-y-1 text-xs">
                <p className="rounded bg-rose-50 px-2 py-1 text-rose-900 line-through decoration-rose-400/60 dark:bg-rose-950/40 dark:text-rose-200">
                  {e.old_text}
                </p>
                <p className="rounded bg-emerald-50 px-2 py-1 text-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-200">{e.new_text}</p>
              </div>
            )}
            {e.action === "created" && e.new_text && <p className="mt-1 text-xs text-stone-600 dark:text-stone-300">{e.new_text}</p>}
            {e.reason && <p className="mt-1 text-xs text-stone-600 italic dark:text-stone-400">Reason: {e.reason}</p>}
          </li>
        ))}
      </ol>
    </div>
  );
}
