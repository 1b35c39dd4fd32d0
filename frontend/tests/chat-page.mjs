// What the chat page's browser tests share: a fresh browser profile on a server, with the page
// under CloudFront's CSP and a record of requests, console messages, errors and CSP reports,
// and the few gestures every test makes.

import assert from "node:assert/strict";
import path from "node:path";

import { ARTIFACTS, CSP, recordViolations } from "./page.mjs";

/// A fresh browser profile in `browser` on `base`, with the page served under CloudFront's CSP
/// (unless `csp: false`), and a record of every request, console message and CSP violation.
/// `options` go to `browser.newContext` (viewport, colorScheme, hasTouch, ...).
export async function openPage(browser, base, { csp = true, hash = "", ...options } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    colorScheme: "light",
    acceptDownloads: true,
    ...options,
  });
  if (csp) {
    await context.route(
      (url) => !url.pathname.startsWith("/api/"),
      async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": CSP } });
      },
    );
  }
  await recordViolations(context);
  const page = await context.newPage();
  const seen = { requests: [], console: [], errors: [] };
  page.on("request", (request) => seen.requests.push(request.url()));
  page.on("console", (message) => seen.console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => seen.errors.push(error.message));
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector("html[data-ready=true]");
  return { context, page, seen };
}

/// Writes `text` in the message box and sends it: with Enter, or on a touch screen (where Enter
/// starts a new line) with the Send button.
export async function send(page, text) {
  await page.fill("#message", text);
  if (await page.evaluate(() => matchMedia("(pointer: coarse)").matches)) await page.click("#send");
  else await page.press("#message", "Enter");
}

/// Waits until `count` replies are finished and Send is back.
export async function repliesDone(page, count) {
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll(".turn.assistant:not([aria-busy])").length >= n &&
      document.querySelectorAll(".turn.assistant[aria-busy]").length === 0 &&
      !document.getElementById("send").hidden,
    count,
  );
}

export const lastReply = (page) => page.locator(".turn.assistant").last();

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/// The page loaded cleanly: no script error, no CSP report.
export async function expectCleanLoad(page, seen) {
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
}

/// The turns on the page as `[role, text]`.
export function turnTexts(page) {
  return page
    .locator(".turn")
    .evaluateAll((els) =>
      els.map((el) => [el.classList.contains("user") ? "user" : "assistant", el.querySelector(".turn-body").innerText]),
    );
}
