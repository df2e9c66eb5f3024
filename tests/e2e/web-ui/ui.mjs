// ui.mjs walks the web UI as a member would: find a trace by name, open
// it, open its generation, read the chat messages and the cost, score it,
// move
// through the tree with the keyboard, open its session, then the
// dashboard. It prints
// what it saw as one JSON object for TestWebUI to check and saves a
// screenshot of each step. Environment: session.mjs's, and
// AGENTTRACE_TRACE (the trace's name), AGENTTRACE_SESSION (its session) and
// AGENTTRACE_INGEST_AUTH (an Authorization header that may ingest).
import { env, go, report, signIn } from "./session.mjs";

const { page, shot, consoleMessages, httpErrors, timings, close } = await signIn();
const out = { console: consoleMessages, httpErrors, ...timings };
try {
  // A reload keeps the login (the gateway's HttpOnly session cookie).
  await page.reload();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  out.restoredAfterReload = true;
  await page.getByLabel("Project").selectOption({ label: env("AGENTTRACE_PROJECT") });
  out.pageReadsRefreshToken = await page.evaluate(() => document.cookie.includes("agenttrace_refresh"));

  // The unfiltered list: a page of 50, and the rest on demand.
  await page.locator("table.list tbody tr").first().waitFor();
  out.firstPageRows = await page.locator("table.list tbody tr").count();
  await page.getByRole("button", { name: "Load more" }).click();
  await page.locator("table.list tbody tr").nth(50).waitFor();
  out.afterMoreRows = await page.locator("table.list tbody tr").count();
  out.moreLeft = await page.getByRole("button", { name: "Load more" }).count();
  // Sorted by observations, most first: the one trace that has some.
  await page.getByRole("button", { name: "Obs." }).click();
  out.sortedBy = await page.locator("th[aria-sort=descending]").innerText();
  out.sortedFirst = await page.locator("table.list tbody tr").first().locator("td").nth(1).innerText();
  // The traces page again, timed until its 50 rows are there and its
  // controls answer (the budget: interactive within 1 s).
  await go(page, "/sessions");
  await page.locator("main").first().waitFor();
  let t = Date.now();
  await go(page, "/traces");
  await page.locator("table.list tbody tr").nth(49).waitFor();
  await page.getByRole("button", { name: "Load more" }).click({ trial: true });
  out.tracesPageMs = Date.now() - t;

  const name = env("AGENTTRACE_TRACE");
  await page.getByRole("form", { name: "Filter traces" }).getByLabel("Name").fill(name);
  t = Date.now();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.locator("table.list tbody tr", { hasText: name }).waitFor();
  out.filteredMs = Date.now() - t;
  out.url = page.url();
  out.tracesListed = await page.locator("table.list tbody tr").count();
  out.tracesRow = await page.locator("table.list tbody tr", { hasText: name }).innerText();
  await shot("1-traces");
  const filtered = new URL(page.url()).pathname + new URL(page.url()).search;

  // The trace: its tree and waterfall.
  t = Date.now();
  await page.locator("table.list tbody tr", { hasText: name }).getByRole("link").click();
  await page.getByRole("treeitem").first().waitFor();
  out.traceMs = Date.now() - t;
  out.treeItems = await page.getByRole("treeitem").count();
  out.header = await page.locator(".trace-head").innerText();
  await shot("2-trace");

  // The generation: its messages, tool call and cost.
  await page.getByRole("treeitem").filter({ hasText: "GENERATION" }).first().click();
  await page.locator(".messages").first().waitFor();
  out.roles = await page.locator(".message .role").allInnerTexts();
  out.toolCalls = await page.locator(".tool-call code").allInnerTexts();
  out.facts = await page.locator(".facts").innerText();
  await shot("3-generation");

  // A person's score on the generation.
  const form = page.getByRole("form", { name: "Add a score" });
  await form.getByLabel("Name").fill("helpfulness");
  await form.getByLabel("Value").fill("0.9");
  await form.getByLabel("Comment").fill("clear and short");
  await form.getByRole("button", { name: "Add score" }).click();
  await page.locator("table.scores", { hasText: "helpfulness" }).waitFor();
  out.scoreRow = await page.locator("table.scores tr", { hasText: "helpfulness" }).innerText();
  await shot("3b-score");

  // Keyboard: the tree takes focus and the arrows move the selection.
  await page.getByRole("tree").focus();
  await page.keyboard.press("ArrowUp");
  await page.locator(".detail h2", { hasText: "plan" }).waitFor({ timeout: 3000 }).catch(() => {});
  out.afterArrowUp = await page.locator(".detail h2").innerText();
  await shot("4-keyboard");
  // Back in the list, the trace's row shows the score added.
  await go(page, filtered);
  await page.locator("table.list tbody tr", { hasText: "helpfulness" }).waitFor();
  out.scoredRow = await page.locator("table.list tbody tr", { hasText: name }).innerText();
  // Live: a trace sent now appears in the list without a reload.
  await page.getByRole("form", { name: "Filter traces" }).getByLabel("Live").check();
  await page.getByRole("status").filter({ hasText: "Live:" }).waitFor();
  const sent = await fetch(env("AGENTTRACE_BASE_URL") + "/api/v1/ingestion", {
    method: "POST",
    headers: { Authorization: env("AGENTTRACE_INGEST_AUTH"), "Content-Type": "application/json" },
    body: JSON.stringify({
      batch: [
        {
          id: `${name}-live-event`,
          timestamp: new Date().toISOString(),
          type: "EVENT_TYPE_TRACE_CREATE",
          trace: { id: `${name}-live`, name, timestamp: new Date().toISOString() },
        },
      ],
    }),
  });
  t = Date.now();
  await page.locator("table.list tbody tr").nth(1).waitFor({ timeout: 30_000 });
  out.live = { status: sent.status, ms: Date.now() - t, rows: await page.locator("table.list tbody tr").count() };

  // The session: its page replays the conversation, trace by trace.
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Sessions" }).click();
  await page.getByRole("link", { name: env("AGENTTRACE_SESSION") }).click();
  await page.locator(".turn").first().waitFor();
  out.sessionTurns = await page.locator(".turn").count();
  out.sessionRoles = await page.locator(".turn .message .role").allInnerTexts();
  await shot("5-session");

  // The dashboard: the metrics API's numbers for the last week.
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Dashboard" }).click();
  const byModel = page.getByRole("region", { name: "By model", exact: true });
  await byModel.locator("table").waitFor();
  out.dashboardByModel = await byModel.innerText();
  out.dashboardCharts = await page.locator(".panel svg").count();
  await shot("6-dashboard");
  // The dark theme, chosen over the system's (light in this browser).
  out.themeBefore = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.getByLabel("Theme").selectOption("dark");
  out.themeAfter = await page.evaluate(() => document.documentElement.dataset.theme);
  out.darkBackground = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await shot("6b-dashboard-dark");

  // An API key: made (its secret shown once, and it reads the API), then
  // revoked (it no longer does).
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Settings" }).click();
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "API keys" }).click();
  const create = page.getByRole("form", { name: "Create an API key" });
  await create.getByLabel("Note").fill("made in the UI");
  await create.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.locator(".secret-value").innerText()).trim();
  const publicKey = (await page.locator(".secret code").first().innerText()).trim();
  const asKey = async () =>
    (
      await fetch(env("AGENTTRACE_BASE_URL") + "/api/v1/traces?page_size=1", {
        headers: { Authorization: "Basic " + Buffer.from(`${publicKey}:${secret}`).toString("base64") },
      })
    ).status;
  out.keyMade = { publicKey, secretShown: secret.startsWith("sk-at-"), status: await asKey() };
  await page.locator("table.list tr", { hasText: publicKey }).waitFor();
  await shot("7-api-key");
  await page.getByRole("button", { name: "Done" }).click();
  out.secretGone = (await page.locator(".secret-value").count()) === 0;
  await page.getByRole("button", { name: `Revoke ${publicKey}` }).click();
  await page.locator("table.list tr", { hasText: publicKey }).filter({ hasText: "revoked" }).waitFor();
  // Revocation reaches the services' key caches as an announcement: allow it
  // a few seconds.
  let status = await asKey();
  for (const deadline = Date.now() + 5000; status !== 401 && Date.now() < deadline; status = await asKey()) {
    await page.waitForTimeout(200);
  }
  out.keyRevoked = { status };
  await shot("8-api-key-revoked");

  // Signed out, the first-account form is refused: this installation has users.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "New installation? Create its first account" }).click();
  const first = page.getByRole("form", { name: "Create account" });
  await first.getByLabel("Email").fill("second-founder@e2e.agenttrace.test");
  await first.getByLabel("Password").fill("a long enough password");
  await first.getByLabel("Organization").fill("second-org");
  await first.getByRole("button", { name: "Create account" }).click();
  out.firstAccountRefusal = await page.getByRole("alert").innerText();
  await shot("9-first-account-refused");
  // Signed out, a reload shows the sign-in form: the session is gone.
  await page.reload();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  out.signedOutAfterReload = (await page.getByRole("button", { name: "Sign out" }).count()) === 0;
} catch (e) {
  out.error = String(e?.stack ?? e);
  await shot("failure").catch(() => {});
} finally {
  await close();
}
report(out);
