// Sign-in for an environment in `users` mode (docs/api.md, "Sign-in"): OAuth 2.0 authorization
// code with PKCE against the issuer `GET /api/models` names (Amazon Cognito's managed login, or
// the local OpenID provider of `cargo xtask dev`), the access token sent as a bearer token on
// every API call, refreshed before it expires and when the API answers 401.
//
// Tokens live in this tab's sessionStorage (SECURITY.md, "The page"): they survive a reload
// and the round trip to the sign-in page, never reach another tab or outlive the tab.

const TOKENS_KEY = "chatbot.auth.tokens";
const PENDING_KEY = "chatbot.auth.pending";
/// A token is refreshed when this share of its lifetime is left (at most a minute before).
const REFRESH_SHARE = 0.25;
const REFRESH_MAX_MS = 60_000;

/// Raised when no valid sign-in is left: the caller sends the person to sign in.
export class SignInRequired extends Error {
  constructor(message = "Your sign-in has ended.") {
    super(message);
    this.name = "SignInRequired";
  }
}

/// The sign-in of one tab against one issuer. `config` is `auth` of `GET /api/models`.
export class Auth {
  constructor(config) {
    this.config = config;
    this.tokens = readJson(TOKENS_KEY);
    if (this.tokens && this.tokens.client_id !== config.client_id) this.tokens = null;
    this.refreshing = null;
    /// The access token the API last answered 401 to.
    this.refused = null;
    this.timer = null;
    if (this.tokens) this.schedule();
    /// Called when the sign-in ends by itself (a refresh refused): the page shows it.
    this.onEnded = () => {};
  }

  get signedIn() {
    return Boolean(this.tokens?.access_token);
  }

  /// Who is signed in, from the ID token: a name to show.
  get userName() {
    const claims = this.tokens?.claims ?? {};
    return claims.name || claims.preferred_username || claims.email || claims["cognito:username"] || claims.sub || "";
  }

  /// Where the issuer sends the browser back: the page itself.
  get redirectUri() {
    return `${location.origin}/`;
  }

  /// Sends the browser to the issuer's sign-in page; `keep` (the chat open, a draft) comes
  /// back with the person.
  async signIn(keep = {}) {
    const verifier = randomString(32);
    const pending = { state: randomString(16), nonce: randomString(16), verifier, keep };
    writeJson(PENDING_KEY, pending);
    const url = new URL(this.config.authorize_url);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: this.config.client_id,
      redirect_uri: this.redirectUri,
      scope: (this.config.scopes ?? ["openid", "email", "profile"]).join(" "),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await s256(verifier),
      code_challenge_method: "S256",
    });
    location.assign(url.href);
    // The page is leaving; nothing after this should run.
    return new Promise(() => {});
  }

  /// Finishes a sign-in when the issuer sent the browser back here (`?code=...&state=...`, or
  /// `?error=...`): checks the state, trades the code for tokens, checks the ID token's nonce,
  /// issuer and audience, and takes the query off the address. Resolves to what `signIn` was
  /// asked to keep, or null when this load is not a return from the issuer.
  async completeSignIn() {
    const query = new URLSearchParams(location.search);
    if (!query.has("state") || !(query.has("code") || query.has("error"))) return null;
    const pending = readJson(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    history.replaceState(null, "", `${location.pathname}${pending?.keep?.hash ?? ""}`);
    const keep = pending?.keep ?? {};
    if (!pending || query.get("state") !== pending.state) {
      throw Object.assign(new Error("The sign-in answer did not match a sign-in started here. Sign in again."), { keep });
    }
    if (query.has("error")) {
      const said = query.get("error_description") || query.get("error");
      throw Object.assign(new Error(`Sign-in did not finish (${said}). Sign in again.`), { keep });
    }
    // RFC 9207: an issuer that names itself must be the one this page trusts.
    if (query.has("iss") && query.get("iss") !== this.config.issuer) {
      throw Object.assign(new Error("The sign-in answer came from another issuer. Sign in again."), { keep });
    }
    const body = await this.tokenRequest({
      grant_type: "authorization_code",
      code: query.get("code"),
      redirect_uri: this.redirectUri,
      code_verifier: pending.verifier,
    });
    const claims = this.checkIdToken(body.id_token, pending.nonce);
    this.store(body, claims);
    return keep;
  }

  /// A valid access token, refreshed first when it is about to expire. While the API's 401
  /// is being answered with a refresh, a call waits for it rather than send the refused token;
  /// during a refresh ahead of expiry, the token it replaces is still good.
  async accessToken() {
    if (this.refreshing && this.tokens?.access_token === this.refused) await this.refreshing.catch(() => {});
    if (!this.tokens) throw new SignInRequired("You are not signed in.");
    if (Date.now() < this.tokens.refresh_at) return this.tokens.access_token;
    await this.refresh();
    return this.tokens.access_token;
  }

  /// A new access token from the refresh token, one request at a time; throws
  /// `SignInRequired` when the issuer refuses it (the sign-in ended). `refused` is the access
  /// token the API answered 401 to: when it has been replaced since (calls refused together,
  /// whose answers came before and after a refresh), that refresh is enough and none is made.
  refresh(refused = null) {
    if (refused && this.tokens && this.tokens.access_token !== refused) {
      return Promise.resolve();
    }
    if (refused) this.refused = refused;
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  async refreshNow() {
    const tokens = this.tokens;
    if (!tokens?.refresh_token) {
      this.end();
      throw new SignInRequired();
    }
    let body;
    try {
      body = await this.tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    } catch (error) {
      // A refused grant ends the sign-in; a network failure leaves it for the next try.
      if (error instanceof SignInRequired) this.end();
      throw error;
    }
    const claims = body.id_token ? this.decodeClaims(body.id_token) : tokens.claims;
    this.store({ ...body, refresh_token: body.refresh_token ?? tokens.refresh_token, id_token: body.id_token ?? tokens.id_token }, claims);
  }

  /// Forgets the tokens and sends the browser to the issuer's sign-out, which comes back here.
  signOut() {
    const idToken = this.tokens?.id_token;
    this.forget();
    const url = new URL(this.config.logout_url);
    const back = this.redirectUri;
    const params = {
      client_id: this.config.client_id,
      // OpenID Connect RP-initiated logout's name, and Amazon Cognito's.
      post_logout_redirect_uri: back,
      logout_uri: back,
    };
    if (idToken) params.id_token_hint = idToken;
    url.search = new URLSearchParams(params);
    location.assign(url.href);
  }

  forget() {
    clearTimeout(this.timer);
    this.tokens = null;
    sessionStorage.removeItem(TOKENS_KEY);
  }

  end() {
    if (!this.tokens) return;
    this.forget();
    this.onEnded();
  }

  async tokenRequest(params) {
    let response;
    try {
      response = await fetch(this.config.token_url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: new URLSearchParams({ client_id: this.config.client_id, ...params }),
        credentials: "omit",
      });
    } catch {
      throw new Error("Cannot reach the sign-in service. Check your connection, then try again.");
    }
    let body = {};
    try {
      body = await response.json();
    } catch {
      // Not JSON: the status decides.
    }
    if (response.ok && typeof body.access_token === "string") return body;
    if (body.error === "invalid_grant" || response.status === 400 || response.status === 401) {
      throw new SignInRequired();
    }
    throw new Error(`The sign-in service failed (HTTP ${response.status}). Try again in a moment.`);
  }

  /// The ID token's claims after the checks a page can make: issuer, audience, nonce and
  /// expiry. It came straight from the token endpoint over HTTPS, which OpenID Connect accepts
  /// in place of checking its signature; the API checks the access token's signature.
  checkIdToken(idToken, nonce) {
    const claims = this.decodeClaims(idToken);
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const problem =
      claims.iss !== this.config.issuer
        ? "its issuer"
        : !audience.includes(this.config.client_id)
          ? "its audience"
          : claims.nonce !== nonce
            ? "its nonce"
            : typeof claims.exp !== "number" || claims.exp * 1000 < Date.now() - 60_000
              ? "its expiry"
              : null;
    if (problem) throw new Error(`The sign-in answer failed a check (${problem}). Sign in again.`);
    return claims;
  }

  decodeClaims(jwt) {
    try {
      const payload = String(jwt).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
      const claims = JSON.parse(json);
      if (claims && typeof claims === "object") return claims;
    } catch {
      // Falls through to the error below.
    }
    throw new Error("The sign-in service sent a token this page cannot read. Sign in again.");
  }

  store(body, claims) {
    const lifetime = Math.max(1, Number(body.expires_in) || 300) * 1000;
    const now = Date.now();
    this.tokens = {
      client_id: this.config.client_id,
      access_token: body.access_token,
      refresh_token: body.refresh_token ?? null,
      id_token: body.id_token ?? null,
      claims: { name: claims.name, preferred_username: claims.preferred_username, email: claims.email, "cognito:username": claims["cognito:username"], sub: claims.sub },
      expires_at: now + lifetime,
      refresh_at: now + lifetime - Math.min(REFRESH_MAX_MS, lifetime * REFRESH_SHARE),
    };
    writeJson(TOKENS_KEY, this.tokens);
    this.schedule();
  }

  /// Refreshes ahead of expiry, so a call rarely waits for it.
  schedule() {
    clearTimeout(this.timer);
    if (!this.tokens) return;
    this.timer = setTimeout(
      () => this.refresh().catch(() => {}),
      Math.max(0, this.tokens.refresh_at - Date.now()),
    );
  }
}

function randomString(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(text) {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function readJson(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}

function writeJson(key, value) {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage disabled: the sign-in lasts until the page closes.
  }
}
