// large.mjs opens a trace of 1,000 observations, timing it until its whole
// tree is rendered, then one of tens of thousands, measuring what its
// budget names: the first rows painted, the whole tree read, and the
// longest main-thread task while it loads and while the tree is scrolled
// from top to bottom. Environment: session.mjs's, AGENTTRACE_TRACE_1K_ID
// (the first trace) and AGENTTRACE_TRACE_ID (the large one).
import { env, go, report, signIn } from "./session.mjs";

const { page, shot, consoleMessages, httpErrors, timings, close } = await signIn();
const out = { console: consoleMessages, httpErrors, ...timings };
try {
  // Long tasks are recorded from here on.
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: "longtask" });
  });
  // The 1,000-observation trace, fully rendered: every row in the tree,
  // none still loading, the rows in view painted.
  let t = Date.now();
  await go(page, "/traces/" + encodeURIComponent(env("AGENTTRACE_TRACE_1K_ID")));
  await page.waitForFunction(() => {
    const space = document.querySelector(".tree-space");
    return space && Math.round(space.getBoundingClientRect().height / 28) === 1000 && document.querySelector("[role=treeitem]");
  });
  await page.getByText("Loading more observations…").waitFor({ state: "detached" });
  out.thousandRenderedMs = Date.now() - t;
  await shot("large-0-1k");
  await go(page, "/traces");
  await page.locator("table.list tbody tr").first().waitFor();

  t = Date.now();
  await go(page, "/traces/" + encodeURIComponent(env("AGENTTRACE_TRACE_ID")));
  await page.getByRole("treeitem").first().waitFor();
  out.firstRowsMs = Date.now() - t;
  await shot("large-1-first-rows");
  await page.getByText("Loading more observations…").waitFor({ state: "detached", timeout: 60_000 });
  out.wholeTreeMs = Date.now() - t;
  out.loadLongestTaskMs = await page.evaluate(() => Math.max(0, ...window.__longTasks));
  out.rows = await page.locator(".tree-space").evaluate((el) => Math.round(el.getBoundingClientRect().height / 28));
  out.rendered = await page.getByRole("treeitem").count();

  // Scroll to the bottom in steps, as a wheel would.
  await page.evaluate(() => (window.__longTasks = []));
  const tree = page.getByRole("tree");
  const height = await tree.evaluate((el) => el.scrollHeight);
  for (let y = 0; y <= height; y += Math.ceil(height / 60)) {
    await tree.evaluate((el, top) => el.scrollTo(0, top), y);
    await page.waitForTimeout(16);
  }
  await page.waitForTimeout(200);
  out.scrollLongestTaskMs = await page.evaluate(() => Math.max(0, ...window.__longTasks));
  out.scrollLongTasks = await page.evaluate(() => window.__longTasks.length);
  out.lastRow = await page.getByRole("treeitem").last().innerText();
  await shot("large-2-bottom");
} catch (e) {
  out.error = String(e?.stack ?? e);
  await shot("large-failure").catch(() => {});
} finally {
  await close();
}
report(out);
