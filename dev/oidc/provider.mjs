// The OpenID provider `cargo xtask dev` starts for an environment with sign-in (`[auth] mode =
// "users"`): the certified `oidc-provider` package on 127.0.0.1, with two test users and one
// public client for the chat page (authorization code with PKCE, refresh tokens kept across
// refreshes, RFC 9068 JWT access tokens carrying `client_id`), standing in for Amazon Cognito's
// managed login.
//
// DEV ONLY. The users' passwords below are published in this repository; the signing key and
// the cookie keys are made at start and every token dies with the process.
//
//   node provider.mjs --page http://127.0.0.1:8080 [--port 0] [--client-id chatbot-local]
//                     [--access-token-ttl 300] [--session-ttl 28800]
//
// Prints `oidc-provider listening on http://127.0.0.1:PORT` once it answers; that URL is the
// issuer. Discovery: ISSUER/.well-known/openid-configuration.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import { parseArgs } from "node:util";

import Provider from "oidc-provider";

/// The test users: DEV-ONLY passwords, written in the README too.
const USERS = {
  alice: { password: "alice-dev-password", name: "Alice Liddell", email: "alice@example.com" },
  bob: { password: "bob-dev-password", name: "Bob Builder", email: "bob@example.com" },
};

const { values: options } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    page: { type: "string", multiple: true },
    "client-id": { type: "string", default: "chatbot-local" },
    "access-token-ttl": { type: "string", default: "300" },
    "session-ttl": { type: "string", default: "28800" },
  },
  strict: true,
});

function fail(message) {
  process.stderr.write(`oidc-provider: ${message}\n`);
  process.exit(2);
}

function seconds(flag) {
  const value = Number(options[flag]);
  if (!Number.isInteger(value) || value < 1) fail(`--${flag} must be a whole number of seconds, at least 1, not "${options[flag]}"`);
  return value;
}

const pages = (options.page ?? []).map((page) => {
  const url = URL.parse(page);
  if (!url || url.protocol !== "http:" || !["127.0.0.1", "localhost"].includes(url.hostname)) {
    fail(`--page must be the chat page's local origin, like http://127.0.0.1:8080, not "${page}"`);
  }
  return url.origin;
});
if (pages.length === 0) fail("--page is required: the chat page's origin, like http://127.0.0.1:8080");
const port = Number(options.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, not "${options.port}"`);
const accessTokenTtl = seconds("access-token-ttl");
// How long a sign-in lasts: the provider's session, and the refresh tokens counted from the
// sign-in (not from their last rotation), so a sign-in really ends.
const sessionTtl = seconds("session-ttl");
const clientId = options["client-id"];

const server = http.createServer();
server.listen(port, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = makeProvider(issuer);
  const callback = provider.callback();
  server.on("request", (req, res) => {
    const interaction = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url, issuer).pathname);
    if (!interaction) return callback(req, res);
    handleInteraction(provider, req, res, interaction[2] ? "login" : "show").catch((error) => {
      process.stderr.write(`oidc-provider: interaction failed: ${error?.stack ?? error}\n`);
      if (!res.headersSent) page(res, 400, "Sign-in failed", `<p>${escape(error?.message ?? "Something went wrong")}. Go back to the chat and sign in again.</p>`);
    });
  });
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
  process.stdout.write(
    `oidc-provider: client ${clientId} for ${pages.join(", ")}; access tokens last ${accessTokenTtl} s, a sign-in ${sessionTtl} s; users ${Object.keys(USERS).join(", ")}\n`,
  );
});
server.on("error", (error) => fail(`cannot listen on 127.0.0.1:${port}: ${error.message}`));

function makeProvider(issuer) {
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const resource = (page) => `${page}/api`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_name: "Chatbot (local)",
        application_type: "web",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: pages.map((p) => `${p}/`),
        post_logout_redirect_uris: pages.map((p) => `${p}/`),
        scope: "openid email profile",
      },
    ],
    jwks: { keys: [{ ...signingKey, kid: `dev-${randomBytes(6).toString("hex")}`, alg: "RS256", use: "sig" }] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username"],
    },
    scopes: ["openid", "email", "profile"],
    async findAccount(_ctx, id) {
      const user = USERS[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: user.name, preferred_username: id, email: user.email, email_verified: true };
        },
      };
    },
    // The user's name in the access token too, as Cognito's `username` claim.
    async extraTokenClaims(_ctx, token) {
      return token.kind === "AccessToken" && USERS[token.accountId] ? { username: token.accountId } : undefined;
    },
    pkce: { required: () => true },
    responseTypes: ["code"],
    // Refresh tokens for the page (a public client), without asking for offline_access: they
    // end with the sign-in.
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed("refresh_token");
    },
    // A refresh answers with new access and ID tokens and keeps the refresh token, as Cognito's
    // token endpoint does (its rotation works only through GetTokensFromRefreshToken, which a
    // page does not call). Were it rotated here, a page reloaded while a refresh was under way
    // would lose the new refresh token with the answer it never read, and its next refresh,
    // with the old one, would end the whole sign-in: a local sign-in that breaks where a
    // deployed one does not.
    rotateRefreshToken: false,
    clientBasedCORS(_ctx, origin) {
      return pages.includes(origin);
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        // The API is the audience of every access token, whether or not the page names it.
        async defaultResource(ctx, client, oneOf) {
          return oneOf ?? resource(pages[0]);
        },
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(_ctx, indicator) {
          if (!pages.some((p) => resource(p) === indicator)) throw new Provider.errors.InvalidTarget();
          return {
            scope: "openid email profile",
            audience: indicator,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: accessTokenTtl,
      Interaction: 600,
      // The sign-in ends as it does with Cognito: the provider's own session first, then the
      // refresh token, so a page that learns its refresh was refused finds the sign-in form
      // again. The refresh token is issued after the session was last saved and lasts a second
      // longer; the grant behind it outlives both, so its end never refuses a refresh early.
      Grant: sessionTtl + 60,
      Session: sessionTtl,
      RefreshToken(_ctx, token) {
        const issued = token.iiat ?? token.iat ?? Math.floor(Date.now() / 1000);
        return Math.max(1, issued + sessionTtl + 1 - Math.floor(Date.now() / 1000));
      },
    },
    renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = pageHtml("Sign-in error", `<p>${escape(out.error)}: ${escape(out.error_description ?? "")}</p><p>Go back to the chat and sign in again.</p>`);
    },
  });
  provider.proxy = false;
  return provider;
}

/// The sign-in form (`GET /interaction/UID`) and its submission (`POST /interaction/UID/login`).
/// A user who is signed in already gets no form: the chat page is a first-party client, so
/// its consent is given at once.
async function handleInteraction(provider, req, res, step) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "consent") {
    const accountId = details.session?.accountId;
    return provider.interactionFinished(req, res, { consent: { grantId: await grantAll(provider, details, accountId) } }, {
      mergeWithLastSubmission: true,
    });
  }
  if (step === "show" || req.method !== "POST") return loginForm(res, details.uid);
  const form = new URLSearchParams(await body(req));
  const username = (form.get("username") ?? "").trim().toLowerCase();
  const user = USERS[username];
  if (!user || form.get("password") !== user.password) {
    return loginForm(res, details.uid, "Wrong username or password.", username);
  }
  const grantId = await grantAll(provider, details, username);
  return provider.interactionFinished(req, res, { login: { accountId: username }, consent: { grantId } }, {
    mergeWithLastSubmission: false,
  });
}

/// A grant of everything the page asked for.
async function grantAll(provider, details, accountId) {
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  const missing = details.prompt.details ?? {};
  const scopes = String(details.params.scope ?? "openid");
  grant.addOIDCScope(missing.missingOIDCScope?.join(" ") ?? scopes);
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, wanted] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, wanted.join(" "));
  }
  return grant.save();
}

function loginForm(res, uid, error = "", username = "") {
  const alert = error ? `<p class="error" role="alert">${escape(error)}</p>` : "";
  page(
    res,
    error ? 401 : 200,
    "Sign in",
    `${alert}
    <form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
      <label for="username">Username</label>
      <input id="username" name="username" value="${escape(username)}" autocapitalize="none" required autofocus>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" required>
      <button type="submit">Sign in</button>
    </form>
    <p class="note">Local sign-in for development: ${Object.keys(USERS).map(escape).join(" or ")}, passwords in the README.</p>`,
  );
}

/// RP-initiated logout signs out at once (like Cognito's `/logout`), with no question.
async function logoutSource(ctx, form) {
  ctx.body = pageHtml(
    "Signing out",
    `${form}<noscript><button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button></noscript>
    <script>
      const form = document.getElementById("op.logoutForm");
      const input = document.createElement("input");
      input.type = "hidden"; input.name = "logout"; input.value = "yes";
      form.append(input); form.submit();
    </script>`,
  );
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = pageHtml("Signed out", "<p>You are signed out. Go back to the chat to sign in again.</p>");
}

function page(res, status, title, content) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(pageHtml(title, content));
}

function pageHtml(title, content) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} – local sign-in</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 22rem; margin: 4rem auto; padding: 0 1rem; }
  label, input, button { display: block; width: 100%; box-sizing: border-box; }
  input { margin: .25rem 0 1rem; padding: .5rem; font: inherit; }
  button { padding: .6rem; font: inherit; cursor: pointer; }
  .error { color: #b00020; } .note { color: #555; font-size: .9em; }
</style></head>
<body><h1>${escape(title)}</h1>${content}</body></html>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function body(req) {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      data += chunk;
      if (data.length > 10_000) req.destroy(new Error("form too large"));
    });
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
