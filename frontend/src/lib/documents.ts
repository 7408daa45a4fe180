// Documents as pure functions: the kinds and their names, the citations of a
// version's Markdown and the board items they point to, a unified diff as
// rows to draw, and what an import's refusal means to a person.

import type { DocumentKind, Item, ItemState } from "../api/types";

export const DOCUMENT_KINDS: readonly DocumentKind[] = [
  "brief",
  "decision_log",
  "next_steps",
  "open_questions",
  "risks",
];

export const KIND_INFO: Record<DocumentKind, { label: string; blurb: string }> = {
  brief: { label: "Brief", blurb: "The idea in a few paragraphs: what, for whom, and what is settled." },
  decision_log: { label: "Decision log", blurb: "Every decision, with the words it came from." },
  next_steps: { label: "Next steps", blurb: "What to do next, in order." },
  open_questions: { label: "Open questions", blurb: "What is still undecided or unknown." },
  risks: { label: "Risks", blurb: "What could go wrong, and what it rests on." },
};

export function isDocumentKind(s: string): s is DocumentKind {
  return (DOCUMENT_KINDS as readonly string[]).includes(s);
}

export function kindLabel(kind: string): string {
  return isDocumentKind(kind) ? KIND_INFO[kind].label : kind;
}

/** A source a document cites: its footnote label and its text (Markdown). */
export interface Citation {
  label: string;
  /** 1-based, in order of definition: what the reader sees. */
  number: number;
  text: string;
}

/**
 * The footnote definitions of a document ("[^label]: text", one a line, as
 * the server writes them), in order. Labels are what the server writes:
 * the first characters of a board item's id.
 */
export function parseCitations(markdown: string): Citation[] {
  const out: Citation[] = [];
  const seen = new Set<string>();
  for (const line of markdown.split(/\r\n|\r|\n/)) {
    const m = /^\[\^([^\]\s]{1,64})\]:[ \t]*(.*)$/.exec(line);
    if (!m) continue;
    const label = m[1] as string;
    if (seen.has(label.toLowerCase())) continue;
    seen.add(label.toLowerCase());
    out.push({ label, number: out.length + 1, text: (m[2] as string).trim() });
  }
  return out;
}

/**
 * The board item a citation label stands for: the one whose id starts with
 * the label (the label is its first 8 characters, or the whole id when two
 * items share them); null when none does or several do.
 */
export function itemForCitation(label: string, items: Iterable<Item>): Item | null {
  const l = label.toLowerCase();
  if (l.length < 4) return null;
  let found: Item | null = null;
  for (const item of items) {
    if (item.id.toLowerCase().startsWith(l)) {
      if (found !== null) return null;
      found = item;
    }
  }
  return found;
}

/** Markdown's backslash escapes and the entities the server writes, as plain text. */
export function plainText(markdownInline: string): string {
  return markdownInline
    .replace(/\\([\\`*_[\]#|~<>&+\-=.!(){}])/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

export const STATE_LABEL: Record<ItemState, string> = {
  decided: "Decided",
  exploring: "Exploring",
  parked: "Parked",
  rejected: "Rejected",
};

// ---- diffs -----------------------------------------------------------------------

export type DiffRow =
  | { type: "file"; text: string }
  | { type: "hunk"; text: string; oldStart: number; newStart: number }
  | { type: "context" | "added" | "removed"; text: string; oldLine: number | null; newLine: number | null };

/**
 * The lines of a unified diff as rows with the line numbers of both sides:
 * `---`/`+++` headers, `@@ -a,b +c,d @@` hunks, then ` `, `+` and `-`
 * lines. A "\ No newline" marker is dropped.
 */
export function diffRows(lines: readonly string[]): DiffRow[] {
  const rows: DiffRow[] = [];
  let oldLine = 0;
  let newLine = 0;
  let inHunk = false;
  for (const line of lines) {
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      inHunk = true;
      rows.push({ type: "hunk", text: line, oldStart: oldLine, newStart: newLine });
      continue;
    }
    if (!inHunk && (line.startsWith("--- ") || line.startsWith("+++ "))) {
      rows.push({ type: "file", text: line });
      continue;
    }
    if (line.startsWith("\\")) continue;
    if (line.startsWith("+")) {
      rows.push({ type: "added", text: line.slice(1), oldLine: null, newLine: newLine++ });
    } else if (line.startsWith("-")) {
      rows.push({ type: "removed", text: line.slice(1), oldLine: oldLine++, newLine: null });
    } else if (inHunk) {
      rows.push({ type: "context", text: line.startsWith(" ") ? line.slice(1) : line, oldLine: oldLine++, newLine: newLine++ });
    }
  }
  return rows;
}

// ---- import ------------------------------------------------------------------------

/** What to tell a person whose import was refused. */
export function importProblem(e: { status: number; code: string; message: string; field: string | null }): {
  title: string;
  detail: string;
  path: string | null;
} {
  if (e.status === 413) {
    return {
      title: "This file is too large to import",
      detail: "The server takes export files of up to 32 MiB. Export a smaller project, or ask an operator to raise IMPORT_MAX_BYTES.",
      path: null,
    };
  }
  if (e.code === "projects_limit") {
    return { title: "No room for another project", detail: e.message, path: null };
  }
  if (e.status === 422 || e.code === "invalid_json" || e.status === 400) {
    return {
      title: "This file cannot be imported",
      detail: e.message,
      path: e.field,
    };
  }
  return { title: "The import failed", detail: e.message, path: null };
}
