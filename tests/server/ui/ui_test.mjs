// Drives the web UI in headless Chromium: search, both lists rendered side by side, label the top
// reranked result relevant. Usage: node ui_test.mjs <base-url> <playwright-core dir> <screenshot.png>
// Exits 0 on success; prints the failure and exits 1 otherwise.
import { createRequire } from "module";
import path from "path";

const [base, pwDir, shot] = process.argv.slice(2);
const require = createRequire(path.join(pwDir, "node_modules", "x.js"));
const { chromium } = require("playwright-core");

const browser = await chromium.launch({
  executablePath: process.env.WINNOW_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "/ui");
  await page.fill("#query", "expense approval reimbursement");
  await page.click("#search-button");
  await page.waitForSelector("#reranked li", { timeout: 20000 });
  const first = await page.$$eval("#first-stage li", (xs) => xs.length);
  const reranked = await page.$$eval("#reranked li", (xs) => xs.length);
  if (first < 1 || reranked < 1) throw new Error(`lists: first stage ${first}, reranked ${reranked}`);
  const status = await page.textContent("#status");
  if (!/results in/.test(status)) throw new Error("status after search: " + status);
  await page.click("#reranked li:first-child button[data-relevance='1']");
  await page.waitForFunction(() => document.querySelector("#status").textContent.startsWith("Saved"), null,
                             { timeout: 10000 });
  const saved = await page.getAttribute("#reranked li:first-child .labels", "data-saved");
  if (saved !== "1") throw new Error("label not marked saved: " + saved);
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  const docId = await page.getAttribute("#reranked li:first-child", "data-doc-id");
  console.log(JSON.stringify({ first_stage: first, reranked, labelled: docId }));
} catch (e) {
  console.error("ui test failed: " + (e && e.stack || e));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
