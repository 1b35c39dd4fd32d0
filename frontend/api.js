// What the page knows about the chat API (docs/api.md): its errors, said so a person knows
// what to do, and its answers read as events, streamed or not.

/// A failure, as the page shows it: `message` says what happened and what to do; `retry` says
/// whether sending the same again can help; `saved` names the question the server kept
/// (`{sessionId, messageId}`) when the turn failed after saving it.
export class ChatError extends Error {
  constructor(kind, message, { code = "", retryAfter = null, status = 0, retry = false, saved = null } = {}) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.retryAfter = retryAfter;
    this.status = status;
    this.retry = retry;
    this.saved = saved;
  }
}

/// The error a failed API response means, read from its status, `Retry-After` and JSON body.
export async function responseError(response) {
  let error = {};
  try {
    error = (await response.json())?.error ?? {};
  } catch {
    // Not JSON (a proxy's error page, say): the status alone decides.
  }
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  const chatError = classify(response.status, String(error.code ?? ""), String(error.message ?? ""), retryAfter);
  if (chatError.kind === "quota_exhausted") {
    // Hours away, not a countdown: the time it comes back.
    chatError.message = `${chatError.message} ${backAt(retryAfter ?? (Number.isFinite(error.retry_after) ? error.retry_after : null))}`;
    chatError.retryAfter = null;
  }
  if (typeof error.session_id === "string" && typeof error.user_message_id === "string") {
    chatError.saved = { sessionId: error.session_id, messageId: error.user_message_id };
  }
  return chatError;
}

/// A failure from its HTTP status (0 for an `error` event mid-stream), the API's error code and
/// message, and `Retry-After`.
export function classify(status, code, serverMessage, retryAfter = null) {
  const options = { code, retryAfter, status };
  const error = (kind, message, retry) => new ChatError(kind, message, { ...options, retry });
  const said = serverMessage ? ` (${serverMessage})` : "";
  switch (code) {
    case "rate_limited":
      return error("rate_limited", "You are sending messages faster than this chatbot allows. Your message is kept.", true);
    case "quota_exhausted":
      return error("quota_exhausted", "You have used all your tokens for today.", false);
    case "unauthorized":
      return error("unauthorized", "The chat server did not accept your sign-in. Sign out, sign in again, then retry; if it happens again, tell whoever runs this chatbot.", false);
    case "budget_exhausted":
      return error("budget_exhausted", "This chatbot has used up its budget for today. It will answer again after midnight UTC.", false);
    case "model_throttled":
      return error("model_busy", "The model is busy right now. Your message is kept.", true);
    case "model_unavailable":
      return error("model_unavailable", "The model is not available right now. Try again in a moment.", true);
    case "model_timeout":
      return error("model_unavailable", "The model took too long to answer. Try again, or ask for a shorter answer.", true);
    case "model_error":
      return error("model_failed", "The model failed to answer. Try again.", true);
    case "model_refused":
      return error("refused", `The model refused this request${said}. Rephrase your message or pick another model, then send it again.`, false);
    case "model_not_allowed":
      return error("not_allowed", "This chatbot may not use this model right now. Pick another model, or tell whoever runs this chatbot.", false);
    case "store_unavailable":
      return error("server", "The chat history is unavailable right now. Try again shortly.", true);
    case "payload_too_large":
      return error("invalid", "This message is too long to send. Shorten it, then send it again.", false);
    case "not_found":
      return error("not_found", "This chat is no longer on the server: it was deleted, or it expired.", false);
    case "forbidden":
      return error("forbidden", "The chat server refused this page's request. Reload the page; if it happens again, tell whoever runs this chatbot.", false);
    default:
  }
  if (status === 429) return error("rate_limited", "The chat server is busy. Wait a moment, then try again.", true);
  if (status === 400 || status === 422 || status === 413 || status === 415) {
    const reason = serverMessage ? `: ${serverMessage}` : ` (HTTP ${status})`;
    return error("invalid", `The server refused this message${reason}. Change it, then send it again.`, false);
  }
  if (status === 401 || status === 403) {
    return error("forbidden", "The chat server refused this page's request. Reload the page; if it happens again, tell whoever runs this chatbot.", false);
  }
  if (status === 404) return error("not_found", "This chat is no longer on the server: it was deleted, or it expired.", false);
  if (status >= 400 && status < 500) {
    return error("invalid", `The server refused this request (HTTP ${status}). Reload the page, then try again.`, false);
  }
  const http = status ? ` (HTTP ${status})` : "";
  return error("server", `The chat server ran into a problem${http}. Try again; if it keeps happening, tell whoever runs this chatbot.`, true);
}

/// When a quota that comes back in `seconds` is back, as a person reads it.
export function backAt(seconds) {
  if (!Number.isFinite(seconds)) return "It comes back after midnight UTC.";
  const at = new Date(Date.now() + seconds * 1000);
  const time = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  const wait = minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `You can chat again at ${time} (in ${wait}).`;
}

export function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export function asChatError(error) {
  if (error instanceof ChatError) return error;
  if (error instanceof TypeError) {
    return new ChatError("network", "Cannot reach the chat server. Check your connection, then retry.", { retry: true });
  }
  return new ChatError("server", "Something went wrong. Try again.", { retry: true });
}

/// Server-sent events from a response body: `{event, data}` for each event, comments skipped.
export async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // A lone "\r" at the end may be half of "\r\n": keep it for the next chunk.
      const keep = buffer.endsWith("\r") ? "\r" : "";
      buffer = buffer.slice(0, buffer.length - keep.length).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (event) yield event;
      }
      buffer += keep;
    }
  } finally {
    reader.releaseLock();
  }
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

/// A JSON reply (a server that ignored `Accept`) as the same events a stream would give.
export async function* jsonAsEvents(response) {
  const body = await response.json();
  const event = (name, data) => ({ event: name, data: JSON.stringify(data) });
  yield event("meta", {
    session_id: body.session_id,
    model: body.model,
    message_id: body.message_id,
    user_message: { id: body.user_message_id },
  });
  yield event("delta", { text: body.reply ?? "" });
  const blocked = body.guardrail === "blocked_input" || body.guardrail === "blocked_output";
  yield event("done", {
    usage: body.usage,
    cost: body.cost,
    stop_reason: body.stop_reason,
    latency_ms: body.latency_ms,
    created_at: body.created_at,
    guardrail: body.guardrail,
    message: blocked ? body.reply : undefined,
  });
}

/// Sends `body` as JSON with `method` to `path`; resolves to the response, or throws the
/// `ChatError` a failed one means.
export async function sendJson(method, path, body) {
  const response = await apiFetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await responseError(response);
  return response;
}

/// Signs API calls in `users` mode: `{ token(), refresh(refused) }` (frontend/auth.js), or null
/// for a public chatbot, whose calls go out as they are.
let signer = null;

export function signApiCalls(value) {
  signer = value;
}

/// `fetch` for the API: with the bearer token in `users` mode, and on a 401 once more with a
/// refreshed one (calls refused together share one refresh). A second 401 is the answer. A
/// sign-in that cannot be renewed rejects with `ChatError` kind `signed_out`.
export async function apiFetch(path, init = {}) {
  if (!signer) return fetch(path, init);
  const call = async (token) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return fetch(path, { ...init, headers });
  };
  const token = await signed(() => signer.token());
  const response = await call(token);
  if (response.status !== 401) return response;
  await signed(() => signer.refresh(token));
  return call(await signed(() => signer.token()));
}

async function signed(get) {
  try {
    return await get();
  } catch (error) {
    if (error?.name === "SignInRequired") {
      throw new ChatError("signed_out", "Your sign-in has ended. Sign in again; what you wrote is kept.", { status: 401 });
    }
    throw new ChatError("network", error?.message ?? "Cannot reach the sign-in service. Try again.", { retry: true });
  }
}

/// What the API's `RateLimit` and `RateLimit-Policy` headers say is left (draft-ietf-httpapi-
/// ratelimit-headers, structured-field form): `{turns: {remaining, limit, reset}, tokens: ...}`,
/// each present when both headers name it.
export function readLimits(headers) {
  const left = parseItems(headers.get("RateLimit"));
  const policies = parseItems(headers.get("RateLimit-Policy"));
  const limits = {};
  for (const [name, params] of Object.entries(left)) {
    const policy = policies[name] ?? {};
    if (!Number.isFinite(params.r)) continue;
    limits[name] = {
      remaining: params.r,
      reset: Number.isFinite(params.t) ? params.t : null,
      limit: Number.isFinite(policy.q) ? policy.q : null,
      window: Number.isFinite(policy.w) ? policy.w : null,
    };
  }
  return limits;
}

/// `"turns";r=3;t=20, "tokens";q=100` as `{turns: {r: 3, t: 20}, tokens: {q: 100}}`.
function parseItems(value) {
  const items = {};
  if (!value) return items;
  for (const member of value.split(",")) {
    const [key, ...params] = member.trim().split(";");
    const name = key.trim().replace(/^"(.*)"$/, "$1");
    if (!name) continue;
    items[name] = {};
    for (const param of params) {
      const [k, v] = param.trim().split("=");
      const number = Number(v);
      if (k && Number.isFinite(number)) items[name][k.trim()] = number;
    }
  }
  return items;
}
