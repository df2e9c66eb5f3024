// ui.mjs signs in to the web UI as a user would, in a real Chromium
// (Debian's, driven by playwright-core), and walks it: find a trace by
// name, open it, open its generation, read the chat messages and the cost.
// It prints what it saw as one JSON object for TestWebUI to check, saves
// a screenshot of each step under AGENTTRACE_SHOTS, and on failure prints
// the browser console.
//
// Environment: AGENTTRACE_BASE_URL, AGENTTRACE_EMAIL, AGENTTRACE_PASSWORD,
// AGENTTRACE_PROJECT (the project's name in the switcher), AGENTTRACE_TRACE
// (the trace's name), AGENTTRACE_SHOTS (a directory), AGENTTRACE_CHROMIUM
// (the browser binary).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env("AGENTTRACE_BASE_URL");
const shots = env("AGENTTRACE_SHOTS");
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: env("AGENTTRACE_CHROMIUM"), args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
page.setDefaultTimeout(15_000);
const console_ = [];
page.on("console", (m) => {
  if (m.type() === "error" || m.type() === "warning") console_.push(`${m.type()}: ${m.text()}`);
});
page.on("pageerror", (e) => console_.push(`pageerror: ${e.message}`));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });
const out = { console: console_ };

try {
  await page.goto(base + "/");
  await page.getByLabel("Email").fill(env("AGENTTRACE_EMAIL"));
  await page.getByLabel("Password").fill(env("AGENTTRACE_PASSWORD"));
  await shot("1-login");
  let t = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  out.signInMs = Date.now() - t;

  // The project switcher, then the trace found by its name.
  await page.getByLabel("Project").selectOption({ label: env("AGENTTRACE_PROJECT") });
  const name = env("AGENTTRACE_TRACE");
  await page.getByRole("form", { name: "Filter traces" }).getByLabel("Name").fill(name);
  t = Date.now();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.locator("table.list tbody tr", { hasText: name }).waitFor();
  out.filteredMs = Date.now() - t;
  out.url = page.url();
  out.tracesListed = await page.locator("table.list tbody tr").count();
  await shot("2-traces");

  // The trace: its tree and waterfall.
  t = Date.now();
  await page.locator("table.list tbody tr", { hasText: name }).getByRole("link").click();
  await page.getByRole("treeitem").first().waitFor();
  out.traceMs = Date.now() - t;
  out.treeItems = await page.getByRole("treeitem").count();
  out.header = await page.locator(".trace-head").innerText();
  await shot("3-trace");

  // The generation: its messages, tool call and cost.
  await page.getByRole("treeitem").filter({ hasText: "GENERATION" }).first().click();
  await page.locator(".messages").first().waitFor();
  out.roles = await page.locator(".message .role").allInnerTexts();
  out.toolCalls = await page.locator(".tool-call code").allInnerTexts();
  out.facts = await page.locator(".facts").innerText();
  await shot("4-generation");

  // Keyboard: the tree takes focus and the arrows move the selection.
  await page.getByRole("tree").focus();
  await page.keyboard.press("ArrowUp");
  out.afterArrowUp = await page.locator(".detail h2").innerText();
  await shot("5-keyboard");
} catch (e) {
  out.error = String(e?.stack ?? e);
  await shot("failure").catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
