// settings.mjs walks the settings as an organization's admin, then as the
// viewer they invite: the admin keeps traces 30 days, makes a project,
// invites a viewer (the link shown once), adds, edits and deletes an LLM
// connection (its key never shown back), adds and deletes a model price,
// and reads the audit log; signed out, the invitation link makes the
// viewer's account, and the viewer sees only what a viewer may do.
// Environment: session.mjs's, and AGENTTRACE_NEW_PROJECT (the project to
// make), AGENTTRACE_INVITEE (the email to invite), AGENTTRACE_INVITEE_PASSWORD,
// AGENTTRACE_LLM_KEY (the connection's API key) and AGENTTRACE_TRACE_ID (a
// trace of the project, for the viewer to open).
import { env, go, report, signIn } from "./session.mjs";

const { page, shot, consoleMessages, httpErrors, timings, close } = await signIn();
const out = { console: consoleMessages, httpErrors, ...timings };
const settingsNav = () => page.getByRole("navigation", { name: "Settings" });
const openSettings = async (section) => {
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Settings" }).click();
  await settingsNav().waitFor();
  await settingsNav().getByRole("link", { name: section, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: section, exact: true }).waitFor();
};
const secretSeen = [];
const noteSecret = async () => {
  if ((await page.content()).includes(env("AGENTTRACE_LLM_KEY"))) secretSeen.push(page.url());
};
try {
  // Project: retention, then a new project, which the switcher selects.
  await openSettings("Project");
  out.ownerSections = await settingsNav().getByRole("link").allInnerTexts();
  const retention = page.getByRole("form", { name: "Data retention" });
  await retention.getByLabel("Keep traces for").fill("30");
  await retention.getByRole("button", { name: "Save" }).click();
  await page.getByText("Traces older than 30 days are deleted.").waitFor();
  const create = page.getByRole("form", { name: "Create a project" });
  await create.getByLabel("Name").fill(env("AGENTTRACE_NEW_PROJECT"));
  await create.getByRole("button", { name: "Create project" }).click();
  const switcher = page.locator("label.project select");
  await page.waitForFunction(
    (name) => document.querySelector("select option:checked")?.textContent === name,
    env("AGENTTRACE_NEW_PROJECT"),
  );
  out.selectedAfterCreate = await switcher.locator("option:checked").innerText();
  await shot("settings-1-project");
  await switcher.selectOption({ label: env("AGENTTRACE_PROJECT") });

  // Members: invite a viewer; the link is shown once.
  await openSettings("Members");
  const invite = page.getByRole("form", { name: "Invite someone" });
  await invite.getByLabel("Email").fill(env("AGENTTRACE_INVITEE"));
  await invite.getByLabel("Role").selectOption({ label: "Viewer" });
  await invite.getByRole("button", { name: "Invite" }).click();
  const link = (await page.locator(".secret-value").innerText()).trim();
  out.invitationLinked = link.startsWith(env("AGENTTRACE_BASE_URL") + "/invitations/accept?token=");
  await page.locator("table[aria-label=Invitations] tr", { hasText: env("AGENTTRACE_INVITEE") }).filter({ hasText: "pending" }).waitFor();
  await page.locator("table[aria-label=Members] tbody tr select").first().waitFor();
  out.ownerRoleSelects = await page.locator("table[aria-label=Members] select").count();
  await shot("settings-2-members");
  await page.getByRole("button", { name: "Done" }).click();

  // LLM connections: the key goes in and never comes back.
  await openSettings("LLM connections");
  const add = page.getByRole("form", { name: "Add an LLM connection" });
  await add.getByLabel("Provider").fill("openai");
  await add.getByLabel("Name").fill("primary");
  await add.getByLabel("API key").fill(env("AGENTTRACE_LLM_KEY"));
  await add.getByRole("button", { name: "Add connection" }).click();
  const row = page.locator("table[aria-label='LLM connections'] tbody tr", { hasText: "primary" });
  await row.waitFor();
  out.connectionRow = await row.innerText();
  await noteSecret();
  await shot("settings-3-llm-connection");
  await page.getByRole("button", { name: "Edit primary" }).click();
  const edit = page.getByRole("form", { name: "Edit primary" });
  await edit.getByLabel("Name").fill("primary-2");
  await edit.getByRole("button", { name: "Save" }).click();
  await page.locator("table[aria-label='LLM connections'] tbody tr", { hasText: "primary-2" }).waitFor();
  await noteSecret();
  await page.getByRole("button", { name: "Delete primary-2" }).click();
  await page.getByText("No connections.").waitFor();

  // Model prices: a project override, shown per million tokens, then deleted.
  await openSettings("Model prices");
  await page.locator("table[aria-label='Model prices'] tbody tr", { hasText: "global" }).first().waitFor();
  out.globalPrices = await page.locator("table[aria-label='Model prices'] tbody tr", { hasText: "global" }).count();
  const price = page.getByRole("form", { name: "Add a price for this project" });
  await price.getByLabel("Model", { exact: true }).fill("ui-model");
  await price.getByLabel("Match pattern").fill("ui-model(-.*)?");
  await price.getByLabel("Input $ / 1M").fill("1.5");
  await price.getByLabel("Output $ / 1M").fill("6");
  await price.getByRole("button", { name: "Add price" }).click();
  const priceRow = page.locator("table[aria-label='Model prices'] tbody tr", { hasText: "ui-model" });
  await priceRow.waitFor();
  out.priceRow = await priceRow.innerText();
  await shot("settings-4-model-prices");
  await page.getByRole("button", { name: "Delete the override of ui-model" }).click();
  await priceRow.waitFor({ state: "detached" });

  // The audit log, all of it and filtered by action.
  await openSettings("Audit log");
  await page.locator("table[aria-label='Audit log'] tbody tr").first().waitFor();
  out.auditActions = await page.locator("table[aria-label='Audit log'] tbody td:nth-child(3)").allInnerTexts();
  const filter = page.getByRole("form", { name: "Filter the audit log" });
  await filter.getByLabel("Action").fill("invitation.create");
  await filter.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => {
    const actions = [...document.querySelectorAll("table[aria-label='Audit log'] tbody td:nth-child(3)")];
    return actions.length > 0 && actions.every((td) => td.textContent === "invitation.create");
  });
  out.auditFiltered = await page.locator("table[aria-label='Audit log'] tbody td:nth-child(3)").allInnerTexts();
  await shot("settings-5-audit-log");

  // Signed out, the invitation link makes the viewer's account.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto(link);
  const join = page.getByRole("form", { name: "Create account and join" });
  await join.getByLabel("Name").fill("Invited Viewer");
  await join.getByLabel("Email").fill(env("AGENTTRACE_INVITEE"));
  await join.getByLabel("Password").fill(env("AGENTTRACE_INVITEE_PASSWORD"));
  await join.getByRole("button", { name: "Create account and join" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  out.viewerPath = new URL(page.url()).pathname;
  await page.locator("label.project select").selectOption({ label: env("AGENTTRACE_PROJECT") });

  // The viewer: no score form, no settings they may not read, no changes.
  await go(page, "/traces/" + env("AGENTTRACE_TRACE_ID"));
  await page.getByRole("treeitem").first().waitFor();
  out.viewerScoreForms = await page.getByRole("form", { name: "Add a score" }).count();
  await openSettings("Project");
  out.viewerSections = await settingsNav().getByRole("link").allInnerTexts();
  out.viewerRole = await settingsNav().locator("p").innerText();
  out.viewerForms = await page.getByRole("form").count();
  out.viewerRetention = await page.locator("main.settings p").first().innerText();
  await openSettings("Members");
  await page.locator("table[aria-label=Members] tbody tr").first().waitFor();
  out.viewerRoleSelects = await page.locator("table[aria-label=Members] select").count();
  out.viewerMemberButtons = await page.locator("table[aria-label=Members] button").allInnerTexts();
  await shot("settings-6-viewer");
  await go(page, "/settings/audit-log");
  out.viewerAuditPage = await page.locator(".settings-layout > p").innerText();
} catch (e) {
  out.error = String(e?.stack ?? e);
  await shot("failure").catch(() => {});
} finally {
  out.secretSeen = secretSeen;
  await close();
}
report(out);
