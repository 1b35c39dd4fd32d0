// The chat page as a person uses it, in real headless Chromium against `cargo xtask dev` and
// the fake Bedrock: keyboard and focus, what history keeps, errors that say what to do, the
// message limit, the rate limit's wait, Stop, offline, touch screens, long messages, the tab
// title; and regenerating, editing, searching, suggestions, ratings and long histories.
//
// Run with `cargo xtask test`, or by hand like browser.test.mjs. Screenshots go to
// target/browser-artifacts/.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { lastReply, openPage, repliesDone, send, shot, turnTexts } from "./chat-page.mjs";
import { launchChromium } from "./page.mjs";
import { fakeBedrockEnv, startDev, startFakeBedrock, stopAll } from "./servers.mjs";

const ONE_MODEL =
  '[{"id":"amazon.nova-lite-v1:0","name":"Amazon Nova Lite","price":{"input":60000,"output":240000,"as_of":"2026-09-03"}}]';
const PHONE = { viewport: { width: 390, height: 740 } };
const TOUCH_PHONE = { ...PHONE, hasTouch: true, isMobile: true };

let browser;
/// The fake Bedrock behind the dev environment, with room for many messages.
let site;
/// The offline demo model, one allowed model, two chat requests per 8 s.
let limited;
/// The offline demo model with two allowed models.
let demo;

before(async () => {
  const bedrock = await startFakeBedrock();
  const aws = {
    ...fakeBedrockEnv(bedrock),
    CHATBOT_RATE_LIMIT: "10000",
  };
  [site, limited, demo] = await Promise.all([
    startDev("conversation-dev", aws),
    startDev(
      "conversation-rate-limited",
      {
        CHATBOT_RATE_LIMIT: "2",
        CHATBOT_RATE_WINDOW_SECONDS: "8",
        CHATBOT_MODELS: ONE_MODEL,
        CHATBOT_DEFAULT_MODEL: "amazon.nova-lite-v1:0",
      },
      ["--demo"],
    ),
    startDev("conversation-demo", { CHATBOT_RATE_LIMIT: "10000" }, ["--demo"]),
  ]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
});

const open = (base, options) => openPage(browser, base, options);
const activeId = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
const sessionOf = (page) => page.url().split("#")[1];

/// The session's messages as the server keeps them.
async function history(page, base) {
  const response = await page.request.get(`${base}/api/sessions/${sessionOf(page)}/messages`);
  assert.equal(response.status(), 200);
  return (await response.json()).messages;
}

/// The chips under a reply: its note, model, tokens and time.
function chips(reply) {
  return reply.locator(".turn-footer").evaluate((footer) =>
    Object.fromEntries(
      ["note", "model-name", "usage", "latency"].map((name) => [name, footer.querySelector(`.${name}`)?.textContent ?? null]),
    ),
  );
}

async function exportJson(page) {
  await page.click("#export-menu summary");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
  const doc = JSON.parse(readFileSync(await download.path(), "utf8"));
  delete doc.exported_at;
  return doc;
}

/// Requests to `/api/chat` made from now on.
function chatRequests(page) {
  const seen = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/api/chat")) seen.push(request);
  });
  return seen;
}

describe("fixes", () => {
  test("Enter on the focused Send button moves focus to Stop, then back to the message box", async () => {
    const { context, page } = await open(site);
    await page.fill("#message", "first [[slow:150]]");
    await page.focus("#send");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#stop:not([hidden])");
    assert.equal(await activeId(page), "stop", "focus moves to Stop, which took Send's place");
    await repliesDone(page, 1);
    assert.equal(await activeId(page), "message", "and to the message box when the reply is done");
    await page.keyboard.type("second");
    await page.keyboard.press("Enter");
    await repliesDone(page, 2);
    assert.equal(await page.locator(".turn.user").count(), 2, "a second Enter sends the next message");
    await context.close();
  });

  test("a reply's model, tokens and time survive a reload and a chat switch, and exports agree", async () => {
    const { context, page } = await open(site);
    await send(page, "details please [[tokens:9]]");
    await repliesDone(page, 1);
    const live = await chips(lastReply(page));
    assert.equal(live["model-name"], "Claude Haiku 4.5");
    assert.match(live.usage, /^\d+ in · 9 out tokens$/);
    assert.match(live.latency, /^\d+(\.\d)? (ms|s)$/);
    const before = await exportJson(page);
    assert.equal(before.messages[1].usage.output_tokens, 9);

    await page.reload();
    await page.waitForSelector(".turn.assistant .usage");
    assert.deepEqual(await chips(lastReply(page)), live, "after a reload");
    assert.deepEqual(await exportJson(page), before, "the export after a reload is the same");

    const id = sessionOf(page);
    await page.click("#new-chat");
    await page.click(`.session[data-id="${id}"] .session-open`);
    await page.waitForSelector(".turn.assistant .usage");
    assert.deepEqual(await chips(lastReply(page)), live, "after switching chats");
    await context.close();
  });

  test("a reply of the offline demo model says so, not a real model's name", async () => {
    const { context, page } = await open(demo);
    await send(page, "hello");
    await repliesDone(page, 1);
    assert.equal(await lastReply(page).locator(".model-name").innerText(), "Offline demo model");
    await page.reload();
    await page.waitForSelector(".turn.assistant .model-name");
    assert.equal(await lastReply(page).locator(".model-name").innerText(), "Offline demo model");
    await context.close();
  });

  for (const width of [390, 320]) {
    test(`the model picker shows whole model names on a ${width}-px screen`, async () => {
      const { context, page } = await open(site, { viewport: { width, height: 740 } });
      await page.waitForSelector("#model-picker:not([hidden])");
      const fit = await page.evaluate(() => {
        const select = document.getElementById("model");
        const style = getComputedStyle(select);
        const context = document.createElement("canvas").getContext("2d");
        context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const widest = Math.max(...[...select.options].map((o) => context.measureText(o.text).width));
        // The drop-down arrow takes about 20 px on the right.
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
        const box = select.getBoundingClientRect();
        return { widest: Math.ceil(widest), room, left: box.left, right: box.right, view: innerWidth, scroll: document.scrollingElement.scrollWidth };
      });
      assert.ok(fit.room >= fit.widest, `the picker has ${fit.room} px for a ${fit.widest}-px name`);
      assert.ok(fit.left >= 0 && fit.right <= fit.view, JSON.stringify(fit));
      assert.ok(fit.scroll <= fit.view, `the page scrolls sideways: ${JSON.stringify(fit)}`);
      for (const id of ["sidebar-toggle", "new-chat", "send"]) {
        const box = await page.locator(`#${id}`).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= width, `#${id}: ${JSON.stringify(box)}`);
      }
      await shot(page, `picker-${width}`);
      await context.close();
    });
  }

  test("Retry after a stream broke midway replaces the reply; a stopped reply can be regenerated", async () => {
    const { context, page } = await open(site);
    await send(page, "[[stream-error:3]] tell me more");
    await page.waitForSelector("#error-panel:not([hidden])");
    await repliesDone(page, 1);
    assert.equal(await page.isVisible("#retry"), true);
    await page.click("#retry");
    await page.waitForSelector("#error-panel:not([hidden])");
    await repliesDone(page, 1);
    assert.deepEqual(
      (await turnTexts(page)).map(([role]) => role),
      ["user", "assistant"],
      "the question is not asked twice",
    );
    assert.deepEqual(
      (await history(page, site)).map((m) => [m.role, m.incomplete]),
      [
        ["user", false],
        ["assistant", true],
      ],
      "nor kept twice on the server",
    );

    // A reply stopped after its first words has Regenerate, which writes it whole.
    await page.click("#dismiss-error");
    await send(page, "[[reply:one two three four five six]] [[slow:250]]");
    await page.waitForFunction(() =>
      document.querySelector(".turn.assistant[aria-busy=true] .turn-body")?.textContent.startsWith("one"),
    );
    await page.click("#stop");
    await repliesDone(page, 2);
    assert.equal(await lastReply(page).locator(".note").innerText(), "Stopped");
    // The regenerated answer's stream is waited for to its end: its busy state can be over
    // before a check for it runs when the answer is fast.
    const regenerated = page.waitForResponse(
      (response) => new URL(response.url()).pathname === "/api/chat" && response.request().method() === "POST",
    );
    await lastReply(page).getByRole("button", { name: "Regenerate this answer" }).click();
    await (await regenerated).finished();
    await repliesDone(page, 2);
    assert.equal(await lastReply(page).locator(".turn-body").innerText(), "one two three four five six");
    assert.equal(await lastReply(page).locator(".note").count(), 0);
    assert.equal(await page.locator(".turn").count(), 4);
    assert.deepEqual(
      (await history(page, site)).map((m) => m.role),
      ["user", "assistant", "user", "assistant"],
    );
    await context.close();
  });

  test("model and server errors say what to do, and only those a retry can fix offer Retry", async () => {
    const { context, page } = await open(site);
    const shown = [];
    const expectError = async (message, check) => {
      await send(page, message);
      await page.waitForSelector("#error-panel:not([hidden])");
      await page.waitForFunction(() => !document.getElementById("send").hidden);
      const text = await page.innerText("#error-text");
      const retry = await page.isVisible("#retry");
      check(text, retry);
      assert.doesNotMatch(text, /not available right now/, text);
      shown.push(text);
      await page.click("#dismiss-error");
      await page.fill("#message", "");
    };
    await expectError("[[error:400]] odd request", (text, retry) => {
      assert.match(text, /refused this request/);
      assert.match(text, /Rephrase/);
      assert.equal(retry, false, text);
    });
    await expectError("[[error:403]] locked model", (text, retry) => {
      assert.match(text, /may not use this model/);
      assert.match(text, /Pick another model/);
      assert.equal(retry, false, text);
    });
    await expectError("[[error:500]] flaky model", (text, retry) => {
      assert.match(text, /failed to answer\. Try again\./);
      assert.equal(retry, true, text);
    });
    await shot(page, "error-500");

    // The API's own 400, 403 and 500 (a proxy's page, not JSON), answered by the test.
    const answers = {
      400: { body: '{"error":{"code":"invalid_request","message":"the message contains a NUL character"}}', type: "application/json" },
      403: { body: '{"error":{"code":"forbidden","message":"no"}}', type: "application/json" },
      500: { body: "<html>Internal Server Error</html>", type: "text/html" },
    };
    for (const [status, { body, type }] of Object.entries(answers)) {
      await page.route("**/api/chat", (route) => route.fulfill({ status: Number(status), body, contentType: type }));
      await expectError(`answer ${status}`, (text, retry) => {
        if (status === "400") {
          assert.match(text, /the message contains a NUL character\. Change it/);
          assert.equal(retry, false);
        } else if (status === "403") {
          assert.match(text, /Reload the page/);
          assert.equal(retry, false);
        } else {
          assert.match(text, /ran into a problem \(HTTP 500\)\. Try again/);
          assert.equal(retry, true);
        }
      });
      await page.unroute("**/api/chat");
    }
    assert.equal(new Set(shown).size, shown.length, `every error says something of its own: ${shown.join(" | ")}`);
    await context.close();
  });

  test("an over-long message is counted and refused before sending", async () => {
    const { context, page } = await open(site);
    const requests = chatRequests(page);
    assert.equal(await page.isVisible("#char-count"), false, "no count for a short message");
    await page.fill("#message", "x".repeat(8_001));
    assert.equal(await page.innerText("#char-count"), "8,001 / 8,000 characters: 1 too many");
    assert.equal(await page.isDisabled("#send"), true);
    await page.press("#message", "Enter");
    await page.click("#send", { force: true });
    assert.equal(requests.length, 0, "nothing was sent");
    assert.equal(await page.locator(".turn").count(), 0);
    await shot(page, "over-long");
    await page.press("#message", "Backspace");
    assert.equal(await page.innerText("#char-count"), "8,000 / 8,000 characters");
    assert.equal(await page.isDisabled("#send"), false);
    await context.close();
  });

  test("during a rate limit's countdown Send waits, the wait shows once, and the alert is said once", async () => {
    const { context, page } = await open(limited);
    const requests = chatRequests(page);
    for (let sent = 1; sent <= 6 && !(await page.isVisible("#error-panel")); sent += 1) {
      await send(page, `message ${sent}`);
      await page.waitForFunction(() => !document.getElementById("send").hidden);
    }
    await page.waitForSelector("#error-panel:not([hidden])");
    const countdown = () => page.innerText("#error-panel");
    // Every change under the alert from now on is counted.
    await page.evaluate(() => {
      window.__alertChanges = 0;
      const observer = new MutationObserver((records) => {
        window.__alertChanges += records.length;
      });
      for (const alert of document.querySelectorAll("[role=alert]")) {
        observer.observe(alert, { subtree: true, childList: true, characterData: true, attributes: true });
      }
    });
    const first = await countdown();
    assert.equal((first.match(/\d+ s\b/g) ?? []).length, 1, `the wait shows once: ${first}`);
    assert.match(first, /faster than this chatbot allows/);
    assert.equal(await page.isDisabled("#send"), true);
    const sentBefore = requests.length;
    await page.press("#message", "Enter");
    // Two ticks of the countdown later, nothing was sent and the alert did not change.
    const seconds = () => page.evaluate(() => Number(/(\d+) s/.exec(document.getElementById("error-panel").innerText)?.[1] ?? 0));
    const start = await seconds();
    if (start >= 3) await page.waitForFunction((s) => Number(/(\d+) s/.exec(document.getElementById("error-panel").innerText)?.[1] ?? 0) <= s - 2, start);
    assert.equal(requests.length, sentBefore, "Enter sent nothing during the countdown");
    assert.equal(await page.evaluate(() => window.__alertChanges), 0, "the alert was not rewritten");
    await shot(page, "rate-limit-countdown");

    await page.waitForSelector("#send:not([disabled])", { timeout: 15_000 });
    assert.match(await page.innerText("#error-panel"), /You can send again now\./);
    await page.press("#message", "Enter");
    await repliesDone(page, 1);
    assert.equal(requests.length, sentBefore + 1);
    await context.close();
  });

  test("an unknown chat id says a message starts a new chat, and one does", async () => {
    const unknown = randomUUID();
    const { context, page } = await open(site, { hash: `#${unknown}` });
    await page.waitForSelector("#error-panel:not([hidden])");
    assert.match(await page.innerText("#error-text"), /no longer on the server.*starts a new chat/);
    const request = page.waitForRequest((r) => r.url().endsWith("/api/chat"));
    await send(page, "hello again");
    assert.equal(JSON.parse((await request).postData()).session_id, undefined, "no session id is sent");
    await repliesDone(page, 1);
    assert.notEqual(sessionOf(page), unknown);
    assert.equal(await page.locator(`.session[data-id="${unknown}"]`).count(), 0);
    await context.close();
  });

  test("a stopped reply shows the same words and says Stopped after a reload", async () => {
    const { context, page } = await open(site);
    await send(page, "[[reply:alpha beta gamma delta epsilon zeta eta theta iota kappa]] [[slow:300]]");
    await page.waitForFunction(() =>
      document.querySelector(".turn.assistant[aria-busy=true] .turn-body")?.textContent.includes("beta"),
    );
    const saved = page.waitForResponse((r) => r.url().endsWith("/stop") && r.status() === 200, { timeout: 10_000 });
    await page.click("#stop");
    await repliesDone(page, 1);
    const kept = await lastReply(page).locator(".turn-body").innerText();
    assert.equal(await lastReply(page).locator(".note").innerText(), "Stopped");
    await saved;
    await page.reload();
    await page.waitForSelector(".turn.assistant");
    assert.equal(await lastReply(page).locator(".turn-body").innerText(), kept);
    assert.equal(await lastReply(page).locator(".note").innerText(), "Stopped");
    await context.close();
  });

  test("offline, a message waits and goes out when the connection is back; its error goes too", async () => {
    const { context, page } = await open(site);
    await send(page, "a first chat");
    await repliesDone(page, 1);
    const first = sessionOf(page);
    await page.click("#new-chat");

    await context.setOffline(true);
    await page.waitForSelector("#offline-banner:not([hidden])");
    assert.match(await page.innerText("#offline-banner"), /waits here and goes out when the connection is back/);
    const requests = chatRequests(page);
    await send(page, "are you there");
    assert.equal(await page.locator(".turn.user .note").innerText(), "Waiting for the connection");
    assert.equal(await page.isVisible("#error-panel"), false);
    assert.equal(await page.inputValue("#message"), "");
    assert.equal(requests.length, 0);
    await shot(page, "offline-waiting");
    await context.setOffline(false);
    await repliesDone(page, 1);
    assert.equal(await lastReply(page).locator(".turn-body").innerText(), "Fake model reply to: are you there");
    assert.equal(await page.locator(".turn.user").count(), 1);
    assert.equal(await page.locator(".turn.user .note").count(), 0);

    // A chat that could not load while offline loads when the connection is back.
    await context.setOffline(true);
    await page.click(`.session[data-id="${first}"] .session-open`);
    await page.waitForFunction(() => /Cannot reach the chat server/.test(document.getElementById("error-text").textContent));
    await context.setOffline(false);
    await page.waitForSelector("#error-panel", { state: "hidden" });
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 2);
    assert.equal(await lastReply(page).locator(".turn-body").innerText(), "Fake model reply to: a first chat");
    await context.close();
  });

  test("on a touch screen Enter starts a new line, chats keep their options behind one button, targets are 44 px, and the drawer keeps focus", async () => {
    const { context, page } = await open(site, TOUCH_PHONE);
    assert.equal(await page.evaluate(() => matchMedia("(pointer: coarse)").matches), true);
    assert.match(await page.innerText("#composer-hint"), /Enter starts a new line/);
    await page.fill("#message", "line one");
    await page.press("#message", "Enter");
    await page.keyboard.type("line two");
    assert.equal(await page.inputValue("#message"), "line one\nline two");
    assert.equal(await page.locator(".turn").count(), 0);
    await page.tap("#send");
    await repliesDone(page, 1);

    // Every control on screen is at least 44 by 44 px.
    const small = async () =>
      page.evaluate(() =>
        [...document.querySelectorAll("button, a[href], select, summary, input, textarea")]
          .filter((el) => {
            const box = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            return box.width > 1 && box.height > 1 && style.visibility !== "hidden" && box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
          })
          .filter((el) => el.getBoundingClientRect().width < 44 || el.getBoundingClientRect().height < 44)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className || el.id}: ${Math.round(el.getBoundingClientRect().width)}×${Math.round(el.getBoundingClientRect().height)} "${el.textContent.trim().slice(0, 20)}"`),
      );
    assert.deepEqual(await small(), [], "on the conversation");

    await page.tap("#sidebar-toggle");
    await page.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().left >= 0);
    const item = page.locator(".session").first();
    assert.deepEqual(
      await item.locator("button:visible").evaluateAll((els) => els.map((b) => b.getAttribute("aria-label"))),
      ["Options for chat “line one line two”"],
      "one button per chat until it is opened",
    );
    assert.deepEqual(await small(), [], "in the open drawer");
    await shot(page, "touch-drawer");
    await item.locator(".session-more").tap();
    assert.deepEqual(await item.locator("button:visible").allInnerTexts(), ["", "Rename", "Delete"]);

    // Tab never leaves the open drawer.
    const outside = [];
    for (let i = 0; i < 12; i += 1) {
      await page.keyboard.press("Tab");
      const inside = await page.evaluate(() => document.getElementById("sidebar").contains(document.activeElement));
      if (!inside) outside.push(await activeId(page));
    }
    assert.deepEqual(outside, [], "focus left the drawer");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Escape");
    assert.equal(await page.getAttribute("#sidebar-toggle", "aria-expanded"), "false");
    await context.close();
  });

  test("a very long message is folded with Show more, and the reply's footer ends in view", async () => {
    const { context, page } = await open(site, PHONE);
    // The reply ends with a table, which streams as text and takes its full height only in
    // the last drawing, with the footer.
    const table = `| step | what |\\n| --- | --- |\\n${"| one | a row of the table |\\n".repeat(12)}`;
    const long = `[[reply:A reply that ends with a table.\\n\\n${table}]] ${"word ".repeat(1_500)}`;
    await send(page, long);
    await repliesDone(page, 1);
    const box = await page.locator("#messages").boundingBox();
    const footer = await lastReply(page).locator(".turn-footer").boundingBox();
    assert.ok(
      footer.y >= box.y && footer.y + footer.height <= box.y + box.height + 1,
      `the footer ${JSON.stringify(footer)} is out of the conversation's view ${JSON.stringify(box)}`,
    );
    const question = page.locator(".turn.user .turn-body");
    const folded = (await question.boundingBox()).height;
    assert.ok(folded < 300, `the folded message is ${folded} px tall`);
    await shot(page, "long-message-folded");
    const more = page.locator(".turn.user").getByRole("button", { name: "Show more" });
    assert.equal(await more.getAttribute("aria-expanded"), "false");
    await more.click();
    assert.ok((await question.boundingBox()).height > 1_000, "Show more shows the whole message");
    const less = page.locator(".turn.user").getByRole("button", { name: "Show less" });
    assert.equal(await less.getAttribute("aria-expanded"), "true");
    await less.click();
    assert.ok((await question.boundingBox()).height < 300);
    await context.close();
  });

  test("the tab's title is the open chat's", async () => {
    const { context, page } = await open(site);
    assert.equal(await page.title(), "Chatbot");
    await send(page, "plan a picnic");
    await repliesDone(page, 1);
    assert.equal(await page.title(), "plan a picnic – Chatbot");
    const id = sessionOf(page);
    const item = page.locator(`.session[data-id="${id}"]`);
    await item.locator(".session-more").click();
    await item.getByRole("button", { name: /^Rename/ }).click();
    await page.fill(`#rename-${id}`, "Picnic");
    await page.press(`#rename-${id}`, "Enter");
    assert.equal(await page.title(), "Picnic – Chatbot");
    await page.click("#new-chat");
    assert.equal(await page.title(), "Chatbot");
    await item.locator(".session-open").click();
    await page.waitForSelector(".turn.assistant");
    assert.equal(await page.title(), "Picnic – Chatbot");
    await context.close();
  });
});

describe("features", () => {
  test("an edited question and a regenerated answer replace what followed, on the page and on the server", async () => {
    const { context, page } = await open(site);
    await send(page, "first question");
    await repliesDone(page, 1);
    await send(page, "second question");
    await repliesDone(page, 2);
    await send(page, "third question");
    await repliesDone(page, 3);

    const second = page.locator(".turn.user").nth(1);
    await second.getByRole("button", { name: "Edit this message" }).click();
    const box = page.getByLabel("Edit your message");
    assert.equal(await box.inputValue(), "second question");
    await shot(page, "editing");
    await box.fill("second question, edited");
    await page.locator(".edit-form").getByRole("button", { name: "Send" }).click();
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 4);
    await repliesDone(page, 2);
    const expected = [
      ["user", "first question"],
      ["assistant", "Fake model reply to: first question"],
      ["user", "second question, edited"],
      ["assistant", "Fake model reply to: second question, edited"],
    ];
    assert.deepEqual(await turnTexts(page), expected);
    assert.deepEqual((await history(page, site)).map((m) => [m.role, m.content]), expected);

    // Regenerate is on the last answer only.
    assert.equal(await page.locator(".regenerate").count(), 1);
    const before = (await history(page, site))[3].id;
    // The regenerated answer's stream is waited for to its end: its busy state can be over
    // before a check for it runs when the answer is fast.
    const regenerated = page.waitForResponse(
      (response) => new URL(response.url()).pathname === "/api/chat" && response.request().method() === "POST",
    );
    await lastReply(page).getByRole("button", { name: "Regenerate this answer" }).click();
    await (await regenerated).finished();
    await repliesDone(page, 2);
    assert.deepEqual(await turnTexts(page), expected);
    const after = await history(page, site);
    assert.deepEqual(after.map((m) => [m.role, m.content]), expected);
    assert.notEqual(after[3].id, before, "a new answer");

    await page.reload();
    await page.waitForSelector(".turn.assistant");
    assert.deepEqual(await turnTexts(page), expected);
    await context.close();
  });

  test("the chat list is searched by title and by the text of chats loaded here", async () => {
    const { context, page } = await open(site);
    for (const text of ["apples and pears", "bananas", "cherry pie [[reply:A recipe with almonds.]]"]) {
      await page.click("#new-chat");
      await send(page, text);
      await repliesDone(page, 1);
    }
    const titles = () => page.locator(".session-open").evaluateAll((els) => els.map((a) => a.firstChild.textContent));
    assert.equal((await titles()).length, 3);
    await page.fill("#chat-search", "PIE");
    assert.deepEqual(await titles(), ["cherry pie [[reply:A recipe with almonds.]]"]);
    await page.fill("#chat-search", "almonds");
    assert.deepEqual(await titles(), ["cherry pie [[reply:A recipe with almonds.]]"], "found in the reply");
    await page.fill("#chat-search", "fake apples");
    assert.deepEqual(await titles(), ["apples and pears"], "every word, anywhere");
    assert.equal(await page.innerText("#search-status"), "1 of 3 chats match.");
    await page.fill("#chat-search", "durian");
    assert.deepEqual(await titles(), []);
    assert.equal(await page.isVisible("#no-matches"), true);
    await shot(page, "search-none");
    await page.press("#chat-search", "Escape");
    assert.equal((await titles()).length, 3);
    await context.close();
  });

  test("the empty page offers the environment's starter prompts, and one sends", async () => {
    const { context, page } = await open(site);
    const prompts = await page.locator(".starter-prompt").allInnerTexts();
    assert.deepEqual(prompts, [
      "Explain DynamoDB TTL in two sentences",
      "Write a Rust function that reverses a string",
      "Give me three ideas for a team lunch",
    ]);
    await shot(page, "starter-prompts");
    await page.locator(".starter-prompt").first().click();
    await repliesDone(page, 1);
    assert.equal(await page.locator(".turn.user .turn-body").innerText(), prompts[0]);
    assert.equal(await page.isVisible("#starter-prompts"), false);
    await context.close();
  });

  test("a rating is saved with the answer, shown after a reload and exported", async () => {
    const { context, page } = await open(site);
    await send(page, "rate me");
    await repliesDone(page, 1);
    const good = lastReply(page).getByRole("button", { name: "Good answer" });
    const bad = lastReply(page).getByRole("button", { name: "Bad answer" });
    assert.equal(await good.getAttribute("aria-pressed"), "false");
    const saved = page.waitForResponse((r) => r.url().endsWith("/feedback"));
    await good.click();
    assert.equal((await saved).status(), 204);
    assert.equal(await good.getAttribute("aria-pressed"), "true");
    await page.reload();
    await page.waitForSelector(".turn.assistant .rate");
    assert.equal(await good.getAttribute("aria-pressed"), "true");
    const changed = page.waitForResponse((r) => r.url().endsWith("/feedback"));
    await bad.click();
    await changed;
    assert.deepEqual(
      [await good.getAttribute("aria-pressed"), await bad.getAttribute("aria-pressed")],
      ["false", "true"],
    );
    assert.equal((await history(page, site))[1].feedback, "down");
    assert.equal((await exportJson(page)).messages[1].feedback, "down");
    await context.close();
  });

  test("a long history draws its newest answers at once and older ones as they come into view", async () => {
    const { context, page } = await open(site);
    // Twelve questions, each answered with a few thousand characters of Markdown.
    let session;
    for (let i = 0; i < 12; i += 1) {
      const reply = `## Part ${i}\\n\\n${"Some **bold** text and a [link](https://example.com). ".repeat(50)}\\n\\n- one\\n- two`;
      const response = await page.request.post(`${site}/api/chat`, {
        data: { message: `question ${i} [[reply:${reply}]] [[first:0]] [[slow:0]]`, ...(session ? { session_id: session } : {}) },
      });
      assert.equal(response.status(), 200);
      session = (await response.json()).session_id;
    }
    // What the first drawing of the history showed, before anything else ran.
    await page.evaluate(() => {
      const box = document.getElementById("messages");
      new MutationObserver((records, observer) => {
        if (!document.querySelector(".turn")) return;
        const turns = [...document.querySelectorAll(".turn.assistant")];
        window.__firstDraw = {
          history: box.dataset.history,
          pending: turns.filter((t) => t.dataset.rendered === "false").length,
          newest: turns.at(-1)?.querySelector(".turn-body h2")?.textContent ?? null,
        };
        observer.disconnect();
      }).observe(box, { attributes: true, attributeFilter: ["data-history"] });
    });
    await page.evaluate((id) => {
      location.hash = id;
    }, session);
    await page.waitForSelector("#messages[data-history=drawn] .turn.assistant");
    const first = await page.evaluate(() => window.__firstDraw);
    assert.equal(first.history, "drawing");
    assert.equal(first.newest, "Part 11", "the newest answer is drawn at once");
    assert.ok(first.pending >= 6, `older answers wait: ${JSON.stringify(first)}`);
    // Scrolled up to the start, every answer is drawn on the way.
    await page.evaluate(async () => {
      const box = document.getElementById("messages");
      const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
      while (box.scrollTop > 0) {
        box.scrollTop = Math.max(0, box.scrollTop - box.clientHeight);
        await frame();
        await frame();
      }
    });
    await page.waitForFunction(() => document.querySelectorAll(".turn.assistant .turn-body h2").length === 12);
    assert.equal(await page.locator(".turn.assistant .pending-render").count(), 0);
    assert.equal(await page.locator(".turn.assistant .turn-body h2").first().innerText(), "Part 0");
    await context.close();
  });
});
