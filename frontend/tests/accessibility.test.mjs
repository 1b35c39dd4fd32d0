// The chat page checked by axe-core and photographed, on a desktop and a phone, in light and
// dark: the empty page, a conversation, the chats drawer open on the phone, and an error.
// No serious or critical finding is allowed; every finding is written to
// target/browser-artifacts/axe-findings.json, and the screenshots beside it.
//
// axe runs in an isolated world of the page (Chrome DevTools Protocol): nothing is added to
// the page and its Content-Security-Policy stays as CloudFront sends it.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, test } from "node:test";

import { openPage, repliesDone, send, shot } from "./chat-page.mjs";
import { ARTIFACTS, launchChromium } from "./page.mjs";
import { fakeBedrockEnv, startDev, startFakeBedrock, stopAll } from "./servers.mjs";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const DEVICES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 },
};
const REPLY = [
  "## A short plan",
  "",
  "Some **bold** text, `inline code` and a [link](https://example.com).",
  "",
  "```rust",
  "fn main() {",
  '    println!("hello");',
  "}",
  "```",
  "",
  "| step | time |",
  "| --- | ---: |",
  "| build | 2 min |",
  "",
  "1. first",
  "2. second",
].join("\\n");

let browser;
let site;
const findings = {};

before(async () => {
  const bedrock = await startFakeBedrock();
  site = await startDev("accessibility-dev", {
    ...fakeBedrockEnv(bedrock),
    CHATBOT_RATE_LIMIT: "10000",
  });
  browser = await launchChromium();
});

after(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, "axe-findings.json"), `${JSON.stringify(findings, null, 2)}\n`);
  await browser?.close();
  await stopAll();
});

/// Runs axe on the page in an isolated world; returns its violations.
async function axe(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { frameTree } = await cdp.send("Page.getFrameTree");
    const { executionContextId: contextId } = await cdp.send("Page.createIsolatedWorld", {
      frameId: frameTree.frame.id,
      worldName: "axe-core",
    });
    const evaluate = async (expression) => {
      const { result, exceptionDetails } = await cdp.send("Runtime.evaluate", {
        expression,
        contextId,
        awaitPromise: true,
        returnByValue: true,
      });
      if (exceptionDetails) throw new Error(`axe failed: ${JSON.stringify(exceptionDetails)}`);
      return result.value;
    };
    await evaluate(`${AXE};undefined`);
    return await evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    })))`);
  } finally {
    await cdp.detach();
  }
}

/// Photographs the page as `name`, runs axe, keeps every finding and fails on a serious or
/// critical one.
async function check(page, name) {
  await shot(page, name);
  const violations = await axe(page);
  findings[name] = violations;
  const grave = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(grave, [], `${name}: ${JSON.stringify(grave, null, 2)}`);
  assert.deepEqual(await page.evaluate(() => window.__violations), [], `${name}: no CSP report`);
}

for (const [device, options] of Object.entries(DEVICES)) {
  for (const colorScheme of ["light", "dark"]) {
    test(`axe finds nothing serious on the ${device} in ${colorScheme}: empty, conversation, ${device === "phone" ? "chats drawer, " : ""}error`, async () => {
      const { context, page, seen } = await openPage(browser, site, { ...options, colorScheme });
      const prefix = `${device}-${colorScheme}`;
      await page.waitForSelector(".starter-prompt");
      await check(page, `${prefix}-empty`);

      await send(page, `How do I start? [[reply:${REPLY}]]`);
      await repliesDone(page, 1);
      await page.waitForSelector(".turn.assistant pre code .hljs-keyword");
      await check(page, `${prefix}-conversation`);

      if (device === "phone") {
        await page.click("#sidebar-toggle");
        await page.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().left >= 0);
        await page.locator(".session-more").first().click();
        await check(page, `${prefix}-chats`);
        await page.keyboard.press("Escape");
        await page.keyboard.press("Escape");
        await page.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().right <= 0);
      }

      await send(page, "and now? [[error:503]]");
      await page.waitForSelector("#error-panel:not([hidden])");
      await repliesDone(page, 1);
      await check(page, `${prefix}-error`);
      assert.deepEqual(seen.errors, []);
      await context.close();
    });
  }
}
