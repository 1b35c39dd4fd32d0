// The chat page in real headless Chromium against `cargo xtask dev` and the fake Bedrock.
//
// Run with `cargo xtask test` (which installs Chromium and playwright-core and builds the
// binaries), or by hand after `cargo build -p testkit --bin fake-bedrock`:
// `cd frontend/tests && npm ci && node --test browser.test.mjs`.
// Screenshots and server logs go to target/browser-artifacts/.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import { expectCleanLoad, lastReply, openPage, repliesDone, send, shot } from "./chat-page.mjs";
import { launchChromium } from "./page.mjs";
import { fakeBedrockEnv, startDev, startFakeBedrock, stopAll } from "./servers.mjs";

const XSS = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
// With its price, which envs/dev.toml's dollar budget needs of every model.
const ONE_MODEL =
  '[{"id":"amazon.nova-lite-v1:0","name":"Amazon Nova Lite","price":{"input":60000,"output":240000,"as_of":"2026-09-03"}}]';

let browser;
let site;
/// A second server: offline demo model, one allowed model, two chat requests per window.
let limited;
/// A third: offline demo model and a daily budget that the first answer spends.
let broke;
/// A fourth: the fake Bedrock with a guardrail (a content filter) on every call.
let guarded;
const GUARDRAIL = {
  CHATBOT_GUARDRAIL_ID: "pagetest1",
  CHATBOT_GUARDRAIL_VERSION: "1",
  CHATBOT_GUARDRAIL_STREAM_PROCESSING: "sync",
  CHATBOT_GUARDRAIL_BLOCKED_INPUT_MESSAGE: "That is not something I can help with.",
  CHATBOT_GUARDRAIL_BLOCKED_OUTPUT_MESSAGE: "That answer was withheld.",
};

before(async () => {
  const bedrock = await startFakeBedrock(["--guardrail", `${GUARDRAIL.CHATBOT_GUARDRAIL_ID}:1`]);
  const aws = fakeBedrockEnv(bedrock);
  [site, limited, broke, guarded] = await Promise.all([
    startDev("dev", aws),
    startDev(
      "dev-demo-rate-limited",
      {
        CHATBOT_RATE_LIMIT: "2",
        CHATBOT_RATE_WINDOW_SECONDS: "8",
        CHATBOT_MODELS: ONE_MODEL,
        CHATBOT_DEFAULT_MODEL: "amazon.nova-lite-v1:0",
      },
      ["--demo"],
    ),
    startDev("dev-demo-budget", { CHATBOT_DAILY_TOKEN_BUDGET: "1" }, ["--demo"]),
    startDev("dev-guardrail", { ...aws, ...GUARDRAIL }),
  ]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
});

const open = (base, options) => openPage(browser, base, options);

describe("chat page", () => {
  test("a message streams in token by token, with usage and latency under the reply", async () => {
    const { context, page, seen } = await open(site);
    await expectCleanLoad(page, seen);
    await page.fill("#message", "first line");
    await page.press("#message", "Shift+Enter");
    await page.type("#message", "second line [[slow:120]]");
    assert.equal(await page.inputValue("#message"), "first line\nsecond line [[slow:120]]");
    assert.equal(await page.locator(".turn").count(), 0, "Shift+Enter must not send");
    await page.press("#message", "Enter");

    // Mid-stream: part of the reply is on the page, the reply is marked busy, Stop is offered.
    await page.waitForFunction(() => {
      const turn = document.querySelector(".turn.assistant[aria-busy=true]");
      const text = turn?.querySelector(".turn-body").textContent ?? "";
      return text.startsWith("Fake") && !text.includes("second line");
    });
    assert.equal(await page.isVisible("#stop"), true);
    assert.equal(await page.isVisible("#send"), false);
    assert.equal(await page.getAttribute("#messages", "aria-live"), "polite");
    await shot(page, "streaming");

    await repliesDone(page, 1);
    const reply = lastReply(page);
    // The fake model echoes the text with its whitespace collapsed; the bubble keeps the line break.
    assert.equal(await reply.locator(".turn-body").innerText(), "Fake model reply to: first line second line");
    assert.equal(await page.locator(".turn.user .turn-body").innerText(), "first line\nsecond line [[slow:120]]");
    // The fake model streams one word per chunk and counts each chunk as an output token.
    const words = "Fake model reply to: first line second line".split(" ").length;
    assert.match(await reply.locator(".usage").innerText(), new RegExp(`^\\d+ in · ${words} out tokens$`));
    assert.match(await reply.locator(".latency").innerText(), /^\d+(\.\d)? (ms|s)$/);
    assert.equal(await reply.locator(".model-name").innerText(), "Claude Haiku 4.5");
    assert.equal(await page.inputValue("#message"), "", "the box is empty after sending");
    assert.match(page.url(), /#[0-9a-f-]{36}$/, "the session id is in the address");
    await shot(page, "streamed");
    await context.close();
  });

  test("Stop ends the stream and keeps what arrived", async () => {
    const { context, page, seen } = await open(site);
    await send(page, `tell me a long story [[slow:400]] ${"and then ".repeat(30)}`);
    await page.waitForFunction(() =>
      document.querySelector(".turn.assistant[aria-busy=true] .turn-body")?.textContent.startsWith("Fake"),
    );
    const aborted = page.waitForEvent("requestfailed", (r) => r.url().endsWith("/api/chat"));
    await page.click("#stop");
    assert.match((await aborted).failure().errorText, /ABORTED/);
    await repliesDone(page, 1);
    const stopped = page.locator(".turn.assistant").first();
    assert.equal(await stopped.locator(".note").innerText(), "Stopped");
    const kept = await stopped.locator(".turn-body").innerText();
    assert.ok(kept.startsWith("Fake") && !kept.includes("then and then"), `kept: ${kept}`);
    assert.equal(await page.isVisible("#send"), true);
    assert.equal(await page.isVisible("#error-panel"), false);

    // The next message goes through; the stopped reply did not grow meanwhile.
    await send(page, "are you still there");
    await repliesDone(page, 2);
    assert.equal(await stopped.locator(".turn-body").innerText(), kept);
    await shot(page, "stopped");
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test("reload shows the history; sessions are listed, renamed, reopened and deleted", async () => {
    const { context, page } = await open(site);
    await send(page, "remember the number 41");
    await repliesDone(page, 1);
    await send(page, "[[reply:Noted: **41**.]] and now?");
    await repliesDone(page, 2);
    const sessionId = page.url().split("#")[1];

    await page.reload();
    await page.waitForSelector(".turn.assistant");
    const turns = await page.locator(".turn").evaluateAll((els) =>
      els.map((el) => [el.classList.contains("user") ? "user" : "assistant", el.querySelector(".turn-body").innerText]),
    );
    assert.deepEqual(turns, [
      ["user", "remember the number 41"],
      ["assistant", "Fake model reply to: remember the number 41"],
      ["user", "[[reply:Noted: **41**.]] and now?"],
      ["assistant", "Noted: 41."],
    ]);
    assert.equal(await page.locator(".turn.assistant strong").last().innerText(), "41");
    await shot(page, "history-after-reload");

    // The list holds the session, titled by its first message; rename it.
    const item = page.locator(`.session[data-id="${sessionId}"]`);
    assert.equal(await item.locator(".session-open").evaluate((a) => a.firstChild.textContent), "remember the number 41");
    await item.getByRole("button", { name: /^Options for chat/ }).click();
    await item.getByRole("button", { name: /^Rename/ }).click();
    await page.fill(`#rename-${sessionId}`, "Numbers");
    await page.press(`#rename-${sessionId}`, "Enter");
    assert.equal(await item.locator(".session-open").evaluate((a) => a.firstChild.textContent), "Numbers");

    // A new chat, then a second session, listed above the first (newest first).
    await page.click("#new-chat");
    assert.equal(await page.locator(".turn").count(), 0);
    await send(page, "a second chat");
    await repliesDone(page, 1);
    const titles = await page.locator(".session-open").evaluateAll((els) => els.map((a) => a.firstChild.textContent));
    assert.deepEqual(titles, ["a second chat", "Numbers"]);

    // Reopen the first from the list; its history comes back from the API.
    await item.locator(".session-open").click();
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 4);
    assert.equal(await lastReply(page).locator(".turn-body").innerText(), "Noted: 41.");

    // Delete it through the API.
    await item.getByRole("button", { name: /^Options for chat/ }).click();
    await item.getByRole("button", { name: /^Delete/ }).click();
    const deleted = page.waitForResponse((r) => r.request().method() === "DELETE");
    await item.getByRole("button", { name: /^Yes, delete/ }).click();
    assert.equal((await deleted).status(), 204);
    await page.waitForFunction((id) => !document.querySelector(`.session[data-id="${id}"]`), sessionId);
    assert.equal(await page.locator(".turn").count(), 0, "deleting the open chat starts a new one");
    const gone = await page.request.get(`${site}/api/sessions/${sessionId}/messages`);
    assert.equal(gone.status(), 404);

    // A link to the deleted chat says it is gone.
    await page.goto(`${site}/#${sessionId}`);
    await page.waitForSelector("#error-panel:not([hidden])");
    assert.match(await page.innerText("#error-text"), /no longer on the server/);
    assert.equal(await page.isVisible("#retry"), false);
    await context.close();
  });

  for (const csp of [false, true]) {
    test(`a reply with HTML runs nothing and loads nothing (${csp ? "with" : "without"} the CSP)`, async () => {
      const { context, page, seen } = await open(site, { csp });
      await send(page, `[[reply:${XSS}]]`);
      await repliesDone(page, 1);
      await check("live");
      await page.reload();
      await page.waitForSelector(".turn.assistant");
      await check("reloaded");
      await shot(page, `xss-${csp ? "csp" : "no-csp"}`);
      await context.close();

      async function check(when) {
        assert.equal(await lastReply(page).locator(".turn-body").innerText(), XSS, when);
        assert.equal(await page.evaluate(() => window.__pwned), undefined, when);
        assert.equal(await page.locator("img").count(), 0, when);
        assert.equal(await page.locator(".messages script, .messages [onerror]").count(), 0, when);
        const scripts = await page.locator("script").evaluateAll((els) => els.map((s) => s.getAttribute("src")));
        assert.deepEqual(scripts, ["app.js"], when);
        const strays = seen.requests.filter((url) => /\/x$|\/x\?/.test(url));
        assert.deepEqual(strays, [], when);
        assert.deepEqual(await page.evaluate(() => window.__violations), [], when);
      }
    });
  }

  test("Markdown renders safely: only http(s) links, images as links, code blocks with a copy button", async () => {
    const { context, page, seen } = await open(site);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: site });
    const reply = [
      "# Title",
      "",
      "Some *em* and **strong** and `code`, [ok](https://example.com/a) and [bad](javascript:alert(1)).",
      "",
      "![a picture](https://example.com/p.png)",
      "",
      "```rust",
      'fn main() { println!("hi"); }',
      "```",
      "",
      "1. first with snake_case_name",
      "2. second",
      "   - nested",
      "",
      "> quoted",
      "",
      "| left | right |",
      "| --- | ---: |",
      "| a | 1 |",
    ].join("\n");
    await send(page, `[[reply:${reply}]]`);
    await repliesDone(page, 1);
    const body = lastReply(page).locator(".turn-body");
    assert.equal(await body.locator("h1").innerText(), "Title");
    assert.equal(await body.locator("em").first().innerText(), "em");
    const links = await body.locator("a").evaluateAll((els) => els.map((a) => [a.textContent, a.getAttribute("href"), a.rel]));
    assert.deepEqual(links, [
      ["ok", "https://example.com/a", "noopener noreferrer nofollow"],
      ["a picture", "https://example.com/p.png", "noopener noreferrer nofollow"],
    ]);
    assert.equal(await body.locator("img").count(), 0);
    assert.ok(!seen.requests.some((url) => url.includes("example.com")), "nothing is loaded from a reply");
    assert.equal(await body.locator("pre code").textContent(), 'fn main() { println!("hi"); }\n');
    assert.equal(await body.locator(".code-language").textContent(), "rust");
    await page.waitForSelector(".turn.assistant pre code .hljs-keyword");
    assert.deepEqual(await body.locator("ol > li").evaluateAll((els) => els.map((li) => li.firstChild.textContent)), [
      "first with snake_case_name",
      "second",
    ]);
    assert.equal(await body.locator("ol > li > ul > li").innerText(), "nested");
    assert.equal(await body.locator("blockquote").innerText(), "quoted");
    const table = await body.locator("table tr").evaluateAll((rows) =>
      rows.map((row) => [...row.children].map((cell) => `${cell.tagName}:${cell.textContent}:${cell.className}`)),
    );
    assert.deepEqual(table, [
      ["TH:left:", "TH:right:align-right"],
      ["TD:a:", "TD:1:align-right"],
    ]);

    await body.locator(".copy-code").click();
    await page.waitForFunction(() => document.querySelector(".copy-code").textContent === "Copied");
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'fn main() { println!("hi"); }');
    await lastReply(page).locator(".copy-reply").click();
    await page.waitForFunction(() => document.querySelector(".copy-reply").textContent === "Copied");
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), reply);
    await shot(page, "markdown");
    await context.close();
  });

  test("a reply renders block by block as it streams: finished blocks stay, code is highlighted", async () => {
    const { context, page, seen } = await open(site);
    const reply = [
      "## Plan",
      "",
      "First a paragraph with **bold** text.",
      "",
      "```rust",
      "fn main() {",
      '    println!("hi");',
      "}",
      "```",
      "",
      "- one",
      "- two",
      "",
      "Last words.",
    ].join("\n");
    await send(page, `[[reply:${reply}]] [[slow:60]]`);
    // Once the code block has begun, the heading two blocks above it is finished: mark it.
    await page.waitForFunction(() => document.querySelector(".turn.assistant[aria-busy=true] .code-block"));
    await page.evaluate(() => {
      document.querySelector(".turn.assistant .turn-body h2").dataset.mark = "finished";
    });
    await repliesDone(page, 1);
    const body = lastReply(page).locator(".turn-body");
    assert.equal(await body.locator('h2[data-mark="finished"]').count(), 1, "the finished heading was not rendered again");
    assert.equal(await body.locator("strong").textContent(), "bold");
    assert.deepEqual(await body.locator("li").allTextContents(), ["one", "two"]);
    await page.waitForSelector(".turn.assistant pre code .hljs-keyword");
    assert.equal(await body.locator("pre code").textContent(), 'fn main() {\n    println!("hi");\n}\n');
    assert.equal(await lastReply(page).locator(".turn-body").evaluate((el) => el.lastElementChild.textContent), "Last words.");
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    assert.deepEqual(seen.errors, []);
    await shot(page, "streamed-markdown");
    await context.close();
  });

  test("a 429 shows a countdown from Retry-After, then Retry sends the kept message", async () => {
    const { context, page } = await open(limited);
    let refused = null;
    page.on("response", (r) => {
      if (r.url().endsWith("/api/chat") && r.status() === 429) refused ??= r;
    });
    // The limit is 2 per window; a window may turn over between sends, so send until refused.
    for (let sent = 1; sent <= 6 && !(await page.isVisible("#error-panel")); sent += 1) {
      await send(page, `message ${sent}`);
      await page.waitForFunction(() => !document.getElementById("send").hidden);
    }
    assert.ok(refused, "the rate-limited server refused a message");
    const retryAfter = Number(refused.headers()["retry-after"]);
    assert.ok(retryAfter >= 1, `Retry-After: ${retryAfter}`);
    const text = await page.innerText("#error-panel");
    const left = Number(/You can send again in (\d+) s\./.exec(text)?.[1]);
    assert.ok(left >= 1 && left <= retryAfter, `countdown ${left} of ${retryAfter}: ${text}`);
    assert.match(await page.innerText("#error-text"), /faster than this chatbot allows/);
    assert.equal(await page.isDisabled("#retry"), true);
    const kept = await page.inputValue("#message");
    assert.match(kept, /^message \d$/, "the refused message is back in the box");
    await shot(page, "rate-limited");

    await page.waitForSelector("#retry:not([disabled])", { timeout: (retryAfter + 5) * 1000 });
    assert.match(await page.innerText("#error-countdown"), /You can send again now\./);
    await page.click("#retry");
    await page.waitForFunction(
      (message) => [...document.querySelectorAll(".turn.user .turn-body")].some((t) => t.textContent === message),
      kept,
    );
    await repliesDone(page, 1);
    assert.equal(await page.isVisible("#error-panel"), false);
    assert.equal(await page.inputValue("#message"), "");
    await context.close();
  });

  test("a spent daily budget says so and keeps the message", async () => {
    const { context, page } = await open(broke);
    // The budget is checked before a turn and charged after it, so the first answer spends it.
    for (let sent = 1; sent <= 3 && !(await page.isVisible("#error-panel")); sent += 1) {
      await send(page, `question ${sent}`);
      await page.waitForFunction(() => !document.getElementById("send").hidden);
    }
    assert.match(await page.innerText("#error-text"), /used up its budget for today/);
    assert.equal(await page.isVisible("#retry"), false, "retrying cannot help until tomorrow");
    assert.match(await page.inputValue("#message"), /^question \d$/);
    await shot(page, "budget-exhausted");
    await context.close();
  });

  test("the offline demo model shows its banner and a single allowed model hides the picker", async () => {
    const { context, page } = await open(limited);
    await page.waitForSelector("#demo-banner:not([hidden])");
    assert.match(await page.innerText("#demo-banner"), /offline demo model/);
    assert.equal(await page.isVisible("#model-picker"), false);
    await send(page, "hello");
    await repliesDone(page, 1);
    assert.match(await lastReply(page).locator(".turn-body").innerText(), /offline demo model/);
    await shot(page, "demo");
    await context.close();
  });

  test("two allowed models show the picker and the choice is sent", async () => {
    const { context, page } = await open(site);
    await page.waitForSelector("#model-picker:not([hidden])");
    assert.equal(await page.isVisible("#demo-banner"), false);
    const options = await page.locator("#model option").evaluateAll((els) => els.map((o) => o.textContent));
    assert.deepEqual(options, ["Claude Haiku 4.5", "Amazon Nova Lite"]);
    await page.getByLabel("Model").selectOption({ label: "Amazon Nova Lite" });
    const request = page.waitForRequest((r) => r.url().endsWith("/api/chat"));
    await send(page, "which model are you");
    assert.equal(JSON.parse((await request).postData()).model, "amazon.nova-lite-v1:0");
    await repliesDone(page, 1);
    assert.equal(await lastReply(page).locator(".model-name").innerText(), "Amazon Nova Lite");
    await context.close();
  });

  test("model failures, a broken stream and a lost network show clear errors and lose no input", async () => {
    const { context, page } = await open(site);
    await send(page, "please answer [[error:503]]");
    await page.waitForSelector("#error-panel:not([hidden])");
    assert.match(await page.innerText("#error-text"), /^The model is not available right now\./);
    // The server kept the question: it stays in the conversation, and Retry asks for its answer.
    assert.equal(await page.inputValue("#message"), "");
    assert.deepEqual(await page.locator(".turn").evaluateAll((els) => els.map((el) => el.className)), ["turn user"]);
    assert.equal(await page.locator(".turn.user .note").innerText(), "No answer yet");
    assert.equal(await page.isVisible("#retry"), true);
    await shot(page, "model-unavailable");
    await page.click("#dismiss-error");

    await send(page, "[[stream-error:3]] tell me more");
    await page.waitForSelector("#error-panel:not([hidden])");
    await repliesDone(page, 1);
    assert.equal(await lastReply(page).locator(".note").innerText(), "Reply interrupted");
    assert.ok((await lastReply(page).locator(".turn-body").innerText()).startsWith("Fake model"));
    assert.equal(await page.locator(".turn.user .turn-body").last().innerText(), "[[stream-error:3]] tell me more");

    // The server cannot be reached (the page thinks it is online): the text comes back.
    await page.route("**/api/chat", (route) => route.abort("connectionrefused"));
    await send(page, "are you there");
    await page.waitForFunction(() => /Cannot reach the chat server/.test(document.getElementById("error-text").textContent));
    assert.equal(await page.inputValue("#message"), "are you there");
    await shot(page, "unreachable");
    await page.unroute("**/api/chat");
    await page.click("#retry");
    await page.waitForFunction(() =>
      [...document.querySelectorAll(".turn.user .turn-body")].some((t) => t.textContent === "are you there"),
    );
    await repliesDone(page, 2);
    assert.equal(await lastReply(page).locator(".turn-body").innerText(), "Fake model reply to: are you there");
    await context.close();
  });

  test("a blocked prompt and a blocked answer show the content filter's message, also after a reload", async () => {
    const { context, page, seen } = await open(guarded);
    const turns = () =>
      page.locator(".turn").evaluateAll((els) =>
        els.map((el) => [
          el.classList.contains("user") ? "user" : "assistant",
          el.querySelector(".turn-body").innerText,
          el.classList.contains("blocked"),
          el.querySelector(".note")?.innerText ?? null,
        ]),
      );
    const prompt = "my card is 4111 1111 1111 1111 [[guardrail:input:pii]]";
    await send(page, prompt);
    await repliesDone(page, 1);
    const withheld = "This message was blocked by the content filter and is not kept.";
    const blockedNote = "Blocked by the content filter";
    assert.deepEqual(await turns(), [
      ["user", withheld, true, null],
      ["assistant", GUARDRAIL.CHATBOT_GUARDRAIL_BLOCKED_INPUT_MESSAGE, true, blockedNote],
    ]);
    assert.equal(await page.inputValue("#message"), prompt, "the blocked text is back in the box to reword");
    const titles = await page.locator(".session-open").evaluateAll((els) => els.map((a) => a.firstChild.textContent));
    assert.deepEqual(titles, ["Blocked message"], "the chat is not named after the blocked text");
    assert.equal(await page.isVisible("#error-panel"), false, "a blocked prompt is an answer, not an error");

    // An answer blocked after two chunks the filter had let through: the message replaces them.
    await page.fill("#message", "");
    await send(page, "[[reply:one two three four]] [[guardrail:output:content:2]] [[slow:50]]");
    await repliesDone(page, 2);
    assert.equal(await lastReply(page).locator(".turn-body").innerText(), GUARDRAIL.CHATBOT_GUARDRAIL_BLOCKED_OUTPUT_MESSAGE);
    assert.equal(await lastReply(page).locator(".note").innerText(), blockedNote);
    await shot(page, "guardrail-blocked");

    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 4);
    assert.deepEqual(await turns(), [
      ["user", withheld, true, null],
      ["assistant", GUARDRAIL.CHATBOT_GUARDRAIL_BLOCKED_INPUT_MESSAGE, true, blockedNote],
      ["user", "[[reply:one two three four]] [[guardrail:output:content:2]] [[slow:50]]", false, null],
      ["assistant", GUARDRAIL.CHATBOT_GUARDRAIL_BLOCKED_OUTPUT_MESSAGE, true, blockedNote],
    ]);
    await shot(page, "guardrail-after-reload");
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test("export as Markdown and JSON", async () => {
    const { context, page } = await open(site);
    await send(page, "[[reply:Use `ls`.]] how do I list files");
    await repliesDone(page, 1);

    await page.click("#export-menu summary");
    const [markdown] = await Promise.all([page.waitForEvent("download"), page.click("#export-markdown")]);
    assert.match(markdown.suggestedFilename(), /^chat-\d{4}-\d\d-\d\d-[0-9a-f]{8}\.md$/);
    const md = readFileSync(await markdown.path(), "utf8");
    assert.match(md, /^# \[\[reply:Use `ls`\.\]\] how do I list files\n/);
    assert.ok(md.includes("## You\n\n[[reply:Use `ls`.]] how do I list files\n"), md);
    assert.ok(md.includes("## Assistant (Claude Haiku 4.5)\n\nUse `ls`.\n"), md);

    await page.click("#export-menu summary");
    const [json] = await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
    const doc = JSON.parse(readFileSync(await json.path(), "utf8"));
    assert.equal(doc.session_id, page.url().split("#")[1]);
    assert.deepEqual(
      doc.messages.map((m) => [m.role, m.content]),
      [
        ["user", "[[reply:Use `ls`.]] how do I list files"],
        ["assistant", "Use `ls`."],
      ],
    );
    assert.equal(typeof doc.messages[1].usage.output_tokens, "number");
    await context.close();
  });

  test("each reply shows what it cost, kept after a reload; the chat's total; the export carries both", async () => {
    const { context, page, seen } = await open(site);
    // envs/dev.toml prices Claude Haiku 4.5 at $1.10 in and $5.50 out per million tokens; the
    // fake model counts words in (6 of the system prompt, 5 of the message) and 500 out:
    // 11 × 1.1 + 500 × 5.5 = 2,762.1 micro-dollars → $0.002762.
    await send(page, "what does this cost [[tokens:500]]");
    await repliesDone(page, 1);
    assert.equal(await lastReply(page).locator(".usage").innerText(), "11 in · 500 out tokens");
    assert.equal(await lastReply(page).locator(".cost").innerText(), "$0.002762");
    // The history goes along: 6 + 5 + 8 (the first answer) + 3 words in, 100 out:
    // 22 × 1.1 + 100 × 5.5 = 574.2 → $0.000574.
    await send(page, "and this [[tokens:100]]");
    await repliesDone(page, 2);
    assert.equal(await lastReply(page).locator(".cost").innerText(), "$0.000574");
    assert.equal(await page.locator("#chat-cost").innerText(), "This chat: 633 tokens, $0.003336");
    await shot(page, "cost");

    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 4);
    assert.deepEqual(await page.locator(".turn.assistant .cost").allInnerTexts(), ["$0.002762", "$0.000574"]);
    assert.deepEqual(await page.locator(".turn.assistant .usage").allInnerTexts(), [
      "11 in · 500 out tokens",
      "22 in · 100 out tokens",
    ]);
    assert.equal(await page.locator("#chat-cost").innerText(), "This chat: 633 tokens, $0.003336");

    await page.click("#export-menu summary");
    const [json] = await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
    const doc = JSON.parse(readFileSync(await json.path(), "utf8"));
    assert.deepEqual(doc.messages[1].cost, { micro_usd: 2762, usd: "0.002762" });
    assert.deepEqual(doc.messages[3].cost, { micro_usd: 574, usd: "0.000574" });
    assert.deepEqual(doc.total_cost, { micro_usd: 3336, usd: "0.003336" });
    await page.click("#export-menu summary");
    const [markdown] = await Promise.all([page.waitForEvent("download"), page.click("#export-markdown")]);
    const md = readFileSync(await markdown.path(), "utf8");
    assert.ok(md.includes("*11 in · 500 out tokens · $0.002762*\n"), md);
    assert.ok(md.includes("*This chat: 633 tokens, $0.003336*\n"), md);

    // A new chat starts from nothing.
    await page.click("#new-chat");
    assert.equal(await page.isVisible("#chat-cost"), false);
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test("the 375-px layout has no horizontal scroll, and the chats drawer fits", async () => {
    const { context, page } = await open(site, { viewport: { width: 375, height: 740 } });
    const long = [
      "A long line of code:",
      "```",
      `let x = "${"very_long_identifier_".repeat(12)}";`,
      "```",
      `And an unbroken word: ${"Donaudampfschifffahrt".repeat(6)}`,
      "",
      "| column one | column two | column three | column four |",
      "| --- | --- | --- | --- |",
      "| some text | more text | even more text | the last cell |",
    ].join("\n");
    await send(page, `[[reply:${long}]] ${"wide ".repeat(40)}`);
    await repliesDone(page, 1);
    const widths = await page.evaluate(() => ({
      page: document.scrollingElement.scrollWidth,
      view: window.innerWidth,
      messages: [document.getElementById("messages").scrollWidth, document.getElementById("messages").clientWidth],
    }));
    assert.equal(widths.view, 375);
    assert.ok(widths.page <= widths.view, `page scrolls sideways: ${JSON.stringify(widths)}`);
    assert.ok(widths.messages[0] <= widths.messages[1], `messages scroll sideways: ${JSON.stringify(widths)}`);
    for (const id of ["send", "message", "new-chat", "sidebar-toggle"]) {
      const box = await page.locator(`#${id}`).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `#${id} is on screen: ${JSON.stringify(box)}`);
    }
    await shot(page, "narrow-375");

    assert.equal(await page.isVisible("#sidebar"), false);
    await page.click("#sidebar-toggle");
    await page.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().left >= 0);
    const drawer = await page.locator("#sidebar").boundingBox();
    assert.ok(drawer.x >= 0 && drawer.x + drawer.width <= 375, JSON.stringify(drawer));
    assert.equal(await page.getAttribute("#sidebar-toggle", "aria-expanded"), "true");
    await shot(page, "narrow-375-chats");
    await page.keyboard.press("Escape");
    assert.equal(await page.getAttribute("#sidebar-toggle", "aria-expanded"), "false");
    await context.close();
  });

  test("labels, keyboard order and dark mode", async () => {
    const { context, page } = await open(site, { colorScheme: "dark" });
    // Every control has an accessible name.
    assert.equal(await page.getByLabel("Message").count(), 1);
    assert.equal(await page.getByRole("button", { name: "New chat" }).count(), 1);
    assert.equal(await page.getByRole("log", { name: "Conversation" }).count(), 1);

    // Tab order follows the layout: skip link, top bar, chats, the suggestions of the empty
    // page, then the message box.
    const order = [];
    for (let i = 0; i < 9; i += 1) {
      await page.keyboard.press("Tab");
      order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim()));
    }
    assert.deepEqual(order, [
      "Skip to the message box",
      "model",
      "Export",
      "new-chat",
      "Explain DynamoDB TTL in two sentences",
      "Write a Rust function that reverses a string",
      "Give me three ideas for a team lunch",
      "message",
      "send",
    ]);

    // The skip link goes straight to the message box.
    await page.reload();
    await page.waitForSelector("html[data-ready=true]");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement.id), "message");

    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = background.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 120, `dark mode background ${background}`);
    await send(page, "[[reply:Dark mode, with `code` and a [link](https://example.com).]]");
    await repliesDone(page, 1);
    await shot(page, "dark");
    await context.close();
  });

  test("normal use under the CSP raises no violation, and the CSP is really enforced", async () => {
    const { context, page, seen } = await open(site);
    await send(page, "[[reply:Some `code`:\n```\nx\n```]]");
    await repliesDone(page, 1);
    await page.click("#export-menu summary");
    await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
    await page.fill("#message", "a\nb\nc\nd\ne");
    await page.reload();
    await page.waitForSelector(".turn.assistant");
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    assert.deepEqual(seen.console.filter((m) => /Content Security Policy|Refused to/i.test(m)), []);
    assert.deepEqual(seen.errors, []);

    // The policy is in force: an inline script is refused and reported.
    await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.__inline = 1";
      document.head.append(script);
    });
    await page.waitForFunction(() => window.__violations.length > 0);
    assert.equal(await page.evaluate(() => window.__inline), undefined);
    assert.match((await page.evaluate(() => window.__violations))[0], /^script-src/);
    await context.close();
  });
});
