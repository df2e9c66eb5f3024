// session.mjs starts Debian's Chromium (through playwright-core) on the
// web UI and signs in, for the scripts that walk the UI. Environment:
// AGENTTRACE_BASE_URL, AGENTTRACE_EMAIL, AGENTTRACE_PASSWORD,
// AGENTTRACE_PROJECT (the project's name in the switcher), AGENTTRACE_SHOTS
// (a directory for screenshots), AGENTTRACE_CHROMIUM (the browser binary).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

/**
 * signIn opens the UI, signs in and picks the project. It returns the
 * page, a screenshot function, the browser console's errors and warnings
 * and the HTTP responses of 400 and above (both collected from the start)
 * and close.
 */
export async function signIn() {
  const shots = env("AGENTTRACE_SHOTS");
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: env("AGENTTRACE_CHROMIUM"), args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.setDefaultTimeout(15_000);
  const consoleMessages = [];
  const httpErrors = [];
  page.on("console", (m) => {
    // Chromium logs every failed response as "Failed to load resource";
    // httpErrors names them with their method and path instead.
    if ((m.type() === "error" || m.type() === "warning") && !m.text().startsWith("Failed to load resource")) {
      consoleMessages.push(`${m.type()}: ${m.text()}`);
    }
  });
  page.on("response", (r) => {
    if (r.status() >= 400) httpErrors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  page.on("pageerror", (e) => consoleMessages.push(`pageerror: ${e.message}`));
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });
  const timings = {};
  try {
    await page.goto(env("AGENTTRACE_BASE_URL") + "/");
    await page.getByLabel("Email").fill(env("AGENTTRACE_EMAIL"));
    await page.getByLabel("Password").fill(env("AGENTTRACE_PASSWORD"));
    await shot("login");
    const t = Date.now();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    timings.signInMs = Date.now() - t;
    await page.getByLabel("Project").selectOption({ label: env("AGENTTRACE_PROJECT") });
  } catch (e) {
    await shot("sign-in-failure").catch(() => {});
    await browser.close();
    throw e;
  }
  return { page, shot, consoleMessages, httpErrors, timings, close: () => browser.close() };
}

/** go navigates within the app, keeping its state (a reload restores the login but not the project). */
export async function go(page, path) {
  await page.evaluate((p) => {
    window.history.pushState(null, "", p);
    window.dispatchEvent(new PopStateEvent("popstate"));
  }, path);
}

/** report prints what a walk saw as one JSON line and exits (1 on error). */
export function report(out) {
  console.log(JSON.stringify(out));
  process.exit(out.error ? 1 : 0);
}
