// Text that people write, as the API takes it.

/*
 * What the API refuses in a person's text (docs/API.md, "Errors"): every
 * control character but tab, line feed and carriage return. Pasted text
 * carries them unseen (a form feed from a PDF, a terminal's colours), so
 * the app drops them rather than show an error about something the
 * person cannot see.
 */
// eslint-disable-next-line no-control-regex
const TEXT_CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
/* In a name or a title, line breaks and tabs become spaces ... */
// eslint-disable-next-line no-control-regex
const LINE_BREAKS = /[\t\n\r\u000B\u000C\u0085\u2028\u2029]+/g;
/* ... and every other control and direction override or isolate goes. */
// eslint-disable-next-line no-control-regex
const LINE_CONTROLS = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

/* A text as the API takes it (an item's, a message's, a description), trimmed. */
export function cleanText(s: string): string {
  return s.replace(TEXT_CONTROLS, "").trim();
}

/* A name or a title as the API takes it: one line, trimmed. */
export function cleanLine(s: string): string {
  return s.replace(LINE_BREAKS, " ").replace(LINE_CONTROLS, "").trim();
}
