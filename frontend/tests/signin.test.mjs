// Sign-in, as people use it, in real headless Chromium against `cargo xtask dev --env staging`
// (an environment with `[auth] mode = "users"`): the local OpenID provider (`dev/oidc/`, the
// certified `oidc-provider` package) with its test users alice and bob, the DynamoDB store,
// and the fake Bedrock. Each person signs in through the provider's own login form; their chats
// come from the server, also in a second browser; bob never sees alice's; tokens are refreshed
// during a long streamed answer and across a reload that interrupts a refresh; a token the API
// refuses is refreshed once and the call tried once more, calls refused together sharing one
// refresh; signing out ends the sign-in; a message typed or sent when the sign-in has ended
// survives signing in again; what is left of the limits shows when low.
//
// Run with `cargo xtask test`, or by hand like browser.test.mjs. Screenshots go to
// target/browser-artifacts/.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { repliesDone, send, shot, turnTexts } from "./chat-page.mjs";
import { CSP, launchChromium, recordViolations } from "./page.mjs";
import { fakeBedrockEnv, startDev, startFakeBedrock, stopAll } from "./servers.mjs";

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
    ...fakeBedrockEnv(bedrock),
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

/// A fresh browser profile on `base`, and a record of requests to the provider's token endpoint
/// and of the API's answers. The page is loaded as the server sends it, never through the
/// test's hands: Chromium's Local Network Access lets a page call the provider on 127.0.0.1
/// only when the page came from a loopback address, and a document the test answers for
/// (`route.fulfill`) has none known: once reloaded, its calls to the token endpoint are
/// refused. The server's Content-Security-Policy is checked to be the deployed one (the
/// template's, with the token endpoint's origin in `connect-src`).
async function openSignedOut(base) {
  const auth = await authOf(base);
  const provider = new URL(auth.token_url).origin;
  const csp = CSP.replace("connect-src 'self'", `connect-src 'self' ${provider}`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  await recordViolations(context);
  const page = await context.newPage();
  const seen = { errors: [], tokenRequests: [], tokenAnswers: [], apiAuthorization: [], api: [] };
  page.on("pageerror", (error) => seen.errors.push(error.message));
  page.on("request", (request) => {
    if (request.url() === auth.token_url) seen.tokenRequests.push(new URLSearchParams(request.postData() ?? "").get("grant_type"));
    if (new URL(request.url()).pathname.startsWith("/api/chat")) seen.apiAuthorization.push(request.headers().authorization ?? null);
  });
  page.on("response", (response) => {
    if (response.url() === auth.token_url) seen.tokenAnswers.push(response.status());
    const url = new URL(response.url());
    if (url.origin !== new URL(base).origin || !url.pathname.startsWith("/api/")) return;
    const token = (response.request().headers().authorization ?? "").replace(/^Bearer /, "");
    seen.api.push({ path: url.pathname, token, status: response.status() });
  });
  const loaded = await page.goto(`${base}/`);
  assert.equal(loaded.headers()["content-security-policy"], csp, "the page's policy is the deployed one");
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

/// `token` with its signature spoiled: the API refuses it with 401.
const spoiled = (token) => `${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;

/// Makes the API refuse a token from now on, as it refuses one that expired or was signed with
/// a retired key: the calls to `base` under `path` that carry `token` (every token when null)
/// reach the server with it spoiled and get the server's own 401, after `hold()` resolves.
/// Resolves to a record of the calls it refused.
async function refuseToken(page, base, { token = null, path = "/api/", hold = async () => {} } = {}) {
  const refused = [];
  await page.route(
    (url) => url.origin === new URL(base).origin && url.pathname.startsWith(path),
    async (route) => {
      const request = route.request();
      const bearer = (request.headers().authorization ?? "").replace(/^Bearer /, "");
      if (token !== null && bearer !== token) return route.continue();
      refused.push(new URL(request.url()).pathname);
      const response = await route.fetch({ headers: { ...request.headers(), authorization: `Bearer ${spoiled(bearer)}` } });
      await hold(request);
      return route.fulfill({ response });
    },
  );
  return refused;
}

/// Resolves once `done()` holds, checking it as the page's events come in; fails after 30 s.
async function until(done, what) {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/// The API's answers under `path` as `[status, token]`, in order.
const answers = (seen, path) => seen.api.filter((call) => call.path === path).map((call) => [call.status, call.token]);
const refreshes = (seen) => seen.tokenRequests.filter((grant) => grant === "refresh_token").length;

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

  test("a reload while a refresh is under way keeps the sign-in: the refresh token the page had still works", async () => {
    const { context, page, seen, auth } = await openSignedIn(shortTokens, "alice");
    const kept = await page.evaluate(() => JSON.parse(sessionStorage.getItem("chatbot.auth.tokens")).refresh_token);
    // The next refresh reaches the provider, which answers; the page reloads before it reads
    // the answer.
    let answered;
    const held = new Promise((resolve) => {
      answered = resolve;
    });
    await page.route(
      auth.token_url,
      async (route) => {
        const response = await route.fetch();
        answered({ route, status: response.status() });
      },
      { times: 1 },
    );
    const { route, status } = await held;
    assert.equal(status, 200, "the provider answered the refresh");
    await page.reload();
    await route.abort().catch(() => {});
    assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem("chatbot.auth.tokens"))?.refresh_token), kept);
    // The reloaded page refreshes with the token it kept, lists the chats, and goes on
    // refreshing (its 3 s tokens are due every 2¼ s).
    const before = seen.tokenAnswers.length;
    await page.waitForSelector("#session-list[data-source=server]", { state: "attached" });
    await until(() => seen.tokenAnswers.length - before >= 2, "two refreshes after the reload");
    assert.deepEqual(seen.tokenAnswers.slice(before, before + 2), [200, 200]);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.auth), "signed-in");
    await page.evaluate(() => window.dispatchEvent(new Event("focus")));
    await page.waitForResponse((response) => new URL(response.url()).pathname === "/api/sessions" && response.ok());
    assert.deepEqual(seen.errors, []);
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

describe("tokens the API refuses", () => {
  test("after a reload, a token the API refuses (spoiled in storage) is refreshed on the 401, and the call goes through", async () => {
    const { context, page, seen } = await openSignedIn(site, "alice");
    const first = await bearer(page);
    await page.evaluate((token) => {
      const tokens = JSON.parse(sessionStorage.getItem("chatbot.auth.tokens"));
      tokens.access_token = token;
      sessionStorage.setItem("chatbot.auth.tokens", JSON.stringify(tokens));
    }, spoiled(first));
    const before = { api: seen.api.length, refreshes: refreshes(seen) };
    await page.reload();
    await page.waitForSelector("#session-list[data-source=server]", { state: "attached" });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.auth), "signed-in");
    assert.equal(refreshes(seen) - before.refreshes, 1, JSON.stringify(seen.tokenRequests));
    const renewed = await bearer(page);
    assert.notEqual(renewed, first);
    const lists = seen.api.slice(before.api).filter((call) => call.path === "/api/sessions");
    assert.deepEqual(
      lists.map((call) => [call.status, call.token]),
      [
        [401, spoiled(first)],
        [200, renewed],
      ],
    );
    assert.ok(await page.locator("#error-panel").isHidden(), "no error");
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  test("two calls refused at once share one refresh, also when one is refused after the refresh", async () => {
    const { context, page, seen } = await openSignedIn(site, "alice");
    await send(page, "a chat to come back to");
    await repliesDone(page, 1);
    const chat = sessionOf(page);
    await page.getByRole("button", { name: "New chat" }).click();
    await page.waitForFunction(() => location.hash === "");
    const token = await bearer(page);
    const messages = `/api/sessions/${chat}/messages`;
    // The chat's 401 comes back only once the list's 401 has been answered with a refresh.
    await refuseToken(page, site, {
      token,
      hold: async (request) => {
        if (new URL(request.url()).pathname !== messages) return;
        await page.waitForFunction((old) => JSON.parse(sessionStorage.getItem("chatbot.auth.tokens"))?.access_token !== old, token);
      },
    });
    const before = refreshes(seen);
    // Back to the window (the list is read again) and to the chat, at once.
    await page.evaluate((id) => {
      location.hash = id;
      window.dispatchEvent(new Event("focus"));
    }, chat);
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 2);
    await page.waitForFunction(() => document.querySelectorAll("#session-list .session").length >= 1);
    const renewed = await bearer(page);
    assert.equal(refreshes(seen) - before, 1, JSON.stringify(seen.tokenRequests));
    assert.deepEqual(answers(seen, messages), [
      [401, token],
      [200, renewed],
    ]);
    assert.deepEqual(answers(seen, "/api/sessions").slice(-2), [
      [401, token],
      [200, renewed],
    ]);
    assert.ok(await page.locator("#error-panel").isHidden(), "no error");
    await context.close();
  });

  test("a call the API still refuses after the refresh is tried twice, not more, and says so", async () => {
    const { context, page, seen } = await openSignedIn(site, "alice");
    await send(page, "a chat the server will not show");
    await repliesDone(page, 1);
    const chat = sessionOf(page);
    await page.getByRole("button", { name: "New chat" }).click();
    await page.waitForFunction(() => location.hash === "");
    const messages = `/api/sessions/${chat}/messages`;
    const refused = await refuseToken(page, site, { path: messages });
    const before = refreshes(seen);
    await page.evaluate((id) => {
      location.hash = id;
    }, chat);
    await page.locator("#error-text").waitFor();
    assert.match(await page.locator("#error-text").innerText(), /did not accept your sign-in/);
    assert.deepEqual(refused, [messages, messages]);
    assert.deepEqual(
      answers(seen, messages).map(([status]) => status),
      [401, 401],
    );
    assert.equal(refreshes(seen) - before, 1, JSON.stringify(seen.tokenRequests));
    // The sign-in itself is good: still signed in.
    assert.equal(await page.evaluate(() => document.documentElement.dataset.auth), "signed-in");
    await context.close();
  });

  test("a message whose refresh is refused goes with the person to sign in, and comes back in the box", async () => {
    const { context, page, seen, auth } = await openSignedIn(site, "alice");
    await send(page, "the first message");
    await repliesDone(page, 1);
    const chat = sessionOf(page);
    // The refresh token dies (revoked elsewhere, here spoiled); the API refuses the next call.
    await page.evaluate(() => {
      const tokens = JSON.parse(sessionStorage.getItem("chatbot.auth.tokens"));
      tokens.refresh_token = "revoked";
      sessionStorage.setItem("chatbot.auth.tokens", JSON.stringify(tokens));
    });
    await page.reload();
    await page.waitForSelector("#session-list[data-source=server]", { state: "attached" });
    await refuseToken(page, site, { path: "/api/chat" });
    const codes = () => seen.tokenRequests.filter((grant) => grant === "authorization_code").length;
    const signIns = codes();
    const visited = [];
    page.on("request", (request) => {
      if (request.isNavigationRequest()) visited.push(request.url());
    });
    await send(page, "a message I do not want to lose");
    // To the provider and back: its session is alive, so it asks nothing.
    await until(() => codes() === signIns + 1, "a new sign-in");
    await page.waitForSelector("html[data-auth=signed-in]");
    assert.ok(visited.some((url) => url.startsWith(auth.authorize_url)), JSON.stringify(visited));
    assert.equal(await page.locator("#message").inputValue(), "a message I do not want to lose");
    assert.equal(sessionOf(page), chat, "back in the same chat");
    await page.waitForFunction(() => document.querySelectorAll(".turn").length === 2);
    assert.deepEqual(seen.errors, []);
    await context.close();
  });
});
