import {
  forwardRef,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
  type FormEvent,
  type ReactNode,
} from "react";
import type { Message } from "../api/types";
import {
  buildTimeline,
  humanizeAgent,
  turnFailureText,
  type AgentProgress,
  type ConversationState,
  type LiveTurn,
  type TimelineBlock,
} from "../lib/conversation";
import { formatCompact, formatLatency, formatTime } from "../lib/format";
import { cleanText } from "../lib/text";
import { IconAlert, IconCheck, IconQuestion, IconSend, IconSparkle, IconX } from "./icons";
import { Alert, Button, EmptyState, LiveAnnouncer, Skeleton, Spinner, cx } from "./ui";


/* A refusal, a spending limit and a retired model are not faults to retry
   at once: say so. */
function failureTitle(code: string | undefined): string {
  switch (code) {
    case "refused":
      return "Claude declined to answer";
    case "spend_cap":
      return "The Claude spending limit is reached";
    case "model_unavailable":
      return "The model is no longer available";
    default:
      return "This turn did not finish";
  }
}

export const MAX_MESSAGE = 8000;

const EXAMPLES = [
  "We could sell to bakeries. Let's go with a subscription. Maybe a mobile app later.",
  "What if the first version only worked for one city?",
  "I want to start a community garden; help me think it through.",
];

export interface ChatHandle {
  focusComposer(): void;
}

export interface ChatProps {
  conversation: ConversationState;
  loaded: boolean;
  error: string | null;
  onRetryLoad: () => void;
  sending: { content: string; turnId: string | null } | null;
  sendError: { message: string; content: string } | null;
  onDismissSendError: () => void;
  onSend: (content: string) => void;
  onRetryTurn: (turnId: string) => void;
  draft: string;
  setDraft: (s: string) => void;
  onAnswer: (question: Message) => void;
  highlighted: string | null;
  onLoadEarlier: () => void;
  loadingEarlier: boolean;
  /** A viewer: the conversation is read, never written (no composer, no answer or retry). */
  readOnly?: boolean;
}

function AgentChip({ a }: { a: AgentProgress }) {
  const tokens = a.tokens ? a.tokens.input + a.tokens.output + a.tokens.cache_read + a.tokens.cache_write : null;
  const state =
    a.status === "running"
      ? "working"
      : a.status === "error"
        ? `failed${a.error ? `: ${a.error}` : ""}`
        : a.status === "cached"
          ? "answered from cache"
          : "done";
  const detail = [
    a.latency_ms !== undefined ? formatLatency(a.latency_ms) : null,
    tokens !== null ? `${formatCompact(tokens)} tok` : null,
  ]
    .filter(Boolean)
    .join(" · ");
  return (
    <li
      className={cx(
        "inline-flex items-center gap-1.5 rounded-full border px-2 py-0.5 text-xs",
        a.status === "running" && "border-indigo-200 bg-indigo-50 text-indigo-800 dark:border-indigo-900 dark:bg-indigo-950/50 dark:text-indigo-200",
        (a.status === "ok" || a.status === "cached") && "border-stone-200 bg-white text-stone-700 dark:border-stone-700 dark:bg-stone-900 dark:text-stone-300",
        a.status === "error" && "border-rose-200 bg-rose-50 text-rose-800 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200",
      )}
      aria-label={`${humanizeAgent(a.agent)}: ${state}${detail ? `, ${detail}` : ""}`}
      title={
        a.tokens
          ? `${humanizeAgent(a.agent)} — in ${a.tokens.input}, out ${a.tokens.output}, cache read ${a.tokens.cache_read}, cache write ${a.tokens.cache_write}`
          : humanizeAgent(a.agent)
      }
      data-testid="agent-chip"
      data-agent={a.agent}
      data-status={a.status}
    >
      {a.status === "running" && <Spinner size={11} />}
      {(a.status === "ok" || a.status === "cached") && <IconCheck size={11} className="text-emerald-600 dark:text-emerald-400" />}
      {a.status === "error" && <IconX size={11} />}
      <span className="font-medium">{humanizeAgent(a.agent)}</span>
      {detail && <span className="text-stone-500 tabular-nums dark:text-stone-400">{detail}</span>}
      {a.status === "cached" && <span className="rounded bg-stone-100 px-1 text-[10px] uppercase dark:bg-stone-800">cached</span>}
    </li>
  );
}

function AgentStrip({ turn }: { turn: LiveTurn }) {
  const running = turn.status === "running";
  const total = turn.agents.reduce((m, a) => Math.max(m, a.latency_ms ?? 0), 0);
  const tokens = turn.agents.reduce(
    (s, a) => s + (a.tokens ? a.tokens.input + a.tokens.output + a.tokens.cache_read + a.tokens.cache_write : 0),
    0,
  );
  const failed = turn.agents.filter((a) => a.status === "error").length;
  const chips = (
    <ul className="mt-1.5 flex flex-wrap gap-1.5" aria-label="Agents">
      {turn.agents.map((a) => (
        <AgentChip key={a.agent} a={a} />
      ))}
    </ul>
  );
  if (running) {
    const working = turn.agents.filter((a) => a.status === "running").length;
    return (
      <div className="mt-2" data-testid="agents-running" role="status" aria-label={`${working} agents at work`}>
        <p className="flex items-center gap-1.5 text-xs font-medium text-indigo-700 dark:text-indigo-300">
          <Spinner size={12} /> {working > 0 ? `${working} agent${working === 1 ? "" : "s"} at work` : "Starting agents…"}
        </p>
        {chips}
      </div>
    );
  }
  if (turn.agents.length === 0) return null;
  return (
    <details className="group mt-2 text-xs" data-testid="agents-summary">
      <summary className="inline-flex cursor-pointer list-none items-center gap-1.5 rounded-md px-1 py-0.5 text-stone-500 select-none hover:text-stone-800 dark:text-stone-400 dark:hover:text-stone-200">
        <IconSparkle size={12} />
        <span>
          {turn.agents.length} agents · {formatLatency(total)} · {formatCompact(tokens)} tokens
          {turn.intent && (
            <>
              {" "}
              · intent <strong className="font-medium">{turn.intent}</strong>
              {turn.confidence !== null && ` (${turn.confidence}%)`}
            </>
          )}
          {failed > 0 && <span className="text-rose-600 dark:text-rose-400"> · {failed} failed</span>}
        </span>
        <span aria-hidden="true" className="transition-transform group-open:rotate-90">
          ›
        </span>
      </summary>
      {chips}
      {turn.notes.length > 0 && (
        <ul className="mt-1.5 list-disc pl-5 text-stone-500 dark:text-stone-400">
          {turn.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </details>
  );
}

function Bubble({
  message,
  highlighted,
  children,
}: {
  message: Message;
  highlighted: boolean;
  children?: ReactNode;
}) {
  const user = message.role === "user";
  return (
    <div
      id={`msg-${message.id}`}
      tabIndex={-1}
      data-message-id={message.id}
      data-role={message.role}
      className={cx("flex flex-col outline-none", user ? "items-end" : "items-start")}
    >
      <div
        className={cx(
          "max-w-[92%] rounded-2xl px-3.5 py-2.5 text-sm leading-relaxed break-words whitespace-pre-wrap",
          user
            ? "rounded-br-md bg-indigo-600 text-white"
            : "rounded-bl-md border border-stone-200 bg-white text-stone-800 dark:border-stone-800 dark:bg-stone-900 dark:text-stone-200",
          highlighted && "animate-flash",
        )}
        data-testid={user ? "user-message" : "reply-message"}
      >
        {message.content}
      </div>
      <span className="mt-1 px-1 text-[11px] text-stone-400 dark:text-stone-500">
        {user ? "You" : humanizeAgent(message.agent ?? "assistant")} · {formatTime(message.created_at)}
      </span>
      {children}
    </div>
  );
}

function QuestionPrompt({ q, onAnswer }: { q: Message; onAnswer?: (q: Message) => void }) {
  return (
    <li
      className="flex items-start gap-2.5 rounded-xl border border-amber-200 bg-amber-50/80 px-3 py-2.5 dark:border-amber-900/60 dark:bg-amber-950/30"
      data-testid="question"
      id={`msg-${q.id}`}
      tabIndex={-1}
    >
      <IconQuestion size={16} className="mt-0.5 shrink-0 text-amber-600 dark:text-amber-400" />
      <div className="min-w-0 flex-1">
        <p className="text-[11px] font-medium tracking-wide text-amber-800/80 uppercase dark:text-amber-300/80">
          {humanizeAgent(q.agent ?? "agent")} asks
        </p>
        <p className="mt-0.5 text-sm text-stone-800 dark:text-stone-200">{q.content}</p>
      </div>
      {onAnswer && (
        <Button size="sm" variant="secondary" onClick={() => onAnswer(q)} aria-label={`Answer: ${q.content}`}>
          Answer
        </Button>
      )}
    </li>
  );
}

function Block({
  block,
  highlighted,
  onAnswer,
  onRetryTurn,
  canRetry,
}: {
  block: TimelineBlock;
  highlighted: string | null;
  onAnswer?: (q: Message) => void;
  onRetryTurn: (turnId: string) => void;
  canRetry: boolean;
}) {
  const live = block.live;
  const streaming = block.streamingText !== null && block.reply === null;
  const failed = live?.status === "failed";
  return (
    <li className="space-y-3" data-turn-id={block.turnId ?? undefined}>
      {block.user && <Bubble message={block.user} highlighted={highlighted === block.user.id} />}
      {block.reply && (
        <Bubble message={block.reply} highlighted={highlighted === block.reply.id}>
          {live && <AgentStrip turn={live} />}
        </Bubble>
      )}
      {streaming && (
        <div className="flex flex-col items-start">
          <div
            className="max-w-[92%] rounded-2xl rounded-bl-md border border-stone-200 bg-white px-3.5 py-2.5 text-sm leading-relaxed break-words whitespace-pre-wrap text-stone-800 dark:border-stone-800 dark:bg-stone-900 dark:text-stone-200"
            data-testid="streaming-reply"
            data-streaming={live?.status === "running" ? "true" : "false"}
          >
            {block.streamingText === "" && live?.status === "running" ? (
              <span className="inline-flex items-center gap-1 text-stone-400" aria-label="Thinking">
                <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-current [animation-delay:-0.3s]" />
                <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-current [animation-delay:-0.15s]" />
                <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-current" />
              </span>
            ) : (
              <>
                {block.streamingText}
                {live?.status === "running" && (
                  <span aria-hidden="true" className="ml-0.5 inline-block h-4 w-[2px] translate-y-0.5 animate-caret bg-indigo-500" />
                )}
              </>
            )}
          </div>
          {live && <AgentStrip turn={live} />}
        </div>
      )}
      {!block.reply && !streaming && live && <AgentStrip turn={live} />}
      {failed && live && (
        <Alert
          tone="error"
          title={failureTitle(live.error?.code)}
          action={
            canRetry && block.turnId ? (
              <Button size="sm" onClick={() => onRetryTurn(block.turnId as string)}>
                Retry
              </Button>
            ) : undefined
          }
        >
          {turnFailureText(live.error?.message)}
        </Alert>
      )}
      {block.questions.length > 0 && (
        <ul className="space-y-2" aria-label="Questions from the agents">
          {block.questions.map((q) => (
            <QuestionPrompt key={q.id} q={q} onAnswer={onAnswer} />
          ))}
        </ul>
      )}
      {block.insights.map((m) => (
        <div
          key={m.id}
          id={`msg-${m.id}`}
          tabIndex={-1}
          className="rounded-xl border border-stone-200 bg-stone-50 px-3.5 py-2.5 text-sm dark:border-stone-800 dark:bg-stone-900/60"
        >
          <p className="text-[11px] font-medium tracking-wide text-stone-500 uppercase">{humanizeAgent(m.agent ?? "agent")}</p>
          <p className="mt-0.5 whitespace-pre-wrap text-stone-800 dark:text-stone-200">{m.content}</p>
        </div>
      ))}
    </li>
  );
}

export const Chat = forwardRef<ChatHandle, ChatProps>(function Chat(props, ref) {
  const {
    conversation,
    loaded,
    error,
    onRetryLoad,
    sending,
    sendError,
    onDismissSendError,
    onSend,
    onRetryTurn,
    draft,
    setDraft,
    onAnswer,
    highlighted,
    onLoadEarlier,
    loadingEarlier,
    readOnly = false,
  } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const contentRef = useRef<HTMLDivElement>(null);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const stickToBottom = useRef(true);
  const [announce, setAnnounce] = useState("");
  const timeline = buildTimeline(conversation);

  useImperativeHandle(ref, () => ({
    focusComposer: () => {
      const t = textareaRef.current;
      if (!t) return;
      t.focus();
      t.setSelectionRange(t.value.length, t.value.length);
    },
  }));

  // Follow the conversation while the person is at the bottom of it.
  const lastBlock = timeline[timeline.length - 1];
  const contentKey = `${timeline.length}:${lastBlock?.streamingText?.length ?? 0}:${lastBlock?.questions.length ?? 0}:${sending ? 1 : 0}`;
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [contentKey]);

  // ...also when anything changes size later (a reply that wraps, the pane shown).
  useEffect(() => {
    const el = scrollRef.current;
    const inner = contentRef.current;
    if (!el || !inner || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => {
      if (stickToBottom.current) el.scrollTop = el.scrollHeight;
    });
    ro.observe(inner);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Tell screen readers when a reply is complete (not every token).
  const running = Object.values(conversation.turns).some((t) => t.status === "running");
  const wasRunning = useRef(false);
  useEffect(() => {
    if (wasRunning.current && !running) setAnnounce("The agents have finished. The reply is complete.");
    if (!wasRunning.current && running) setAnnounce("The agents are working on your message.");
    wasRunning.current = running;
  }, [running]);

  // Autosize the composer.
  useLayoutEffect(() => {
    const t = textareaRef.current;
    if (!t) return;
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight, 220)}px`;
  }, [draft]);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const text = cleanText(draft);
    if (text === "" || sending || text.length > MAX_MESSAGE) return;
    stickToBottom.current = true;
    onSend(text);
    setDraft("");
  };

  const pendingShown = sending !== null && sending.turnId === null && sending.content !== "";
  const over = draft.length > MAX_MESSAGE;
  const empty = loaded && timeline.length === 0 && !pendingShown;

  return (
    <section aria-labelledby="chat-heading" className="flex min-h-0 flex-1 flex-col overflow-hidden rounded-xl border border-stone-200 bg-white/70 dark:border-stone-800 dark:bg-stone-900/40">
      <h2 id="chat-heading" className="sr-only">
        Conversation
      </h2>
      <LiveAnnouncer message={announce} />
      <div
        ref={scrollRef}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        }}
        className="min-h-0 flex-1 overflow-y-auto px-3 py-4 sm:px-4"
        data-testid="conversation"
      >
        <div ref={contentRef}>
        {error && (
          <Alert title="The conversation could not be loaded" action={<Button size="sm" onClick={onRetryLoad}>Try again</Button>}>
            {error}
          </Alert>
        )}
        {!loaded && !error && (
          <div className="space-y-4" aria-label="Loading the conversation">
            <Skeleton className="ml-auto h-10 w-2/3 rounded-2xl" />
            <Skeleton className="h-20 w-4/5 rounded-2xl" />
          </div>
        )}
        {conversation.hasMore && (
          <div className="mb-4 flex justify-center">
            <Button size="sm" variant="ghost" onClick={onLoadEarlier} busy={loadingEarlier}>
              Load earlier messages
            </Button>
          </div>
        )}
        {empty && readOnly && (
          <EmptyState icon={<IconSparkle size={20} />} title="Nothing said yet" className="py-8">
            The conversation of this project appears here as its editors talk to the agents.
          </EmptyState>
        )}
        {empty && !readOnly && (
          <EmptyState icon={<IconSparkle size={20} />} title="Start with what is on your mind" className="py-8">
            <p>Describe the idea in your own words. The agents reply, record decisions and open questions, and ask what is missing.</p>
            <ul className="mt-4 space-y-2 text-left">
              {EXAMPLES.map((ex) => (
                <li key={ex}>
                  <button
                    type="button"
                    onClick={() => {
                      setDraft(ex);
                      textareaRef.current?.focus();
                    }}
                    className="w-full rounded-lg border border-stone-200 bg-white px-3 py-2 text-left text-xs text-stone-700 transition-colors hover:border-indigo-300 hover:bg-indigo-50/50 dark:border-stone-700 dark:bg-stone-900 dark:text-stone-300 dark:hover:border-indigo-700 dark:hover:bg-indigo-950/40"
                  >
                    {ex}
                  </button>
                </li>
              ))}
            </ul>
          </EmptyState>
        )}
        <ol className="space-y-6" aria-label="Messages">
          {timeline.map((b) => (
            <Block
              key={b.key}
              block={b}
              highlighted={highlighted}
              onAnswer={readOnly ? undefined : onAnswer}
              onRetryTurn={onRetryTurn}
              canRetry={sending === null && !readOnly}
            />
          ))}
          {pendingShown && (
            <li className="flex flex-col items-end opacity-80" aria-label="Sending">
              <div className="max-w-[92%] rounded-2xl rounded-br-md bg-indigo-600 px-3.5 py-2.5 text-sm whitespace-pre-wrap text-white">
                {sending.content}
              </div>
              <span className="mt-1 flex items-center gap-1 px-1 text-[11px] text-stone-400">
                <Spinner size={10} /> Sending…
              </span>
            </li>
          )}
        </ol>
        </div>
      </div>

      {readOnly ? (
        <p className="border-t border-stone-200 bg-stone-50 px-4 py-3 text-sm text-stone-600 dark:border-stone-800 dark:bg-stone-900/60 dark:text-stone-400" data-testid="read-only-note">
          You are a viewer of this project: you can read the conversation, the board and the documents. An owner can make you an editor.
        </p>
      ) : (
      <form onSubmit={submit} className="border-t border-stone-200 bg-white p-3 dark:border-stone-800 dark:bg-stone-900" aria-label="Send a message">
        {sendError && (
          <Alert className="mb-2" onDismiss={onDismissSendError}>
            Your message was not sent: {sendError.message}
          </Alert>
        )}
        <div className="flex items-end gap-2">
          <label htmlFor="composer" className="sr-only">
            Message
          </label>
          <textarea
            id="composer"
            ref={textareaRef}
            rows={1}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                submit();
              }
            }}
            aria-describedby="composer-hint"
            aria-invalid={over || undefined}
            placeholder={sending ? "The agents are working…" : "Share an idea, a decision, a doubt…"}
            className="block max-h-56 min-h-10 flex-1 resize-none rounded-lg border border-stone-300 bg-white px-3 py-2 text-sm leading-relaxed shadow-sm placeholder:text-stone-400 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-stone-700 dark:bg-stone-950"
            data-testid="composer"
          />
          <Button
            type="submit"
            variant="primary"
            aria-label="Send message"
            disabled={cleanText(draft) === "" || sending !== null || over}
            busy={sending !== null}
            className="h-10 w-10 px-0"
          >
            {sending === null && <IconSend size={18} />}
          </Button>
        </div>
        <p id="composer-hint" className="mt-1.5 flex justify-between px-0.5 text-[11px] text-stone-400 dark:text-stone-500">
          <span>Enter to send · Shift+Enter for a new line</span>
          <span className={cx("tabular-nums", over && "font-medium text-rose-600")}>
            {draft.length > MAX_MESSAGE * 0.8 ? `${draft.length} / ${MAX_MESSAGE}` : ""}
            {over && (
              <>
                {" "}
                <IconAlert size={11} className="inline" /> too long
              </>
            )}
          </span>
        </p>
      </form>
      )}
    </section>
  );
});
