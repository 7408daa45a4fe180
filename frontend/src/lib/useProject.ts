// Everything the project page knows and does: the project, the board, the
// conversation and the live stream, kept consistent whichever way a change
// arrives (this tab's turn, another tab, another person).

import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage, isApiError, type ApiClient } from "../api/client";
import { LiveEvents, consumeTurnStream, type LiveStatus } from "../api/events";
import type { Item, Project, TurnEvent } from "../api/types";
import {
  applyItemsChanged,
  baseVersion,
  confirmMove,
  emptyBoard,
  isItem,
  mergeSnapshot,
  moveOptimistic,
  removeItem,
  rollbackMove,
  upsertItem,
  type BoardState,
  type Column,
} from "./board";
import {
  abandonTurn,
  addActivity,
  addMessages,
  applyTurnEvent,
  emptyConversation,
  oldestMessageId,
  type ConversationState,
} from "./conversation";

const PAGE = 50;
/** How long a hidden tab keeps its live stream: a glance at another tab keeps it. */
const HIDDEN_PAUSE_MS = 10_000;

export type EditResult = { ok: true; item: Item } | { ok: false; conflict: Item | null; message: string };

export interface Toast {
  id: number;
  tone: "error" | "info" | "warning";
  text: string;
}

export function useProject(client: ApiClient, projectId: string) {
  const [project, setProject] = useState<Project | null>(null);
  const [projectError, setProjectError] = useState<{ notFound: boolean; message: string } | null>(null);
  const [board, setBoard] = useState<BoardState>(emptyBoard);
  const [boardLoaded, setBoardLoaded] = useState(false);
  const [boardError, setBoardError] = useState<string | null>(null);
  const [conversation, setConversation] = useState<ConversationState>(emptyConversation);
  const [messagesLoaded, setMessagesLoaded] = useState(false);
  const [messagesError, setMessagesError] = useState<string | null>(null);
  const [liveStatus, setLiveStatus] = useState<LiveStatus>("connecting");
  const [sending, setSending] = useState<{ content: string; turnId: string | null } | null>(null);
  const [sendError, setSendError] = useState<{ message: string; content: string } | null>(null);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  // Moves on with each document version saved while the page is open (live
  // events) and after each reconnection: the documents tab reloads its list.
  const [documentsRevision, setDocumentsRevision] = useState(0);

  // Ids that arrived by event while a GET .../items was under way.
  const recentIds = useRef<Set<string> | null>(null);
  const toastSeq = useRef(0);
  const mounted = useRef(true);
  const sendAbort = useRef<AbortController | null>(null);
  const messagesLoadedRef = useRef(false);
  const conversationRef = useRef(conversation);
  useEffect(() => {
    conversationRef.current = conversation;
  }, [conversation]);

  const toast = useCallback((tone: Toast["tone"], text: string) => {
    const id = ++toastSeq.current;
    setToasts((t) => [...t.slice(-3), { id, tone, text }]);
    window.setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 7000);
  }, []);
  const dismissToast = useCallback((id: number) => setToasts((t) => t.filter((x) => x.id !== id)), []);

  const loadItems = useCallback(async () => {
    recentIds.current = new Set();
    try {
      const items = await client.listItems(projectId);
      const keep = recentIds.current;
      recentIds.current = null;
      if (!mounted.current) return;
      setBoard((b) => mergeSnapshot(b, items, keep ?? undefined));
      setBoardLoaded(true);
      setBoardError(null);
    } catch (e) {
      recentIds.current = null;
      if (mounted.current) setBoardError(errorMessage(e));
    }
  }, [client, projectId]);

  const loadLatestMessages = useCallback(async () => {
    try {
      const messages = await client.listMessages(projectId, { limit: PAGE });
      if (!mounted.current) return;
      setConversation((c) => {
        const next = addMessages(c, messages);
        return messagesLoadedRef.current ? next : { ...next, hasMore: messages.length === PAGE };
      });
      messagesLoadedRef.current = true;
      setMessagesLoaded(true);
      setMessagesError(null);
    } catch (e) {
      if (mounted.current) setMessagesError(errorMessage(e));
    }
  }, [client, projectId]);

  const loadEarlier = useCallback(async (): Promise<boolean> => {
    const before = oldestMessageId(conversationRef.current);
    if (!before) return false;
    setLoadingEarlier(true);
    try {
      const messages = await client.listMessages(projectId, { before, limit: PAGE });
      const hasMore = messages.length === PAGE;
      setConversation((c) => ({ ...addMessages(c, messages), hasMore }));
      return messages.length > 0;
    } catch (e) {
      toast("error", errorMessage(e));
      return false;
    } finally {
      setLoadingEarlier(false);
    }
  }, [client, projectId, toast]);

  const handleItemsChanged = useCallback((data: { items?: Item[]; removed?: string[] }) => {
    const rec = recentIds.current;
    if (rec) for (const i of data.items ?? []) rec.add(i.id);
    setBoard((b) => applyItemsChanged(b, data));
  }, []);

  const turnDoneReload = useRef<number | null>(null);
  const scheduleMessagesReload = useCallback(() => {
    if (turnDoneReload.current !== null) window.clearTimeout(turnDoneReload.current);
    turnDoneReload.current = window.setTimeout(() => {
      turnDoneReload.current = null;
      void loadLatestMessages();
    }, 150);
  }, [loadLatestMessages]);

  const handleEvent = useCallback(
    (event: TurnEvent, source: "turn" | "live") => {
      if (event.type === "items.changed") {
        handleItemsChanged(event.data);
        return;
      }
      if (event.type === "document.version") {
        setDocumentsRevision((n) => n + 1);
        return;
      }
      if (event.type === "member.role_changed") {
        const role = event.data.role;
        setProject((p) => (p === null ? p : { ...p, role }));
        toast("info", `Your role in this project is now ${role}.`);
        return;
      }
      setConversation((c) => applyTurnEvent(c, event, source));
      if (event.type === "turn.done") scheduleMessagesReload();
    },
    [handleItemsChanged, scheduleMessagesReload, toast],
  );

  // Load the project, its board and conversation; keep the live stream open.
  useEffect(() => {
    mounted.current = true;
    messagesLoadedRef.current = false;
    client
      .getProject(projectId)
      .then((p) => mounted.current && setProject(p))
      .catch((e: unknown) => {
        if (!mounted.current) return;
        setProjectError({
          notFound: isApiError(e) && e.status === 404,
          message: errorMessage(e),
        });
      });
    void loadItems();
    void loadLatestMessages();
    // What the agents did in the turns already there.
    client
      .activity(projectId, 500)
      .then((runs) => mounted.current && setConversation((c) => addActivity(c, runs)))
      .catch(() => undefined);
    let opens = 0;
    const live = new LiveEvents(client, projectId, {
      onEvent: (e) => handleEvent(e, "live"),
      onStatus: (s) => mounted.current && setLiveStatus(s),
      onOpen: () => {
        // After the first connection, catch up with anything the replay
        // could not cover (a long outage or pause): the board, the latest
        // messages, and an open documents tab's list.
        opens += 1;
        if (opens > 1 && mounted.current) {
          void loadItems();
          void loadLatestMessages();
          setDocumentsRevision((n) => n + 1);
        }
      },
    });
    live.start();
    const online = () => live.reconnectNow();
    const offline = () => live.drop();
    // A tab hidden for a while lets its stream go, and takes it up again
    // (with what it missed) when shown: over HTTP/1.1 a browser keeps at
    // most six connections to a host, and six tabs holding streams would
    // leave the seventh unable to load anything.
    let hiddenTimer: number | null = null;
    const visibility = () => {
      if (hiddenTimer !== null) window.clearTimeout(hiddenTimer);
      hiddenTimer = null;
      if (document.visibilityState === "visible") live.reconnectNow();
      else hiddenTimer = window.setTimeout(() => live.pause(), HIDDEN_PAUSE_MS);
    };
    if (document.visibilityState === "hidden") visibility();
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    document.addEventListener("visibilitychange", visibility);
    return () => {
      mounted.current = false;
      live.close();
      sendAbort.current?.abort();
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      document.removeEventListener("visibilitychange", visibility);
      if (hiddenTimer !== null) window.clearTimeout(hiddenTimer);
      if (turnDoneReload.current !== null) window.clearTimeout(turnDoneReload.current);
    };
  }, [client, projectId, loadItems, loadLatestMessages, handleEvent]);

  const runTurn = useCallback(
    async (open: (signal: AbortSignal) => Promise<Response>, content: string) => {
      setSendError(null);
      setSending({ content, turnId: null });
      const abort = new AbortController();
      sendAbort.current = abort;
      let turnId: string | null = null;
      try {
        const res = await open(abort.signal);
        const finished = await consumeTurnStream(res, (event) => {
          if ("turn_id" in event.data && event.data.turn_id && turnId === null) {
            turnId = event.data.turn_id;
            setSending({ content, turnId });
          }
          handleEvent(event, "turn");
        });
        if (!finished) {
          if (turnId !== null) {
            const id = turnId;
            setConversation((c) => abandonTurn(c, id, "The connection dropped before the turn finished."));
          }
          void loadLatestMessages();
          void loadItems();
        }
      } catch (e) {
        if (abort.signal.aborted) return;
        if (turnId === null) {
          // Nothing was stored, or the message was stored but the stream
          // never started: give the text back to the composer.
          setSendError({ message: errorMessage(e), content });
        } else {
          const id = turnId;
          setConversation((c) => abandonTurn(c, id, errorMessage(e)));
          toast("error", `The reply stream was interrupted: ${errorMessage(e)}`);
        }
        void loadLatestMessages();
      } finally {
        if (mounted.current) setSending(null);
        if (sendAbort.current === abort) sendAbort.current = null;
      }
    },
    [handleEvent, loadItems, loadLatestMessages, toast],
  );

  const send = useCallback(
    (content: string) => runTurn((signal) => client.postMessageStream(projectId, content, signal), content),
    [client, projectId, runTurn],
  );

  const retryTurn = useCallback(
    (turnId: string) => runTurn((signal) => client.retryTurnStream(projectId, turnId, signal), ""),
    [client, projectId, runTurn],
  );

  // ---- board actions ---------------------------------------------------------

  const boardRef = useRef(board);
  useEffect(() => {
    boardRef.current = board;
  }, [board]);

  const moveItem = useCallback(
    async (id: string, to: Column) => {
      const before = boardRef.current;
      const item = before.items[id];
      if (!item || item.state === to) return;
      const version = baseVersion(before, id);
      if (version === null) return;
      const next = moveOptimistic(before, id, to);
      boardRef.current = next;
      setBoard(next);
      try {
        const saved = await client.updateItem(projectId, id, { state: to, version });
        setBoard((b) => confirmMove(b, saved));
      } catch (e) {
        if (isApiError(e) && e.code === "version_conflict" && isItem(e.current)) {
          const current = e.current;
          setBoard((b) => rollbackMove(b, id, current));
          toast("warning", "That card was changed elsewhere just now, so it was not moved. It shows its current state; move it again if you still want to.");
        } else if (isApiError(e) && e.status === 404) {
          setBoard((b) => removeItem(b, id));
          toast("warning", "That card was deleted elsewhere.");
        } else {
          setBoard((b) => rollbackMove(b, id));
          toast("error", `The card could not be moved: ${errorMessage(e)}`);
        }
      }
    },
    [client, projectId, toast],
  );

  const editItem = useCallback(
    async (id: string, text: string, version: number): Promise<EditResult> => {
      try {
        const saved = await client.updateItem(projectId, id, { text, version });
        setBoard((b) => upsertItem(b, saved));
        return { ok: true, item: saved };
      } catch (e) {
        if (isApiError(e) && e.code === "version_conflict" && isItem(e.current)) {
          const current = e.current;
          setBoard((b) => upsertItem(b, current));
          return { ok: false, conflict: current, message: e.message };
        }
        if (isApiError(e) && e.status === 404) {
          setBoard((b) => removeItem(b, id));
          return { ok: false, conflict: null, message: "This card was deleted elsewhere." };
        }
        return { ok: false, conflict: null, message: errorMessage(e) };
      }
    },
    [client, projectId],
  );

  const deleteItem = useCallback(
    async (id: string) => {
      try {
        await client.deleteItem(projectId, id);
      } catch (e) {
        if (!(isApiError(e) && e.status === 404)) throw e;
      }
      setBoard((b) => removeItem(b, id));
    },
    [client, projectId],
  );

  const addItem = useCallback(
    async (state: Column, text: string) => {
      const item = await client.createItem(projectId, { text, state });
      setBoard((b) => upsertItem(b, item));
      return item;
    },
    [client, projectId],
  );

  return {
    project,
    setProject,
    projectError,
    board,
    boardLoaded,
    boardError,
    reloadBoard: loadItems,
    conversation,
    messagesLoaded,
    messagesError,
    reloadMessages: loadLatestMessages,
    loadEarlier,
    loadingEarlier,
    liveStatus,
    sending,
    sendError,
    clearSendError: () => setSendError(null),
    send,
    retryTurn,
    moveItem,
    editItem,
    deleteItem,
    addItem,
    toasts,
    dismissToast,
    toast,
    documentsRevision,
  };
}

export type ProjectModel = ReturnType<typeof useProject>;
