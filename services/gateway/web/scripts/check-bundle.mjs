// Prints the gzipped size of what the first view loads (index.html's
// scripts and styles, as built into the gateway) and fails above the
// budget: 500 KB gzipped.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const budget = 500 * 1024;
const dist = fileURLToPath(new URL("../../internal/webui/dist/app/", import.meta.url));
const html = await readFile(dist + "index.html", "utf8");
const assets = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
if (assets.length === 0) throw new Error(`no script or style in ${dist}index.html: run npm run build first`);
let total = 0;
for (const a of assets) {
  const size = gzipSync(await readFile(dist + a), { level: 9 }).length;
  total += size;
  console.log(`  ${a}: ${(size / 1024).toFixed(1)} KB gzipped`);
}
console.log(`first view: ${(total / 1024).toFixed(1)} KB gzipped (budget ${budget / 1024} KB)`);
if (total > budget) {
  console.error("over the budget");
  process.exit(1);
}
