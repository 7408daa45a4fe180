// Markdown, rendered safely: react-markdown with GitHub's footnotes and
// tables, and no raw HTML at all (skipHtml, and no rehype-raw: an HTML tag
// in a document is dropped, never made into an element). Links keep only
// http, https and mailto addresses and open elsewhere without an opener;
// images are shown as their text (nothing is loaded from elsewhere).
// A document's citations ("[^3f2a9c1d]") become numbered chips whose
// tooltip is the source, and each source in the list at the end can show
// its card on the board.

import { memo, useMemo, type MouseEvent } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import type { Item } from "../api/types";
import { itemForCitation, parseCitations, plainText, STATE_LABEL, type Citation } from "../lib/documents";
import { cx } from "./ui";

const FOOTNOTE_PREFIX = "user-content-fn-";

/** http, https and mailto only; anything else (javascript:, data:, relative) is no link. */
export function safeHref(href: string | undefined | null): string | null {
  if (!href) return null;
  const h = href.trim();
  if (/^(https?:\/\/|mailto:)/i.test(h)) return h;
  return null;
}

function scrollToId(e: MouseEvent<HTMLAnchorElement>, id: string) {
  const el = document.getElementById(id);
  if (!el) return;
  e.preventDefault();
  el.scrollIntoView({ behavior: "smooth", block: "center" });
  el.focus({ preventScroll: true });
}

export interface MarkdownProps {
  markdown: string;
  /** The board, to tie citations to their cards. */
  items?: Iterable<Item>;
  /** Show a cited card on the board. */
  onShowItem?: (item: Item) => void;
  className?: string;
}

export const Markdown = memo(function Markdown({ markdown, items, onShowItem, className }: MarkdownProps) {
  const citations = useMemo(() => parseCitations(markdown), [markdown]);
  const byLabel = useMemo(() => {
    const m = new Map<string, Citation>();
    for (const c of citations) m.set(c.label.toLowerCase(), c);
    return m;
  }, [citations]);
  const itemList = useMemo(() => (items ? [...items] : []), [items]);

  const components = useMemo<Components>(() => {
    const citationOf = (id: string | undefined, prefix: string): Citation | null => {
      if (!id || !id.startsWith(prefix)) return null;
      return byLabel.get(id.slice(prefix.length).toLowerCase()) ?? null;
    };
    return {
      h1: ({ children }) => <h1 className="mb-4 text-2xl font-semibold tracking-tight text-stone-900 dark:text-stone-50">{children}</h1>,
      h2: ({ children, id, className: cls }) =>
        cls === "sr-only" ? (
          <h2 id={id} className="sr-only">
            {children}
          </h2>
        ) : (
          <h2 className="mt-7 mb-2.5 border-b border-stone-200 pb-1.5 text-lg font-semibold text-stone-900 dark:border-stone-800 dark:text-stone-100">
            {children}
          </h2>
        ),
      h3: ({ children }) => <h3 className="mt-5 mb-2 text-base font-semibold text-stone-900 dark:text-stone-100">{children}</h3>,
      h4: ({ children }) => <h4 className="mt-4 mb-1.5 text-sm font-semibold text-stone-900 dark:text-stone-100">{children}</h4>,
      h5: ({ children }) => <h5 className="mt-3 mb-1 text-sm font-semibold">{children}</h5>,
      h6: ({ children }) => <h6 className="mt-3 mb-1 text-sm font-semibold">{children}</h6>,
      p: ({ children }) => <p className="my-2.5 leading-relaxed">{children}</p>,
      ul: ({ children }) => <ul className="my-2.5 list-disc space-y-1.5 pl-6 marker:text-stone-400">{children}</ul>,
      ol: ({ children, start }) => (
        <ol start={start} className="my-2.5 list-decimal space-y-1.5 pl-6 marker:text-stone-500">
          {children}
        </ol>
      ),
      blockquote: ({ children }) => (
        <blockquote className="my-3 border-l-2 border-indigo-300 pl-3 text-stone-600 italic dark:border-indigo-700 dark:text-stone-400">
          {children}
        </blockquote>
      ),
      code: ({ children }) => (
        <code className="rounded bg-stone-100 px-1 py-0.5 font-mono text-[0.85em] dark:bg-stone-800">{children}</code>
      ),
      pre: ({ children }) => (
        <pre className="my-3 overflow-x-auto rounded-lg bg-stone-100 p-3 text-xs dark:bg-stone-800/70">{children}</pre>
      ),
      hr: () => <hr className="my-6 border-stone-200 dark:border-stone-800" />,
      table: ({ children }) => (
        <div className="my-3 overflow-x-auto">
          <table className="w-full border-collapse text-sm">{children}</table>
        </div>
      ),
      th: ({ children }) => (
        <th className="border-b border-stone-300 px-2 py-1.5 text-left font-semibold dark:border-stone-700">{children}</th>
      ),
      td: ({ children }) => <td className="border-b border-stone-200 px-2 py-1.5 dark:border-stone-800">{children}</td>,
      img: ({ alt }) => <span className="text-stone-500">[{alt || "image"}]</span>,
      section: ({ children, className: cls }) => (
        <section className={cx(cls === "footnotes" && "mt-2 text-sm")} data-testid={cls === "footnotes" ? "document-sources" : undefined}>
          {children}
        </section>
      ),
      li: ({ children, id }) => {
        const c = citationOf(id, FOOTNOTE_PREFIX);
        if (!c) return <li className="pl-1">{children}</li>;
        const item = itemForCitation(c.label, itemList);
        return (
          <li id={id} tabIndex={-1} className="pl-1 outline-none target:bg-amber-50 focus:bg-amber-50/70 dark:focus:bg-amber-950/30" data-testid="document-source" data-label={c.label}>
            <div className="flex flex-wrap items-start gap-x-2">
              <div className="min-w-0 flex-1 [&>p]:my-0.5">{children}</div>
              {item && onShowItem && (
                <button
                  type="button"
                  onClick={() => onShowItem(item)}
                  className="shrink-0 rounded px-1.5 py-0.5 text-xs font-medium text-indigo-700 hover:bg-indigo-50 dark:text-indigo-300 dark:hover:bg-indigo-950/50"
                  aria-label={`Show “${item.text.slice(0, 60)}” on the board`}
                >
                  Show on board · {STATE_LABEL[item.state]}
                </button>
              )}
              {!item && itemList.length > 0 && (
                <span className="shrink-0 text-xs text-stone-400 dark:text-stone-500">no longer on the board</span>
              )}
            </div>
          </li>
        );
      },
      sup: ({ children }) => <sup className="ml-0.5 align-super text-[0.7em] leading-none">{children}</sup>,
      a: (props) => {
        const { href, id, children } = props;
        const p = props as Record<string, unknown>;
        if (p["data-footnote-ref"] !== undefined && href?.startsWith("#")) {
          const c = citationOf(href.slice(1), FOOTNOTE_PREFIX);
          const tip = c ? plainText(c.text) : undefined;
          return (
            <a
              href={href}
              id={id}
              onClick={(e) => scrollToId(e, href.slice(1))}
              title={tip}
              aria-label={c ? `Source ${c.number}: ${tip}` : undefined}
              className="inline-flex min-w-[1.35em] items-center justify-center rounded bg-indigo-100 px-1 font-semibold text-indigo-700 no-underline hover:bg-indigo-200 dark:bg-indigo-950/70 dark:text-indigo-300 dark:hover:bg-indigo-900"
              data-testid="citation"
            >
              {children}
            </a>
          );
        }
        if (p["data-footnote-backref"] !== undefined && href?.startsWith("#")) {
          const back = href.slice(1);
          return (
            <a
              href={href}
              onClick={(e) => scrollToId(e, back)}
              aria-label={typeof p["aria-label"] === "string" ? p["aria-label"] : "Back to the text"}
              className="ml-1 text-indigo-600 no-underline hover:text-indigo-500 dark:text-indigo-400"
            >
              {children}
            </a>
          );
        }
        const safe = safeHref(href);
        if (!safe) return <span className="underline decoration-dotted">{children}</span>;
        return (
          <a href={safe} target="_blank" rel="noopener noreferrer nofollow" className="text-indigo-700 underline hover:text-indigo-500 dark:text-indigo-300">
            {children}
          </a>
        );
      },
    };
  }, [byLabel, itemList, onShowItem]);

  return (
    <div className={cx("text-[0.94rem] text-stone-800 dark:text-stone-200", className)} data-testid="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]} skipHtml components={components} urlTransform={(u) => safeHref(u) ?? (u.startsWith("#") ? u : "")}>
        {markdown}
      </ReactMarkdown>
    </div>
  );
});
