// Sign-in, as people use it, in real headless Chromium against `cargo xtask dev --env staging`
// (an environment with `[auth] mode = "users"`): the local OpenID provider (`dev/oidc/`, the
// certified `oidc-provider` package) with its test users alice and bob, the DynamoDB store,
// and the fake Bedrock. Each person signs in through the provider's own login form; their chats
// come from the server, also in a second browser; bob never sees alice's; tokens are refreshed
// during a long streamed answer; signing out ends the sign-in; a message typed when the sign-in
// has ended survives signing in again; what is left of the limits shows when low.
//
// Run with `cargo xtask test`, or by hand like browser.test.mjs. Screenshots go to
// target/browser-artifacts/.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { repliesDone, send, shot, turnTexts } from "./chat-page.mjs";
import { CSP, launchChromium, recordViolations } from "./page.mjs";
import { startDev, startFakeBedrock, stopAll } from "./servers.mjs";

/// The local provider's test users and their dev-only passwords (dev/oidc/provider.mjs).
const PASSWORDS = { alice: "alice-dev-password", bob: "bob-dev-password" };
const NAMES = { alice: "Alice Liddell", bob: "Bob Builder" };

let browser;
/// Tokens that last the default 5 minutes.
let site;
/// Access tokens of 3 s; three turns per person a day and a quota of 1,000 tokens.
let shortTokens;
/// Access tokens of 2 s, a sign-in of 12 s.
let shortSignIn;

before(async () => {
  const bedrock = await startFakeBedrock();
  const aws = {
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    CHATBOT_RATE_LIMIT: "10000",
  };
  const staging = ["--env", "staging"];
  [site, shortTokens, shortSignIn] = await Promise.all([
    startDev("signin-dev", aws, staging),
    startDev(
      "signin-short-tokens",
      {
        ...aws,
        CHATBOT_USER_RATE_LIMIT: "3",
        CHATBOT_USER_RATE_WINDOW_SECONDS: "86400",
        CHATBOT_USER_DAILY_TOKEN_QUOTA: "1000",
      },
      [...staging, "--access-token-seconds", "3"],
    ),
    startDev("signin-short-sign-in", aws, [...staging, "--access-token-seconds", "2", "--sign-in-seconds", "12"]),
  ]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
});

/// The server's sign-in settings, as the page reads them.
async function authOf(base) {
  const models = await (await fetch(`${base}/api/models`)).json();
  assert.equal(models.auth?.mode, "users", JSON.stringify(models.auth));
  return models.auth;
}

/// A fresh browser profile on `base`, with the site's Content-Security-Policy on the page as a
/// signed-in environment has it (the token endpoint's origin in `connect-src`), and a record
/// of requests to the provider's token endpoint.
async function openSignedOut(base) {
  const auth = await authOf(base);
  const provider = new URL(auth.token_url).origin;
  const csp = CSP.replace("connect-src 'self'", `connect-src 'self' ${provider}`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  await context.route(
    (url) => url.origin === new URL(base).origin && !url.pathname.startsWith("/api/"),
    async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": csp } });
    },
  );
  await recordViolations(context);
  const page = await context.newPage();
  const seen = { errors: [], tokenRequests: [], apiAuthorization: [] };
  page.on("pageerror", (error) => seen.errors.push(error.message));
  page.on("request", (request) => {
    if (request.url() === auth.token_url) seen.tokenRequests.push(new URLSearchParams(request.postData() ?? "").get("grant_type"));
    if (new URL(request.url()).pathname.startsWith("/api/chat")) seen.apiAuthorization.push(request.headers().authorization ?? null);
  });
  await page.goto(`${base}/`);
  await page.waitForSelector("html[data-auth=signed-out]");
  return { context, page, seen, auth };
}

/// Fills the provider's login form as a person would.
async function logIn(page, user, issuer) {
  await page.waitForURL((url) => url.href.startsWith(issuer));
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(PASSWORDS[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/// Signs `user` in from the page's Sign in button, through the provider's form.
async function signIn(page, user, issuer) {
  await page.getByRole("button", { name: "Sign in" }).first().click();
  await logIn(page, user, issuer);
  await page.waitForSelector("html[data-auth=signed-in]");
}

/// A fresh browser profile with `user` signed in and their chats read from the server.
async function openSignedIn(base, user) {
  const opened = await openSignedOut(base);
  await signIn(opened.page, user, opened.auth.issuer);
  await opened.page.waitForSelector("#session-list[data-source=server]", { state: "attached" });
  return opened;
}

const sessionTitles = (page) => page.locator("#session-list .session-open").evaluateAll((els) => els.map((el) => el.firstChild.textContent));
const sessionOf = (page) => decodeURIComponent(new URL(page.url()).hash.slice(1));
const bearer = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem("chatbot.auth.tokens")).access_token);

describe("signing in", () => {
  /// alice's chat, for the other tests of this group.
  let alice;

  test("alice signs in through the provider's form; her name shows and her chat is listed from the server", async () => {
    const { context, page, seen, auth } = await openSignedOut(site);
    assert.match(await page.locator("#signin-banner").innerText(), /Sign in to use this chatbot/);
    await shot(page, "signin-signed-out");

    // A wrong password is refused on the provider's form, which asks again.
    await page.getByRole("button", { name: "Sign in" }).first().click();
    await page.waitForURL((url) => url.href.startsWith(auth.issuer));
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("not-her-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").innerText(), /Wrong username or password/);
    await shot(page, "signin-provider-form");
    await page.getByLabel("Password").fill(PASSWORDS.alice);
    await page.getByRole("button", { name: "Sign in" }).click();

    await page.waitForSelector("html[data-auth=signed-in]");
    await page.waitForSelector("#session-list[data-source=server]", { state: "attached" });
    assert.equal(new URL(page.url()).search, "", "the code and state are taken off the address");
    assert.equal(await page.locator("#user-name").innerText(), NAMES.alice);
    assert.ok(await page.getByRole("button", { name: "Sign out" }).isVisible());
    assert.deepEqual(seen.tokenRequests, ["authorization_code"]);

    await send(page, "Alice's secret plan");
    await repliesDone(page, 1);
    const id = sessionOf(page);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.ok(seen.apiAuthorization.every((value) => value?.startsWith("Bearer ")), JSON.stringify(seen.apiAuthorization));
    // The list is the server's, and nothing of it is kept in this browser.
    await page.waitForFunction(() => document.querySelectorAll("#session-list .session").length === 1);
    assert.deepEqual(await sessionTitles(page), ["Alice's secret plan"]);
    assert.equal(await page.evaluate(() => localStorage.getItem("chatbot.sessions")), null);
    const listed = await page.request.get(`${site}/api/sessions`, { headers: { Authorization: `Bearer ${await bearer(page)}` } });
    assert.equal(listed.status(), 200);
    assert.deepEqual(
      (await listed.json()).sessions.map((s) => s.id),
      [id],
    );
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    assert.deepEqual(seen.errors, []);
    await shot(page, "signin-signed-in");
    alice = { id, context };
  });

  test("a second browser of alice's lists the same chat from the server, opens it, and sees a rename", async () => {
    assert.ok(alice, "alice signed in");
    const { context, page } = await openSignedIn(site, "alice");
    await page.waitForFunction(() => document.querySelectorAll("#session-list .session").length === 1);
    assert.deepEqual(await sessionTitles(page), ["Alice's secret plan"]);
    await page.locator("#session-list .session-open").first().click();
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 2);
    assert.equal((await turnTexts(page))[0][1], "Alice's secret plan");

    // Renamed here, the name is the server's: the first browser sees it when it comes back.
    await page.locator(".session-more").first().click();
    await page.getByRole("button", { name: /^Rename chat/ }).click();
    await page.getByRole("textbox", { name: "New name" }).fill("Plans");
    await page.getByRole("textbox", { name: "New name" }).press("Enter");
    await page.waitForFunction(() => document.querySelector("#session-list .session-open")?.firstChild.textContent === "Plans");
    // The first browser comes back to the page (a focus event each half second, as a person
    // switching windows makes them) and shows the server's name.
    const first = alice.context.pages()[0];
    await first.waitForFunction(
      () => {
        window.dispatchEvent(new Event("focus"));
        return document.querySelector("#session-list .session-open")?.firstChild.textContent === "Plans";
      },
      null,
      { polling: 500 },
    );
    await context.close();
  });

  test("bob sees none of alice's chats, neither in his list nor by the chat's address", async () => {
    assert.ok(alice, "alice signed in");
    const { context, page } = await openSignedIn(site, "bob");
    assert.equal(await page.locator("#user-name").innerText(), NAMES.bob);
    // bob's list, read from the server, is his own: empty.
    assert.deepEqual(await sessionTitles(page), []);

    // alice's chat by its address: not found for bob, and nothing of it shows.
    await page.goto(`${site}/#${alice.id}`);
    await page.waitForSelector("html[data-auth=signed-in]");
    await page.locator("#error-text").waitFor();
    assert.match(await page.locator("#error-text").innerText(), /no longer on the server/);
    assert.deepEqual(await turnTexts(page), []);
    const token = await bearer(page);
    for (const [method, path, body] of [
      ["GET", `/api/sessions/${alice.id}/messages`],
      ["PATCH", `/api/sessions/${alice.id}`, { title: "mine now" }],
      ["DELETE", `/api/sessions/${alice.id}`],
      ["POST", "/api/chat", { message: "continue", session_id: alice.id }],
    ]) {
      const response = await page.request.fetch(`${site}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        data: body ? JSON.stringify(body) : undefined,
      });
      assert.equal(response.status(), 404, `${method} ${path}`);
    }
    await shot(page, "signin-bob-not-found");
    await context.close();

    // alice's chat is untouched.
    const first = alice.context.pages()[0];
    const response = await first.request.get(`${site}/api/sessions/${alice.id}/messages`, {
      headers: { Authorization: `Bearer ${await bearer(first)}` },
    });
    assert.equal(response.status(), 200);
    assert.equal((await response.json()).messages[0].content, "Alice's secret plan");
  });

  test("signing out ends the sign-in: no tokens, no list, and the provider asks for the password again", async () => {
    assert.ok(alice, "alice signed in");
    const page = alice.context.pages()[0];
    const auth = await authOf(site);
    const refreshToken = await page.evaluate(() => JSON.parse(sessionStorage.getItem("chatbot.auth.tokens")).refresh_token);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((url) => url.origin === new URL(site).origin);
    await page.waitForSelector("html[data-auth=signed-out]");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("chatbot.auth.tokens")), null);
    assert.deepEqual(await sessionTitles(page), []);
    assert.ok(await page.locator("#user-name").isHidden());
    // The old refresh token is dead with the sign-in.
    const refreshed = await page.request.post(auth.token_url, {
      form: { grant_type: "refresh_token", refresh_token: refreshToken, client_id: auth.client_id },
    });
    assert.equal(refreshed.status(), 400);
    // Signing in again asks for the password: the provider's session is gone too.
    await page.getByRole("button", { name: "Sign in" }).first().click();
    await page.waitForURL((url) => url.href.startsWith(auth.issuer));
    await page.getByLabel("Password").waitFor();
    await shot(page, "signin-after-sign-out");
    await alice.context.close();
  });
});

describe("tokens that expire", () => {
  test("a long streamed answer outlives its 3 s token; the calls after it go out with a refreshed one", async () => {
    const { context, page, seen } = await openSignedIn(shortTokens, "alice");
    const first = await bearer(page);
    await send(page, "[[chunks:30]] [[slow:250]] a long answer");
    await repliesDone(page, 1);
    assert.equal(await page.locator("#error-panel").isHidden(), true, "no error");
    assert.match((await turnTexts(page))[1][1], /t30/);
    assert.ok(seen.tokenRequests.filter((grant) => grant === "refresh_token").length >= 1, JSON.stringify(seen.tokenRequests));

    await send(page, "and a short one");
    await repliesDone(page, 2);
    const used = seen.apiAuthorization.filter(Boolean);
    assert.notEqual(used.at(-1), `Bearer ${first}`, "the next chat used a new token");
    assert.equal(used[0], `Bearer ${first}`);

    await context.close();
  });

  test("what is left of the limits shows when low, and a used-up quota says when it comes back", async () => {
    const { context, page } = await openSignedIn(shortTokens, "bob");
    await send(page, "one");
    await repliesDone(page, 1);
    assert.ok(await page.locator("#limits").isHidden(), "three turns a day: plenty left after one");
    // The second turn leaves one, and spends more tokens than the day's quota.
    await send(page, "two [[tokens:5000]]");
    await repliesDone(page, 2);
    await page.locator("#limits").waitFor();
    assert.match(await page.locator("#limits").innerText(), /1 message left/);
    await send(page, "three");
    await page.locator("#error-text").waitFor();
    const said = await page.locator("#error-text").innerText();
    assert.match(said, /used all your tokens for today/);
    assert.match(said, /You can chat again at \d{1,2}:\d{2}/);
    assert.equal(await page.locator("#message").inputValue(), "three", "the message is kept");
    await shot(page, "signin-quota-used-up");
    await context.close();
  });

  test("a message written after the sign-in ended comes back after signing in again", async () => {
    const { context, page, auth } = await openSignedIn(shortSignIn, "alice");
    await send(page, "before the end");
    await repliesDone(page, 1);
    const chat = sessionOf(page);
    // The sign-in lasts 12 s; the page finds out when its refresh is refused.
    await page.waitForSelector("html[data-auth=signed-out]", { timeout: 30_000 });
    assert.match(await page.locator("#signin-banner").innerText(), /sign-in has ended/);
    await page.fill("#message", "a draft I do not want to lose");
    await page.press("#message", "Enter");
    // The provider's session ended too: its form asks again.
    await logIn(page, "alice", auth.issuer);
    await page.waitForSelector("html[data-auth=signed-in]");
    assert.equal(await page.locator("#message").inputValue(), "a draft I do not want to lose");
    assert.equal(sessionOf(page), chat, "back in the same chat");
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 2);
    assert.equal((await turnTexts(page))[0][1], "before the end");
    await shot(page, "signin-draft-restored");
    await context.close();
  });
});
