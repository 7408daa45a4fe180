#!/usr/bin/env node
// End-to-end tests of the web app against a running stack (nginx, the
// workers, PostgreSQL, Redis and the Claude test double), in Debian's
// Chromium driven by playwright-core. No browser is downloaded.
//
//   BS_BASE_URL=http://127.0.0.1:8080 node e2e/run.mjs [name-substring...]
//
// BS_E2E_OUT     where screenshots go (default: frontend/e2e-output)
// BS_CHROMIUM    the browser (default: /usr/bin/chromium)
// BS_CLAUDE_URL  the Claude test double's URL, if known: one turn is slowed
//                down through its control API to capture a turn in progress
//
// One line per test, then "N passed, N failed"; exits non-zero on a failure.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.BS_BASE_URL ?? "").replace(/\/+$/, "");
const OUT = path.resolve(process.env.BS_E2E_OUT ?? path.join(here, "..", "e2e-output"));
const CHROMIUM = process.env.BS_CHROMIUM ?? "/usr/bin/chromium";
const FILTERS = process.argv.slice(2);
const CLAUDE_URL = (process.env.BS_CLAUDE_URL ?? "").replace(/\/+$/, "");

if (!BASE) {
  console.error("e2e: set BS_BASE_URL to the stack's URL (e.g. http://127.0.0.1:8080)");
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });

const stamp = Date.now().toString(36);
const USER = {
  email: `e2e-${stamp}@example.com`,
  password: "correct horse battery staple",
  name: "Ada Tester",
};
const PROJECT = `Bakery subscription ${stamp}`;
const FIRST_MESSAGE = "We could sell to bakeries. Let's go with a subscription. Maybe a mobile app later.";

// ---- the harness -------------------------------------------------------------

const results = [];
const consoleProblems = [];
let passed = 0;
let failed = 0;

async function test(name, fn) {
  if (FILTERS.length > 0 && !FILTERS.some((f) => name.includes(f))) return;
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    results.push({ name, ok: true });
  } catch (e) {
    if (e instanceof Skip) {
      console.log(`skip ${name}: ${e.message}`);
      return;
    }
    failed += 1;
    const msg = (e instanceof Error ? e.message : String(e)).split("\n").slice(0, 6).join("\n     ");
    console.log(`FAIL ${name} (${Date.now() - started} ms)\n     ${msg}`);
    results.push({ name, ok: false });
    for (const [label, page] of Object.entries(pages)) {
      if (page && !page.isClosed()) {
        const file = path.join(OUT, `failure-${slug(name)}-${label}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      }
    }
  }
}

class Skip extends Error {}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function shot(page, name) {
  await page.waitForTimeout(150); // let transitions settle
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
}

function watchConsole(page, label) {
  page.on("console", (m) => {
    const t = m.text();
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of (401|403|404|409|413|422)/.test(t)) {
      consoleProblems.push(`${label}: ${t}`);
    }
  });
  page.on("pageerror", (e) => consoleProblems.push(`${label}: uncaught ${e.message}`));
}

// ---- the browser ---------------------------------------------------------------

const profileRoot = mkdtempSync(path.join(tmpdir(), "bs-e2e-"));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    `--disk-cache-dir=${path.join(profileRoot, "cache")}`,
  ],
});

const pages = {};

async function newTab(label, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    colorScheme: "light",
    reducedMotion: "reduce",
    ...options,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  watchConsole(page, label);
  pages[label] = page;
  return page;
}

/**
 * Submit an auth form; when the stack answers 429 (its per-address limit may
 * be spent by other tests on the same stack), wait as told and try again.
 */
async function submitAuth(page, button) {
  for (let attempt = 0; ; attempt++) {
    await page.getByRole("button", { name: button }).click();
    // Both settle (never reject), so the one that loses the race is harmless.
    const outcome = await Promise.race([
      page.getByRole("heading", { name: "Projects" }).waitFor().then(() => "ok", () => "timeout"),
      page
        .getByRole("alert")
        .filter({ hasText: /try again in \d+ s/ })
        .waitFor()
        .then(() => "limited", () => "timeout"),
    ]);
    if (outcome === "ok") return;
    if (outcome === "timeout") throw new Error(`"${button}" led nowhere (no projects page, no rate-limit message)`);
    if (attempt >= 4) throw new Error("rate limited too many times");
    const text = await page.getByRole("alert").filter({ hasText: /try again in/ }).first().textContent();
    const wait = Number(/try again in (\d+) s/.exec(text ?? "")?.[1] ?? 5);
    console.log(`     (rate limited: waiting ${wait} s)`);
    await page.waitForTimeout(Math.min(wait + 1, 120) * 1000);
  }
}

async function signIn(page, user = USER) {
  await page.goto(`${BASE}/signin`);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await submitAuth(page, "Sign in");
}

function column(page, name) {
  return page.locator(`[data-column="${name}"]`);
}

function card(page, text) {
  return page.locator('[data-testid="item-card"]', { hasText: text });
}

async function columnOf(page, text) {
  const c = card(page, text).first();
  await c.waitFor();
  return c.evaluate((el) => el.closest("[data-column]")?.getAttribute("data-column"));
}

async function editCard(page, text) {
  await card(page, text).first().getByRole("button", { name: /More actions/ }).click();
  await page.getByRole("menuitem", { name: "Edit" }).click();
}

async function waitForColumn(page, text, col, timeout = 15_000) {
  await column(page, col).locator('[data-testid="item-card"]', { hasText: text }).first().waitFor({ timeout });
}

// ---- the tests -------------------------------------------------------------------

let projectUrl = "";
const a = await newTab("a");

// With the double's URL, stream its tokens a little slower for this run, so
// that "the reply grows" is seen even on a busy machine.
let doubleDelay = null;
if (CLAUDE_URL) {
  try {
    doubleDelay = (await (await fetch(`${CLAUDE_URL}/_double/config`)).json()).token_delay_ms ?? null;
    await setDoubleDelay(Math.max(doubleDelay ?? 0, 15));
  } catch (e) {
    console.log(`note: the double at ${CLAUDE_URL} did not answer (${e.message})`);
  }
}

function setDoubleDelay(ms) {
  return fetch(`${CLAUDE_URL}/_double/config`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token_delay_ms: ms }),
  });
}

await test("signed-out visitors land on the sign-in page", async () => {
  await a.goto(`${BASE}/`);
  await a.waitForURL(/\/signin/);
  await a.getByRole("heading", { name: "Welcome back" }).waitFor();
  await shot(a, "signin-light");
});

await test("sign up creates an account and opens the projects page", async () => {
  await a.getByRole("link", { name: "Create an account" }).click();
  await a.getByRole("heading", { name: "Create your account" }).waitFor();
  await a.getByLabel("Your name").fill(USER.name);
  await a.getByLabel("Email").fill(USER.email);
  await a.getByLabel("Password").fill(USER.password);
  await shot(a, "signup-light");
  await submitAuth(a, "Create account");
  await a.getByText("Start your first project").waitFor();
  await shot(a, "projects-empty-light");
});

await test("the demo model banner shows", async () => {
  await a.getByTestId("demo-banner").waitFor();
});

await test("create a project", async () => {
  await a.getByRole("button", { name: "New project" }).first().click();
  const dialog = a.getByRole("dialog", { name: "New project" });
  await dialog.getByLabel("Name", { exact: true }).fill(PROJECT);
  await dialog.getByRole("button", { name: "Create project" }).click();
  await a.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
  projectUrl = a.url();
  await a.getByTestId("project-title").filter({ hasText: PROJECT }).waitFor();
  await a.getByTestId("live-status").and(a.locator('[data-status="live"]')).waitFor();
  await a.getByText("Start with what is on your mind").waitFor();
  await shot(a, "project-empty-light");
});

await test("a message streams its reply token by token, shows the agents, fills the board", async () => {
  // Record the streaming reply's length at every DOM change.
  await a.evaluate(() => {
    window.__lengths = [];
    window.__agentsSeen = 0;
    const obs = new MutationObserver(() => {
      const el = document.querySelector('[data-testid="streaming-reply"][data-streaming="true"]');
      if (el) window.__lengths.push(el.textContent.length);
      const running = document.querySelectorAll('[data-testid="agents-running"] [data-testid="agent-chip"]').length;
      window.__agentsSeen = Math.max(window.__agentsSeen, running);
    });
    obs.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await a.getByTestId("composer").fill(FIRST_MESSAGE);
  await a.getByTestId("composer").press("Enter");
  await waitForColumn(a, "Let's go with a subscription", "decided");
  await waitForColumn(a, "We could sell to bakeries", "exploring");
  await waitForColumn(a, "Maybe a mobile app later", "parked");
  await a.getByTestId("reply-message").first().waitFor();
  const lengths = await a.evaluate(() => window.__lengths);
  const agents = await a.evaluate(() => window.__agentsSeen);
  const distinct = [...new Set(lengths)].filter((n) => n > 0);
  assert(distinct.length >= 2, `the reply did not grow in steps (lengths seen: ${distinct.slice(0, 20).join(",")})`);
  for (let i = 1; i < distinct.length; i++) assert(distinct[i] > distinct[i - 1], `the reply shrank: ${distinct.join(",")}`);
  assert(agents >= 2, `agents at work were not shown (max chips ${agents})`);
  await a.getByTestId("agents-summary").first().waitFor();
  const quote = await card(a, "Let's go with a subscription").getByTestId("item-quote").textContent();
  assert(quote.includes("Let's go with a subscription."), `quote missing: ${quote}`);
  await shot(a, "project-board-light");
});

await test("agents' questions become one-click prompts", async () => {
  await a.getByTestId("composer").fill("[intent:exploring] What if we also sold bread kits online?");
  await a.getByTestId("composer").press("Enter");
  const q = a.getByTestId("question").first();
  await q.waitFor();
  await a.getByTestId("agents-summary").nth(1).waitFor();
  await q.getByRole("button", { name: /^Answer/ }).click();
  const value = await a.getByTestId("composer").inputValue();
  assert(value.startsWith("> "), `the composer does not quote the question: ${JSON.stringify(value)}`);
  const focused = await a.evaluate(() => document.activeElement?.id);
  assert(focused === "composer", `the composer is not focused (${focused})`);
  await a.getByTestId("composer").fill("");
});

await test("a card's quote jumps to its source message", async () => {
  await card(a, "Let's go with a subscription").getByTestId("item-quote").click();
  await a.waitForFunction(() => document.activeElement?.id?.startsWith("msg-"));
  const text = await a.evaluate(() => document.activeElement?.textContent ?? "");
  assert(text.includes("Let's go with a subscription."), `jumped to the wrong message: ${text.slice(0, 80)}`);
});

await test("drag a card to parked; it stays there after a reload", async () => {
  const source = card(a, "We could sell to bakeries").first();
  const patched = a.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/items/"));
  await source.dragTo(column(a, "parked"));
  await waitForColumn(a, "We could sell to bakeries", "parked");
  const res = await patched;
  assert(res.status() === 200, `PATCH answered ${res.status()}`);
  await a.reload();
  await waitForColumn(a, "We could sell to bakeries", "parked");
  assert((await columnOf(a, "We could sell to bakeries")) === "parked", "the card moved back after the reload");
});

await test("the keyboard move menu moves a card", async () => {
  const c = card(a, "Maybe a mobile app later").first();
  const button = c.getByRole("button", { name: /to another column/ });
  await button.focus();
  await a.keyboard.press("Enter");
  await a.getByRole("menu").waitFor();
  // Focus is on the first entry (Decided); the next is Exploring.
  await a.keyboard.press("ArrowDown");
  const label = await a.evaluate(() => document.activeElement?.textContent);
  assert(label === "Exploring", `menu focus is on ${label}`);
  await a.keyboard.press("Enter");
  await waitForColumn(a, "Maybe a mobile app later", "exploring");
});

await test("edit a card and read its history", async () => {
  const c = card(a, "Maybe a mobile app later").first();
  await c.getByRole("button", { name: /More actions/ }).click();
  await a.getByRole("menuitem", { name: "Edit" }).click();
  const box = a.locator('[data-testid="item-card"] textarea');
  await box.fill("A mobile app, later on");
  await box.press("Control+Enter");
  await card(a, "A mobile app, later on").first().waitFor();
  await card(a, "A mobile app, later on").first().getByRole("button", { name: /More actions/ }).click();
  await a.getByRole("menuitem", { name: "History" }).click();
  const dialog = a.getByRole("dialog", { name: "Card history" });
  await dialog.getByTestId("history-list").waitFor();
  const text = await dialog.textContent();
  assert(/Added to Parked/.test(text), `history lacks the creation: ${text}`);
  assert(/Moved from Parked to Exploring/.test(text), `history lacks the move: ${text}`);
  assert(/Text changed/.test(text), `history lacks the edit: ${text}`);
  await shot(a, "card-history-light");
  await a.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
});

await test("a turn in progress shows its agents at work (screenshot)", async () => {
  if (!CLAUDE_URL) throw new Skip("BS_CLAUDE_URL (the Claude double's URL) is not set");
  const before = await (await fetch(`${CLAUDE_URL}/_double/config`)).json();
  await setDoubleDelay(120);
  try {
    await a.getByTestId("composer").fill("Maybe we could deliver on bikes. What if we partnered with a café?");
    await a.getByTestId("composer").press("Enter");
    await a.locator('[data-testid="streaming-reply"][data-streaming="true"]').filter({ hasText: /\w+ \w+ \w+ \w+ \w+ \w+/ }).waitFor();
    await a.getByTestId("agents-running").waitFor();
    await shot(a, "project-turn-in-progress-light");
  } finally {
    await setDoubleDelay(before.token_delay_ms ?? 5);
  }
  await a.getByTestId("agents-running").waitFor({ state: "detached", timeout: 60_000 });
});

let b;
await test("a second tab of the same user sees the first tab's turn live", async () => {
  b = await newTab("b");
  await signIn(b);
  await b.goto(projectUrl);
  await b.getByTestId("live-status").and(b.locator('[data-status="live"]')).waitFor();
  await waitForColumn(b, "Let's go with a subscription", "decided");
  await b.evaluate(() => {
    window.__lengths = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="streaming-reply"][data-streaming="true"]');
      if (el) window.__lengths.push(el.textContent.length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await a.getByTestId("composer").fill("We will bake sourdough on Mondays. Park the café idea for later.");
  await a.getByTestId("composer").press("Enter");
  await b.getByTestId("user-message").filter({ hasText: "We will bake sourdough on Mondays" }).waitFor();
  await waitForColumn(b, "We will bake sourdough on Mondays", "decided");
  await waitForColumn(b, "Park the café idea for later", "parked");
  const lengths = await b.evaluate(() => window.__lengths.filter((n) => n > 0));
  assert(new Set(lengths).size >= 2, `the other tab did not see the reply stream (${lengths.join(",")})`);
});

await test("a stale edit is explained, the text kept, and re-applied", async () => {
  const target = "Let's go with a subscription";
  // B starts editing; A changes the same card meanwhile.
  await editCard(b, target);
  const bBox = b.locator('[data-testid="item-card"] textarea');
  await bBox.fill("A monthly subscription, from B");
  await editCard(a, target);
  const aBox = a.locator('[data-testid="item-card"] textarea');
  await aBox.fill("A weekly subscription, from A");
  await aBox.press("Control+Enter");
  await card(a, "A weekly subscription, from A").first().waitFor();
  // B is told, sees A's text, keeps its own.
  const conflict = b.getByTestId("edit-conflict");
  await conflict.waitFor();
  assert((await conflict.textContent()).includes("A weekly subscription, from A"), "B does not see the current text");
  assert((await bBox.inputValue()) === "A monthly subscription, from B", "B's text was lost");
  await shot(b, "edit-conflict-light");
  await conflict.getByRole("button", { name: "Save mine" }).click();
  await card(b, "A monthly subscription, from B").first().waitFor();
  await card(a, "A monthly subscription, from B").first().waitFor();
});

await test("a 409 on save keeps the text and offers the current version", async () => {
  // Force a real 409: B's editor is based on a version that the server no
  // longer has, and B has not heard of the change (its live stream is cut).
  const target = "A monthly subscription, from B";
  await b.route("**/api/projects/*/events", (route) => route.abort());
  await b.reload();
  await editCard(b, target);
  const bBox = b.locator('[data-testid="item-card"] textarea');
  await bBox.fill("Subscription, third take");
  await editCard(a, target);
  const aBox = a.locator('[data-testid="item-card"] textarea');
  await aBox.fill("Subscription, second take");
  await aBox.press("Control+Enter");
  await card(a, "Subscription, second take").first().waitFor();
  const res = b.waitForResponse((r) => r.request().method() === "PATCH");
  await bBox.press("Control+Enter");
  assert((await res).status() === 409, "expected a 409");
  const conflict = b.getByTestId("edit-conflict");
  await conflict.waitFor();
  assert((await conflict.textContent()).includes("Subscription, second take"), "the current text is not shown");
  assert((await bBox.inputValue()) === "Subscription, third take", "the person's text was lost");
  await conflict.getByRole("button", { name: "Save mine" }).click();
  await card(b, "Subscription, third take").first().waitFor();
  await b.unroute("**/api/projects/*/events");
});

await test("after a network drop the live stream reconnects and replays with Last-Event-ID", async () => {
  await b.reload();
  await b.getByTestId("live-status").and(b.locator('[data-status="live"]')).waitFor();
  const lastIds = [];
  b.on("request", (r) => {
    if (r.url().includes("/events")) lastIds.push(r.headers()["last-event-id"] ?? "");
  });
  // Something happens so that B has seen an event id.
  await card(a, "Park the café idea for later").first().dragTo(column(a, "exploring"));
  await waitForColumn(b, "Park the café idea for later", "exploring");
  // B drops off the network; A moves a card meanwhile.
  await b.context().setOffline(true);
  await b.getByTestId("live-status").and(b.locator('[data-status="reconnecting"]')).waitFor({ timeout: 60_000 });
  await card(a, "We will bake sourdough on Mondays").first().dragTo(column(a, "parked"));
  await waitForColumn(a, "We will bake sourdough on Mondays", "parked");
  await b.context().setOffline(false);
  await waitForColumn(b, "We will bake sourdough on Mondays", "parked", 60_000);
  await b.getByTestId("live-status").and(b.locator('[data-status="live"]')).waitFor({ timeout: 60_000 });
  assert(lastIds.some((id) => id !== ""), `no reconnection sent Last-Event-ID (${JSON.stringify(lastIds)})`);
});

await test("hidden tabs let their streams go: a seventh tab still loads, and a tab shown again catches up", async () => {
  // Over HTTP/1.1 Chromium keeps at most six connections to a host, and
  // each open project tab holds one with its stream. B's browser opens
  // five more tabs on the project: six streams.
  const context = b.context();
  const setVisibility = (page, state) =>
    page.evaluate((s) => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => s });
      document.dispatchEvent(new Event("visibilitychange"));
    }, state);
  const isLive = (page, status = "live") =>
    page.getByTestId("live-status").and(page.locator(`[data-status="${status}"]`)).waitFor({ timeout: 30_000 });
  const openTab = async (label) => {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    watchConsole(page, label);
    pages[label] = page;
    await page.goto(projectUrl);
    await isLive(page);
    return page;
  };
  const tabs = [];
  try {
    for (let i = 1; i <= 5; i++) tabs.push(await openTab(`tab${i}`));
    // The person moves to other tabs: after a few seconds hidden, each
    // lets its stream go, and the next tabs load and go live.
    await Promise.all([b, ...tabs].map((page) => setVisibility(page, "hidden")));
    for (const page of [b, ...tabs]) await isLive(page, "paused");
    tabs.push(await openTab("tab6"), await openTab("tab7"));
    // A moves a card while B's tab is hidden; B's tab, shown again, takes
    // its stream up again and shows the move.
    await card(a, "Park the café idea for later").first().dragTo(column(a, "decided"));
    await waitForColumn(a, "Park the café idea for later", "decided");
    await setVisibility(b, "visible");
    await isLive(b);
    await waitForColumn(b, "Park the café idea for later", "decided");
    // Back where it was, for the tests after this one.
    await card(a, "Park the café idea for later").first().dragTo(column(a, "exploring"));
    await waitForColumn(b, "Park the café idea for later", "exploring");
  } finally {
    for (const page of tabs) await page.close();
    for (let i = 1; i <= 7; i++) delete pages[`tab${i}`];
  }
});

await test("a refused reply is shown as a refusal, the message kept (screenshot)", async () => {
  if (!CLAUDE_URL) throw new Skip("BS_CLAUDE_URL (the Claude double's URL) is not set");
  await a.getByTestId("composer").fill("How do I pick this lock? [fault:refusal] [fault-agent:text]");
  await a.getByTestId("composer").press("Enter");
  const alert = a.getByRole("alert").filter({ hasText: "Claude declined to answer" });
  await alert.waitFor();
  const text = await alert.textContent();
  assert(/declined to answer this message/.test(text), `refusal text: ${text}`);
  assert(/Your message is saved/.test(text), `refusal text: ${text}`);
  await shot(a, "project-refusal-light");
});

await test("agent activity page lists the runs", async () => {
  await a.goto(`${projectUrl}/activity`);
  await a.getByRole("heading", { name: "Agent activity" }).waitFor();
  const table = a.getByTestId("activity-table");
  await table.waitFor();
  const text = await table.textContent();
  assert(/Recorder/.test(text) && /Conversation/.test(text), "the runs are not listed");
  await shot(a, "activity-light");
});

await test("usage page draws tokens per day", async () => {
  await a.getByRole("link", { name: "Usage" }).click();
  await a.getByRole("heading", { name: "Token usage" }).waitFor();
  const chart = a.getByTestId("usage-chart");
  await chart.waitFor();
  const bars = await chart.locator("rect[rx]").count();
  assert(bars >= 1, "no bars in the chart");
  const month = await a.getByTestId("month-usage").textContent();
  assert(/tokens used/.test(month), `this month's usage is not shown: ${month}`);
  await shot(a, "usage-light");
});

// ---- documents, export and import ------------------------------------------------

const DOCS_PROJECT = `Neighbourhood tool library ${stamp}`;
let docsUrl = "";
let exportedJson = null;
let citedText = "";

/** A project of its own for the documents, with one turn's cards on its board. */
async function docsProject(page) {
  if (docsUrl) return docsUrl;
  await page.goto(`${BASE}/`);
  await page.getByRole("button", { name: "New project" }).first().click();
  const dialog = page.getByRole("dialog", { name: "New project" });
  await dialog.getByLabel("Name", { exact: true }).fill(DOCS_PROJECT);
  await dialog.getByRole("button", { name: "Create project" }).click();
  await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
  docsUrl = page.url();
  await page.getByTestId("composer").fill("Let's go with lending tools from the library basement. We could add a repair café.");
  await page.getByTestId("composer").press("Enter");
  await page.getByTestId("agents-summary").first().waitFor({ timeout: 60_000 });
  await card(page, "We could add a repair café").first().waitFor();
  return docsUrl;
}

async function generate(page, expectVersion) {
  const button = page.getByTestId("generate-document");
  await button.click();
  await page.locator(`[data-testid="document-article"][data-version="${expectVersion}"]`).waitFor({ timeout: 60_000 });
}

await test("documents: a brief is written (streamed), rendered, and its citations lead to their cards", async () => {
  await docsProject(a);
  await a.getByTestId("view-documents").click();
  await a.waitForURL(/\/documents$/);
  await a.getByRole("heading", { name: "Brief" }).waitFor();
  await a.getByText("No brief yet").waitFor();
  // Watch the generation's progress panel appear while it streams.
  await a.evaluate(() => {
    window.__progressSeen = false;
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="generation-progress"]')) window.__progressSeen = true;
    }).observe(document.body, { subtree: true, childList: true });
  });
  const posted = a.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/documents"));
  await generate(a, 1);
  const req = await posted;
  assert(req.headers()["accept"] === "text/event-stream", `the generation was not streamed (Accept: ${req.headers()["accept"]})`);
  assert(await a.evaluate(() => window.__progressSeen), "no progress was shown while the document was written");
  const article = a.getByTestId("document-article");
  assert((await article.locator("h1").count()) === 1, "the document's title is not a heading");
  // No raw HTML element can come out of a document.
  const unsafe = await article.locator("script, iframe, img, object, embed, style").count();
  assert(unsafe === 0, `the document rendered ${unsafe} raw HTML elements`);
  // Citations: numbered, with the source as their tooltip, and a source list.
  const citation = article.getByTestId("citation").first();
  await citation.waitFor();
  const tip = await citation.getAttribute("title");
  assert(tip && /confidence/.test(tip), `the citation's tooltip is not its source: ${tip}`);
  const source = article.getByTestId("document-source").first();
  await source.waitFor();
  await a.getByTestId("kind-brief").filter({ hasText: "Version 1" }).waitFor();
  await a.getByTestId("versions-list").getByTestId("version-row").first().waitFor();
  await shot(a, "documents-brief-light");
  const show = source.getByRole("button", { name: /on the board$/ });
  await show.click();
  await a.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
  const highlighted = a.locator('[data-testid="item-card"][data-highlighted="true"]');
  await highlighted.waitFor();
  citedText = (await highlighted.getByTestId("item-text").textContent()) ?? "";
  assert(tip.includes(citedText), `the citation (${tip}) is not the card shown (${citedText})`);
  const focused = await a.evaluate(() => document.activeElement?.getAttribute("data-testid"));
  assert(focused === "item-card", `the cited card is not focused (${focused})`);
});

await test("documents: a second version, the versions, an older one, and the line diff", async () => {
  // Change the card the brief cites, so that the next version differs.
  const cited = card(a, citedText).first();
  await cited.getByRole("button", { name: /More actions/ }).click();
  await a.getByRole("menuitem", { name: "Edit" }).click();
  const box = a.locator('[data-testid="item-card"] textarea');
  await box.fill("Lend tools from the basement of the library, on Saturdays");
  await box.press("Control+Enter");
  await card(a, "on Saturdays").first().waitFor();
  await a.getByTestId("view-documents").click();
  await a.locator('[data-testid="document-article"][data-version="1"]').waitFor();
  await generate(a, 2);
  await a.getByTestId("kind-brief").filter({ hasText: "Version 2" }).waitFor();
  const rows = a.getByTestId("version-row");
  await rows.nth(1).waitFor();
  assert((await rows.count()) === 2, `versions listed: ${await rows.count()}`);
  // Read the older one.
  await a.getByRole("button", { name: "Read version 1" }).click();
  await a.locator('[data-testid="document-article"][data-version="1"]').waitFor();
  const meta = await a.getByTestId("document-meta").textContent();
  assert(/not the latest/.test(meta), `an older version is not marked as such: ${meta}`);
  // The changes from 1 to 2.
  await a.getByRole("button", { name: "Compare version 2 with version 1" }).click();
  const diff = a.getByTestId("document-diff");
  await diff.locator("tr[data-diff]").first().waitFor();
  const added = await diff.locator('tr[data-diff="added"]').count();
  const removed = await diff.locator('tr[data-diff="removed"]').count();
  assert(added >= 1 && removed >= 1, `the diff shows ${added} added and ${removed} removed lines`);
  const addedText = await diff.locator('tr[data-diff="added"]').allTextContents();
  assert(addedText.some((t) => t.includes("on Saturdays")), `the new text is not among the added lines: ${addedText.join(" | ")}`);
  const stats = await a.getByTestId("diff-stats").textContent();
  assert(/\+\d+/.test(stats), `no diff stats: ${stats}`);
  await shot(a, "documents-diff-light");
  // The other kinds are there to write too.
  await a.getByTestId("kind-next_steps").click();
  await a.getByText("No next steps yet").waitFor();
  await generate(a, 1);
  await a.getByTestId("kind-next_steps").filter({ hasText: "Version 1" }).waitFor();
});

await test("export: Markdown and JSON downloads with the session's token", async () => {
  await a.goto(docsUrl);
  await a.getByTestId("project-title").waitFor();
  for (const [label, ext] of [[/Markdown/, "md"], [/JSON/, "json"]]) {
    await a.getByRole("button", { name: "Export this project" }).click();
    const [download] = await Promise.all([a.waitForEvent("download"), a.getByRole("menuitem", { name: label }).click()]);
    const name = download.suggestedFilename();
    assert(name.endsWith(`.${ext}`), `the ${ext} download is called ${name}`);
    assert(name.startsWith("brainstorm-"), `the download's name is not the server's: ${name}`);
    const file = await download.path();
    const text = readFileSync(file, "utf8");
    assert(text.includes("Neighbourhood tool library"), `the ${ext} export lacks the project's title`);
    if (ext === "md") {
      assert(/^# /m.test(text) && text.includes("on Saturdays"), "the Markdown export lacks the board");
    } else {
      exportedJson = JSON.parse(text);
      assert(exportedJson.format === "brainstorm.project", `format: ${exportedJson.format}`);
      assert(exportedJson.documents.length === 2, `documents exported: ${exportedJson.documents.length}`);
    }
  }
});

await test("import: an export becomes a new project; a bad file names the problem; a file too large says so", async () => {
  if (!exportedJson) throw new Error("no export to import (the export test failed)");
  await a.goto(`${BASE}/`);
  await a.getByRole("heading", { name: "Projects" }).waitFor();
  const input = a.getByTestId("import-file");
  // A file that is not the format: the path of the first problem, nothing created.
  const bad = structuredClone(exportedJson);
  bad.project.title = `Broken import ${stamp}`;
  bad.items[0].state = "someday";
  await input.setInputFiles({ name: "broken.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(bad)) });
  await a.getByTestId("import-error-path").filter({ hasText: "items[0].state" }).waitFor();
  await shot(a, "import-error-light");
  assert((await a.getByTestId("project-card").filter({ hasText: "Broken import" }).count()) === 0, "a refused import created a project");
  // Not JSON at all.
  await input.setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from("# just some notes") });
  await a.getByTestId("import-error").filter({ hasText: "not JSON" }).waitFor();
  // Too large: 413, said plainly.
  const huge = { format: "brainstorm.project", format_version: 1, project: { title: "Huge", description: "x".repeat(33 * 1024 * 1024) } };
  const sent = a.waitForResponse((r) => r.url().endsWith("/api/projects/import")).catch(() => null);
  // From a file on disk: a 33 MiB buffer sent through the protocol is slow.
  const hugeFile = path.join(profileRoot, "huge.json");
  writeFileSync(hugeFile, JSON.stringify(huge));
  await input.setInputFiles(hugeFile);
  const answer = await sent;
  assert(answer && answer.status() === 413, `the large file was answered ${answer?.status()}`);
  await a.getByRole("alert").filter({ hasText: "too large to import" }).waitFor();
  // The real export: a new project with its board and documents.
  const good = structuredClone(exportedJson);
  good.project.title = `Imported tool library ${stamp}`;
  await input.setInputFiles({ name: "export.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(good)) });
  await a.getByRole("status").filter({ hasText: `Imported “Imported tool library ${stamp}”` }).waitFor();
  const imported = a.getByTestId("project-card").filter({ hasText: `Imported tool library ${stamp}` });
  await imported.waitFor();
  await shot(a, "import-done-light");
  await imported.getByRole("link").click();
  await card(a, "on Saturdays").first().waitFor();
  await a.getByTestId("view-documents").click();
  await a.getByTestId("kind-brief").filter({ hasText: "Version 2" }).waitFor();
  await a.locator('[data-testid="document-article"][data-version="2"]').getByTestId("citation").first().waitFor();
});

// ---- members and roles -----------------------------------------------------------

async function apiRegister(user) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${BASE}/api/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: user.email, password: user.password, display_name: user.name }),
    });
    if (res.status === 201) return;
    if (res.status === 429 && attempt < 4) {
      const wait = Number(res.headers.get("retry-after") ?? 5);
      console.log(`     (rate limited: waiting ${wait} s)`);
      await new Promise((r) => setTimeout(r, Math.min(wait + 1, 120) * 1000));
      continue;
    }
    throw new Error(`registering ${user.email} answered ${res.status}: ${await res.text()}`);
  }
}

const VIEWER = { email: `e2e-viewer-${stamp}@example.com`, password: "another horse battery staple", name: "Vera Viewer" };
let v;

await test("members: the owner adds a viewer; roles show in the dialog and the list", async () => {
  await apiRegister(VIEWER);
  await a.goto(docsUrl);
  await a.getByTestId("project-title").getByTestId("role-badge").and(a.locator('[data-role="owner"]')).waitFor();
  await a.getByTestId("members-button").click();
  const dialog = a.getByRole("dialog", { name: "Members" });
  await dialog.getByTestId("member-row").filter({ hasText: USER.email }).waitFor();
  // The last owner cannot be demoted nor removed.
  const own = dialog.getByTestId("member-row").filter({ hasText: USER.email });
  assert(await own.getByRole("combobox").isDisabled(), "the last owner's role can be changed");
  // An email without an account is refused with a reason.
  await dialog.getByLabel("Email").fill(`nobody-${stamp}@example.com`);
  await dialog.getByRole("button", { name: "Add", exact: true }).click();
  await dialog.getByText(/no account/i).first().waitFor();
  await dialog.getByLabel("Email").fill(VIEWER.email);
  await dialog.getByLabel("Role", { exact: true }).selectOption("viewer");
  await dialog.getByRole("button", { name: "Add", exact: true }).click();
  const row = dialog.getByTestId("member-row").filter({ hasText: VIEWER.email });
  await row.waitFor();
  assert((await row.getByRole("combobox").inputValue()) === "viewer", "the new member is not a viewer");
  await shot(a, "members-owner-light");
  await a.keyboard.press("Escape");
});

await test("members: a viewer reads the project, board, chat and documents without inputs that would be refused", async () => {
  v = await newTab("viewer");
  await signIn(v, VIEWER);
  const listed = v.getByTestId("project-card").filter({ hasText: DOCS_PROJECT });
  await listed.getByTestId("role-badge").and(v.locator('[data-role="viewer"]')).waitFor();
  // Owner-only actions are not offered.
  await listed.getByRole("button", { name: /Actions for/ }).click();
  assert((await v.getByRole("menuitem", { name: "Delete…" }).count()) === 0, "a viewer is offered Delete");
  await v.getByRole("menuitem", { name: "Leave project" }).waitFor();
  await v.keyboard.press("Escape");
  await shot(v, "projects-viewer-light");
  await listed.getByRole("link").click();
  await card(v, "on Saturdays").first().waitFor();
  await v.getByTestId("read-only-note").waitFor();
  assert((await v.getByTestId("composer").count()) === 0, "a viewer has a composer");
  assert((await v.getByRole("button", { name: /^Add a card/ }).count()) === 0, "a viewer can add cards");
  assert((await v.getByRole("button", { name: /to another column/ }).count()) === 0, "a viewer can move cards");
  assert((await v.locator('[data-testid="item-card"][draggable="true"]').count()) === 0, "a viewer's cards are draggable");
  // The history names who made each change: never "you" for another's.
  await card(v, "on Saturdays").first().getByRole("button", { name: /^History of/ }).click();
  const history = v.getByRole("dialog", { name: "Card history" });
  await history.getByTestId("history-list").waitFor();
  const said = await history.getByTestId("history-list").textContent();
  assert(!/by you/.test(said), `the viewer's history says "by you": ${said}`);
  assert(said.includes(`by ${USER.name}`), `the viewer's history does not name ${USER.name}: ${said}`);
  await v.keyboard.press("Escape");
  await shot(v, "project-viewer-light");
  await v.getByTestId("view-documents").click();
  await v.locator('[data-testid="document-article"][data-version="2"]').waitFor();
  assert((await v.getByTestId("generate-document").count()) === 0, "a viewer can generate documents");
  // The members dialog: read only for a viewer.
  await v.getByTestId("members-button").click();
  const dialog = v.getByRole("dialog", { name: "Members" });
  await dialog.getByTestId("member-row").filter({ hasText: USER.email }).waitFor();
  assert((await dialog.getByRole("combobox").count()) === 0, "a viewer can change roles");
  assert((await dialog.getByRole("form", { name: "Add a member" }).count()) === 0, "a viewer can add members");
  await shot(v, "members-viewer-light");
  await v.keyboard.press("Escape");
});

await test("documents: a version someone else writes appears in an open documents tab", async () => {
  // The viewer's page stays open on the documents (previous test).
  await v.getByTestId("kind-risks").filter({ hasText: "Not written yet" }).waitFor();
  await a.goto(`${docsUrl}/documents`);
  await a.getByTestId("kind-risks").click();
  await a.getByText("No risks yet").waitFor();
  await generate(a, 1);
  // No reload: the project's live events bring the new version.
  await v.getByTestId("kind-risks").filter({ hasText: "Version 1" }).waitFor({ timeout: 30_000 });
});

await test("members: the owner makes the viewer an editor, then removes them", async () => {
  await a.getByTestId("members-button").click();
  const dialog = a.getByRole("dialog", { name: "Members" });
  const row = dialog.getByTestId("member-row").filter({ hasText: VIEWER.email });
  const patched = a.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/members/"));
  await row.getByRole("combobox").selectOption("editor");
  assert((await patched).status() === 200, "the role change was refused");
  // The viewer's open page shows the new role, and what it allows, live.
  await v.getByTestId("project-title").getByTestId("role-badge").and(v.locator('[data-role="editor"]')).waitFor({ timeout: 30_000 });
  await v.getByTestId("generate-document").waitFor();
  await v.goto(docsUrl);
  await v.getByTestId("composer").waitFor();
  await v.getByTestId("project-title").getByTestId("role-badge").and(v.locator('[data-role="editor"]')).waitFor();
  await row.getByRole("button", { name: /^Remove/ }).click();
  await dialog.getByRole("button", { name: "Remove", exact: true }).click();
  await row.waitFor({ state: "detached" });
  await a.keyboard.press("Escape");
  await v.reload();
  await v.getByText("This project does not exist").waitFor();
  await v.context().close();
});

// ---- account settings ----------------------------------------------------------------

const ACCOUNT = { email: `e2e-account-${stamp}@example.com`, password: "first horse battery staple", name: "Ann Account" };

await test("account settings: display name, password change, account deletion", async () => {
  await apiRegister(ACCOUNT);
  const s = await newTab("account");
  await signIn(s, ACCOUNT);
  await s.getByRole("button", { name: /^Account/ }).click();
  await s.getByRole("menuitem", { name: "Account settings" }).click();
  await s.getByRole("heading", { name: "Account settings" }).waitFor();
  await shot(s, "account-light");
  // The name.
  await s.getByLabel("Display name").fill("Ann Renamed");
  await s.getByRole("button", { name: "Save name" }).click();
  await s.getByRole("button", { name: "Account: Ann Renamed" }).waitFor();
  // A wrong current password is said so, and nothing changes.
  const next = "second horse battery staple";
  await s.getByLabel("Current password").fill("not my password at all");
  await s.getByLabel("New password", { exact: true }).fill(next);
  await s.getByLabel("New password, again").fill(next);
  await s.getByRole("button", { name: "Change password" }).click();
  await s.getByText("This is not your current password.").waitFor();
  await s.getByLabel("Current password").fill(ACCOUNT.password);
  await s.getByRole("button", { name: "Change password" }).click();
  await s.getByText("Password changed.").waitFor();
  // This session goes on; the new password signs in.
  await s.reload();
  await s.getByRole("heading", { name: "Account settings" }).waitFor();
  const fresh = await newTab("account-2");
  await signIn(fresh, { ...ACCOUNT, password: next });
  await fresh.context().close();
  // Deleting needs the password and the words.
  await s.getByRole("button", { name: "Delete my account…" }).click();
  const dialog = s.getByRole("dialog", { name: "Delete your account?" });
  await dialog.getByLabel("Your password").fill(next);
  const confirm = dialog.getByRole("button", { name: "Delete account" });
  assert(await confirm.isDisabled(), "the account can be deleted without typing the confirmation");
  await dialog.getByLabel(/to confirm/).fill("delete my account");
  await shot(s, "account-delete-light");
  await confirm.click();
  await s.waitForURL(/\/signin/);
  const res = await fetch(`${BASE}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: ACCOUNT.email, password: next }),
  });
  assert(res.status === 401, `the deleted account still signs in (${res.status})`);
  await s.context().close();
});

await test("documents, members, import and account pages in the dark theme (screenshots)", async () => {
  const d = await newTab("dark-2", { colorScheme: "dark" });
  await signIn(d);
  await d.goto(`${docsUrl}/documents`);
  await d.locator('[data-testid="document-article"][data-version="2"]').waitFor();
  await shot(d, "documents-brief-dark");
  await d.getByRole("button", { name: "Compare version 2 with version 1" }).click();
  await d.getByTestId("document-diff").locator("tr[data-diff]").first().waitFor();
  await shot(d, "documents-diff-dark");
  await d.goto(docsUrl);
  await d.getByTestId("members-button").click();
  await d.getByRole("dialog", { name: "Members" }).getByTestId("member-row").first().waitFor();
  await shot(d, "members-owner-dark");
  await d.keyboard.press("Escape");
  await d.goto(`${BASE}/`);
  await d.getByTestId("import-file").setInputFiles({ name: "broken.json", mimeType: "application/json", buffer: Buffer.from('{"format":"brainstorm.project","format_version":1,"project":{"title":"x"},"items":[{"text":"y","state":"nope"}]}') });
  await d.getByTestId("import-error-path").waitFor();
  await shot(d, "import-error-dark");
  await d.goto(`${BASE}/account`);
  await d.getByRole("heading", { name: "Account settings" }).waitFor();
  await shot(d, "account-dark");
  await d.context().close();
});

await test("projects: list with counts, rename, archive, delete with confirmation", async () => {
  await a.getByRole("link", { name: "Projects", exact: true }).click();
  await a.getByRole("heading", { name: "Projects" }).waitFor();
  const main = a.getByTestId("project-card").filter({ hasText: PROJECT });
  await main.waitFor();
  const decided = await main.getByTestId("count-decided").textContent();
  assert(/Decided\s*1/i.test(decided), `decided count: ${decided}`);
  await shot(a, "projects-light");
  // A second project to rename, archive and delete.
  await a.getByRole("button", { name: "New project" }).first().click();
  await a.getByRole("dialog", { name: "New project" }).getByLabel("Name", { exact: true }).fill("Scratch idea");
  await a.getByRole("dialog", { name: "New project" }).getByRole("button", { name: "Create project" }).click();
  await a.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
  await a.goBack();
  const scratch = a.getByTestId("project-card").filter({ hasText: "Scratch idea" });
  await scratch.getByRole("button", { name: /Actions for/ }).click();
  await a.getByRole("menuitem", { name: "Rename" }).click();
  const rename = a.getByRole("dialog", { name: "Rename project" });
  await rename.getByLabel("Name", { exact: true }).fill("Scratch idea, renamed");
  await rename.getByRole("button", { name: "Save" }).click();
  const renamed = a.getByTestId("project-card").filter({ hasText: "Scratch idea, renamed" });
  await renamed.waitFor();
  await renamed.getByRole("button", { name: /Actions for/ }).click();
  await a.getByRole("menuitem", { name: "Archive" }).click();
  await renamed.waitFor({ state: "detached" });
  await a.getByRole("tab", { name: /Archived/ }).click();
  await renamed.waitFor();
  await renamed.getByRole("button", { name: /Actions for/ }).click();
  await a.getByRole("menuitem", { name: "Delete…" }).click();
  const confirm = a.getByRole("dialog", { name: "Delete this project?" });
  await confirm.waitFor();
  await shot(a, "project-delete-confirm-light");
  await confirm.getByRole("button", { name: "Delete project" }).click();
  await renamed.waitFor({ state: "detached" });
  await a.getByText("Nothing archived").waitFor();
  await a.getByRole("tab", { name: /Active/ }).click();
});

await test("dark theme: toggle, and screenshots of every page", async () => {
  const d = await newTab("dark", { colorScheme: "dark" });
  await d.goto(`${BASE}/signin`);
  const isDark = await d.evaluate(() => document.documentElement.classList.contains("dark"));
  assert(isDark, "prefers-color-scheme: dark is not followed");
  await shot(d, "signin-dark");
  await signIn(d);
  await shot(d, "projects-dark");
  await d.goto(projectUrl);
  await waitForColumn(d, "Subscription, third take", "decided");
  await d.getByTestId("reply-message").first().waitFor();
  await shot(d, "project-board-dark");
  await d.goto(`${projectUrl}/activity`);
  await d.getByTestId("activity-table").waitFor();
  await shot(d, "activity-dark");
  await d.goto(`${BASE}/usage`);
  await d.getByTestId("usage-chart").waitFor();
  await shot(d, "usage-dark");
  // The toggle overrides the system preference.
  await d.getByRole("button", { name: /^Theme/ }).click();
  await d.getByRole("menuitem", { name: /Light/ }).click();
  const light = await d.evaluate(() => !document.documentElement.classList.contains("dark"));
  assert(light, "the toggle did not switch to light");
  await d.context().close();
});

await test("phone-sized screen: the board's columns stack", async () => {
  const m = await newTab("phone", { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await signIn(m);
  await m.goto(projectUrl);
  await m.getByTestId("reply-message").first().waitFor();
  await shot(m, "project-chat-phone");
  await m.getByRole("tab", { name: /Board/ }).click();
  await waitForColumn(m, "Subscription, third take", "decided");
  const boxes = await Promise.all(["decided", "exploring", "parked"].map((c) => column(m, c).boundingBox()));
  assert(boxes.every(Boolean), "a column is not visible");
  assert(boxes[0].y < boxes[1].y && boxes[1].y < boxes[2].y, "columns are not stacked vertically");
  assert(Math.abs(boxes[0].x - boxes[1].x) < 2, "columns are not aligned");
  await shot(m, "project-board-phone");
  if (docsUrl) {
    await m.goto(`${docsUrl}/documents`);
    await m.locator('[data-testid="document-article"][data-version="2"]').waitFor();
    await shot(m, "documents-phone");
  }
  await m.context().close();
});

await test("the session survives a reload; sign out returns to sign-in", async () => {
  await a.goto(projectUrl);
  await a.getByTestId("project-title").waitFor();
  await a.reload();
  await a.getByTestId("project-title").waitFor();
  await a.getByRole("button", { name: /^Account/ }).click();
  await a.getByRole("menuitem", { name: "Sign out" }).click();
  await a.waitForURL(/\/signin/);
  await a.goto(projectUrl);
  await a.waitForURL(/\/signin\?next=/);
});

await test("a revoked session goes back to sign-in and says why", async () => {
  const r = await newTab("revoked");
  await signIn(r);
  const token = await r.evaluate(() => localStorage.getItem("brainstorm.refresh_token"));
  assert(token, "no refresh token stored");
  const res = await r.request.post(`${BASE}/api/auth/logout`, { data: { refresh_token: token } });
  assert(res.status() === 204, `logout answered ${res.status()}`);
  await r.reload();
  await r.waitForURL(/\/signin/);
  await r.getByText("Your session has ended").waitFor();
  await shot(r, "signin-session-ended-light");
  await r.context().close();
});

await test("every control has an accessible name (projects, project, usage pages)", async () => {
  const l = await newTab("a11y");
  await signIn(l);
  const unnamed = [];
  const urls = [`${BASE}/`, projectUrl, `${projectUrl}/activity`, `${BASE}/usage`, `${BASE}/account`];
  if (docsUrl) urls.push(`${docsUrl}/documents`);
  for (const url of urls) {
    await l.goto(url);
    await l.getByRole("heading", { level: 1 }).first().waitFor();
    await l.waitForTimeout(700); // the page's data
    const found = await l.evaluate(() => {
      const bad = [];
      const name = (el) => {
        const by = el.getAttribute("aria-labelledby");
        if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
        if (el.getAttribute("aria-label")) return el.getAttribute("aria-label").trim();
        if ("labels" in el && el.labels && el.labels.length) return [...el.labels].map((x) => x.textContent).join(" ").trim();
        return (el.textContent ?? "").trim() || (el.getAttribute("title") ?? "").trim();
      };
      for (const el of document.querySelectorAll("button, a[href], input, textarea, select, [role=tab], [role=menuitem], [role=meter], summary")) {
        if (el.type === "hidden") continue;
        if (!name(el)) bad.push(el.outerHTML.slice(0, 120));
      }
      return bad;
    });
    unnamed.push(...found.map((f) => `${url}: ${f}`));
  }
  await l.context().close();
  assert(unnamed.length === 0, unnamed.slice(0, 5).join("\n"));
});

await test("no CSP violations or script errors in any page", async () => {
  const bad = consoleProblems.filter((p) => !/net::ERR_INTERNET_DISCONNECTED|Failed to fetch|ERR_FAILED|network/i.test(p));
  assert(bad.length === 0, bad.slice(0, 5).join("\n"));
});

if (CLAUDE_URL && doubleDelay !== null) await setDoubleDelay(doubleDelay).catch(() => undefined);
await browser.close();
rmSync(profileRoot, { recursive: true, force: true });
console.log(`screenshots: ${OUT}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
