// The chat page: talks to the HTTP API of the chat service (see DESIGN.md) and nothing else.

import { MarkdownStream, renderMarkdown } from "./markdown.js";

const SESSIONS_KEY = "chatbot.sessions";
const MODEL_KEY = "chatbot.model";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const $ = (id) => document.getElementById(id);
const ui = {
  app: $("app"),
  sidebar: $("sidebar"),
  sidebarToggle: $("sidebar-toggle"),
  sidebarClose: $("sidebar-close"),
  backdrop: $("backdrop"),
  sessionList: $("session-list"),
  noSessions: $("no-sessions"),
  modelPicker: $("model-picker"),
  model: $("model"),
  exportMenu: $("export-menu"),
  exportMarkdown: $("export-markdown"),
  exportJson: $("export-json"),
  newChat: $("new-chat"),
  demoBanner: $("demo-banner"),
  offlineBanner: $("offline-banner"),
  messages: $("messages"),
  emptyState: $("empty-state"),
  errorPanel: $("error-panel"),
  errorText: $("error-text"),
  retry: $("retry"),
  dismissError: $("dismiss-error"),
  composer: $("composer"),
  input: $("message"),
  send: $("send"),
  stop: $("stop"),
  announcer: $("announcer"),
};

const state = {
  sessionId: null,
  turns: [],
  models: [],
  defaultModel: null,
  streaming: null,
  retryAction: null,
  countdown: null,
  loadToken: 0,
};

// ---------------------------------------------------------------------------------------------
// Errors a person understands

class ChatError extends Error {
  constructor(kind, message, { code = "", retryAfter = null, status = 0, hint = "" } = {}) {
    super(message);
    this.kind = kind;
    this.hint = hint;
    this.code = code;
    this.retryAfter = retryAfter;
    this.status = status;
  }
}

/// The error a failed API response means, read from its status, `Retry-After` and JSON body.
async function responseError(response) {
  let code = "";
  let serverMessage = "";
  try {
    const body = await response.json();
    code = body?.error?.code ?? "";
    serverMessage = body?.error?.message ?? "";
  } catch {
    // Not JSON (a proxy's error page, say): the status alone decides.
  }
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  return classify(response.status, code, serverMessage, retryAfter);
}

function classify(status, code, serverMessage, retryAfter = null) {
  const options = { code, retryAfter, status };
  const error = (kind, message, hint = "") => new ChatError(kind, message, { ...options, hint });
  if (code === "rate_limited" || (status === 429 && !code.startsWith("model"))) {
    return error("rate_limited", "You are sending messages faster than this chatbot allows.");
  }
  if (code === "budget_exhausted") {
    return error("budget_exhausted", "This chatbot has used up its budget for today. It will answer again after midnight UTC.");
  }
  if (code === "model_throttled") {
    return error("model_unavailable", "The model is busy right now.");
  }
  if (code === "store_unavailable") {
    return error("server", "The chat history is unavailable right now.", "Try again shortly.");
  }
  if (code === "model_timeout" || status === 504) {
    return error("model_unavailable", "The model took too long to answer.", "Try again in a moment.");
  }
  if (code.startsWith("model") || status === 502 || status === 503) {
    return error("model_unavailable", "The model is not available right now.", "Try again in a moment.");
  }
  if (status === 413 || code === "payload_too_large") {
    return error("invalid", "This message is too long to send. Shorten it and try again.");
  }
  if (status === 404 || code === "not_found") {
    return error("not_found", "This chat is no longer on the server. Start a new chat to go on.");
  }
  if (status >= 400 && status < 500) {
    return error("invalid", serverMessage ? sentence(serverMessage) : `The server refused this message (HTTP ${status}).`);
  }
  if (serverMessage) return error("server", `The server ran into a problem: ${serverMessage}`);
  return error("server", status ? `The server ran into a problem (HTTP ${status}).` : "The server ran into a problem.");
}

function sentence(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function showError(error, retryAction) {
  stopCountdown();
  state.retryAction = retryAction;
  ui.errorPanel.dataset.kind = error.kind;
  ui.errorPanel.hidden = false;
  ui.retry.hidden = !retryAction;
  ui.retry.disabled = false;
  if (error.retryAfter) {
    let left = error.retryAfter;
    const tick = () => {
      if (left > 0) {
        ui.errorText.textContent = `${error.message} You can try again in ${left} s.`;
        ui.retry.disabled = true;
        ui.retry.textContent = `Retry in ${left} s`;
      } else {
        stopCountdown();
        ui.errorText.textContent = `${error.message} You can try again now.`;
        ui.retry.disabled = false;
        ui.retry.textContent = "Retry";
      }
      left -= 1;
    };
    tick();
    state.countdown = setInterval(tick, 1000);
  } else {
    ui.errorText.textContent = error.hint ? `${error.message} ${error.hint}` : error.message;
    ui.retry.textContent = "Retry";
  }
}

function hideError() {
  stopCountdown();
  ui.errorPanel.hidden = true;
  ui.errorText.textContent = "";
  state.retryAction = null;
}

function stopCountdown() {
  if (state.countdown) clearInterval(state.countdown);
  state.countdown = null;
}

// ---------------------------------------------------------------------------------------------
// Sessions kept in this browser

function loadSessions() {
  try {
    const list = JSON.parse(localStorage.getItem(SESSIONS_KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((s) => s && UUID.test(s.id)) : [];
  } catch {
    return [];
  }
}

function saveSessions(list) {
  try {
    localStorage.setItem(SESSIONS_KEY, JSON.stringify(list));
  } catch {
    // Storage full or disabled: the list lives until the page closes.
  }
}

function upsertSession(id, fields) {
  const list = loadSessions();
  const now = new Date().toISOString();
  const existing = list.find((s) => s.id === id);
  if (existing) Object.assign(existing, fields, { updated_at: fields.updated_at ?? now });
  else list.push({ id, title: "Untitled chat", created_at: now, updated_at: now, ...fields });
  saveSessions(list);
  renderSessions();
}

function removeSession(id) {
  saveSessions(loadSessions().filter((s) => s.id !== id));
  renderSessions();
}

function titleFrom(text) {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || "Untitled chat";
}

function renderSessions() {
  const list = loadSessions().sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  ui.sessionList.replaceChildren(...list.map(sessionItem));
  ui.noSessions.hidden = list.length > 0;
}

function sessionItem(session) {
  const item = document.createElement("li");
  item.className = "session";
  item.dataset.id = session.id;
  if (session.id === state.sessionId) item.classList.add("current");

  const open = document.createElement("a");
  open.className = "session-open";
  open.href = `#${session.id}`;
  open.textContent = session.title;
  if (session.id === state.sessionId) open.setAttribute("aria-current", "page");
  const when = document.createElement("span");
  when.className = "session-when";
  when.textContent = formatWhen(session.updated_at);
  open.append(when);
  open.addEventListener("click", () => closeSidebar());

  const actions = document.createElement("div");
  actions.className = "session-actions";
  const rename = smallButton("Rename", `Rename chat “${session.title}”`);
  rename.addEventListener("click", () => startRename(item, session));
  const remove = smallButton("Delete", `Delete chat “${session.title}”`);
  remove.addEventListener("click", () => confirmDelete(item, session));
  actions.append(rename, remove);
  item.append(open, actions);
  return item;
}

function smallButton(text, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link-button";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  return button;
}

function startRename(item, session) {
  const form = document.createElement("form");
  form.className = "rename-form";
  const label = document.createElement("label");
  label.className = "visually-hidden";
  label.textContent = "New name";
  const input = document.createElement("input");
  input.type = "text";
  input.value = session.title;
  input.maxLength = 120;
  label.htmlFor = input.id = `rename-${session.id}`;
  const save = smallButton("Save", "Save the new name");
  save.type = "submit";
  const cancel = smallButton("Cancel", "Keep the old name");
  form.append(label, input, save, cancel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const title = input.value.trim();
    if (title) upsertSession(session.id, { title, updated_at: session.updated_at });
    else renderSessions();
    focusSession(session.id, ".session-open");
  });
  cancel.addEventListener("click", () => {
    renderSessions();
    focusSession(session.id, ".session-open");
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      cancel.click();
    }
  });
  item.replaceChildren(form);
  input.focus();
  input.select();
}

function confirmDelete(item, session) {
  const box = document.createElement("div");
  box.className = "confirm";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "Confirm delete");
  const question = document.createElement("span");
  question.textContent = "Delete this chat for good?";
  const yes = smallButton("Delete", `Yes, delete chat “${session.title}”`);
  yes.classList.add("danger");
  const no = smallButton("Cancel", "Keep this chat");
  box.append(question, yes, no);
  no.addEventListener("click", () => {
    renderSessions();
    focusSession(session.id, ".session-open");
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      const response = await fetch(`/api/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
      if (!response.ok && response.status !== 404) throw await responseError(response);
    } catch (error) {
      renderSessions();
      showError(asChatError(error), null);
      return;
    }
    removeSession(session.id);
    announce("Chat deleted");
    if (session.id === state.sessionId) startNewChat();
    else ui.sessionList.querySelector(".session-open")?.focus();
  });
  item.querySelector(".session-actions")?.replaceWith(box);
  no.focus();
}

function focusSession(id, selector) {
  ui.sessionList.querySelector(`[data-id="${id}"] ${selector}`)?.focus();
}

function formatWhen(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { month: "short", day: "numeric" });
}

// ---------------------------------------------------------------------------------------------
// The conversation

function startNewChat() {
  abortStream();
  state.loadToken += 1;
  state.sessionId = null;
  state.turns = [];
  if (location.hash) history.pushState(null, "", location.pathname + location.search);
  renderConversation();
  renderSessions();
  hideError();
  closeSidebar();
  ui.input.focus();
}

async function openSession(id) {
  abortStream();
  hideError();
  const token = ++state.loadToken;
  state.sessionId = id;
  state.turns = [];
  renderConversation();
  renderSessions();
  ui.messages.setAttribute("aria-busy", "true");
  const loading = document.createElement("p");
  loading.className = "loading";
  loading.textContent = "Loading this chat…";
  ui.messages.append(loading);
  try {
    const response = await fetch(`/api/sessions/${encodeURIComponent(id)}/messages`);
    if (!response.ok) throw await responseError(response);
    const body = await response.json();
    if (token !== state.loadToken) return;
    state.turns = (body.messages ?? []).map((m) => ({
      role: m.role === "user" ? "user" : "assistant",
      content: String(m.content ?? ""),
      created_at: m.created_at ?? null,
      model: m.model ?? null,
      blocked: m.blocked === "input" || m.blocked === "output" ? m.blocked : null,
      note: m.blocked ? BLOCKED_NOTE : m.incomplete ? "Incomplete reply" : null,
    }));
    const known = loadSessions().find((s) => s.id === id);
    const firstUser = state.turns.find((t) => t.role === "user");
    if (!known) upsertSession(id, { title: firstUser ? titleFrom(firstUser.content) : "Untitled chat" });
    renderConversation();
    renderSessions();
  } catch (error) {
    if (token !== state.loadToken) return;
    renderConversation();
    const chatError = asChatError(error);
    showError(chatError, chatError.kind === "not_found" ? null : () => openSession(id));
  } finally {
    if (token === state.loadToken) ui.messages.removeAttribute("aria-busy");
  }
}

function renderConversation() {
  ui.messages.replaceChildren(ui.emptyState);
  ui.emptyState.hidden = state.turns.length > 0;
  for (const turn of state.turns) ui.messages.append(turnElement(turn));
  scrollToEnd(true);
}

function turnElement(turn) {
  const article = document.createElement("article");
  article.className = `turn ${turn.role}`;
  if (turn.blocked) article.classList.add("blocked");
  const heading = document.createElement("h3");
  heading.className = "visually-hidden";
  heading.textContent = turn.role === "user" ? "You said:" : "The model replied:";
  const body = document.createElement("div");
  body.className = "turn-body";
  article.append(heading, body);
  turn.el = article;
  turn.body = body;
  // A streaming reply renders as it arrives: finished blocks once, the last one again as it grows.
  if (turn.role === "assistant" && turn.streaming) turn.view = new MarkdownStream(body);
  if (turn.role === "assistant") {
    const footer = document.createElement("div");
    footer.className = "turn-footer";
    article.append(footer);
    turn.footer = footer;
  }
  paintTurn(turn);
  return article;
}

function paintTurn(turn) {
  turn.el?.classList.toggle("blocked", Boolean(turn.blocked));
  if (turn.role === "user") {
    // The server keeps no text of a message its content filter blocked.
    turn.body.textContent = turn.blocked === "input" && !turn.content ? WITHHELD : turn.content;
    return;
  }
  if (turn.streaming && !turn.content) {
    if (!turn.body.querySelector(".typing")) {
      const dots = document.createElement("span");
      dots.className = "typing";
      dots.setAttribute("aria-label", "The model is writing");
      dots.append(document.createElement("span"), document.createElement("span"), document.createElement("span"));
      turn.body.append(dots);
    }
  } else {
    turn.body.querySelector(":scope > .typing")?.remove();
    if (!turn.view) turn.body.replaceChildren(renderMarkdown(turn.content));
    else if (turn.streaming) turn.view.render();
    else turn.view.finish();
  }
  paintFooter(turn);
}

function paintFooter(turn) {
  const parts = [];
  if (turn.note) parts.push(chip(turn.note, "note"));
  const modelName = state.models.find((m) => m.id === turn.model)?.name ?? turn.model;
  if (modelName) parts.push(chip(modelName, "model-name"));
  if (turn.usage) {
    const inTokens = turn.usage.input_tokens ?? 0;
    const outTokens = turn.usage.output_tokens ?? 0;
    parts.push(chip(`${inTokens} in · ${outTokens} out tokens`, "usage"));
  }
  if (typeof turn.latency_ms === "number") parts.push(chip(formatLatency(turn.latency_ms), "latency"));
  if (!turn.streaming && turn.content) {
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "link-button copy-reply";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", "Copy this reply");
    parts.push(copy);
  }
  turn.footer.replaceChildren(...parts);
}

function chip(text, className) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  return span;
}

function formatLatency(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function addTurn(turn) {
  state.turns.push(turn);
  ui.emptyState.hidden = true;
  ui.messages.append(turnElement(turn));
  scrollToEnd(true);
  return turn;
}

function removeTurn(turn) {
  state.turns = state.turns.filter((t) => t !== turn);
  turn.el?.remove();
  ui.emptyState.hidden = state.turns.length > 0;
}

function scrollToEnd(force) {
  const box = ui.messages;
  const nearEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  if (force || nearEnd) box.scrollTop = box.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Sending and streaming

async function send(text) {
  if (state.streaming || !text.trim()) return;
  hideError();
  const sessionAtStart = state.sessionId;
  const user = addTurn({ role: "user", content: text, created_at: new Date().toISOString() });
  const reply = addTurn({ role: "assistant", content: "", streaming: true, model: selectedModel() });
  reply.el.setAttribute("aria-busy", "true");
  ui.input.value = "";
  autosize();

  const controller = new AbortController();
  state.streaming = { controller, reply };
  setBusy(true);

  let accepted = false;
  let finished = false;
  let pending = false;
  const repaint = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (reply.el.isConnected) {
        paintTurn(reply);
        scrollToEnd(false);
      }
    });
  };

  try {
    const payload = { message: text };
    if (sessionAtStart) payload.session_id = sessionAtStart;
    const model = selectedModel();
    if (model && state.models.length > 1) payload.model = model;
    let response;
    try {
      response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ChatError("network", "Cannot reach the chat server. Check your connection, then retry.");
    }
    if (!response.ok) throw await responseError(response);

    const type = response.headers.get("Content-Type") ?? "";
    const events = type.includes("text/event-stream") ? sseEvents(response.body) : jsonAsEvents(response);
    for await (const { event, data } of events) {
      let body;
      try {
        body = JSON.parse(data);
      } catch {
        continue;
      }
      if (event === "meta") {
        accepted = true;
        adoptSession(body.session_id, text);
        if (body.model) reply.model = body.model;
        if (body.demo === true) showDemoBanner(true);
        repaint();
      } else if (event === "delta") {
        accepted = true;
        reply.content += body.text ?? "";
        reply.view?.append(body.text ?? "");
        repaint();
      } else if (event === "done") {
        finished = true;
        reply.usage = body.usage ?? null;
        reply.stop_reason = body.stop_reason ?? null;
        reply.latency_ms = typeof body.latency_ms === "number" ? body.latency_ms : null;
        if (body.stop_reason === "max_tokens") reply.note = "Cut off at the length limit";
        applyGuardrail(body, user, reply, text);
      } else if (event === "error") {
        throw classify(0, body.code ?? "", body.message ?? "");
      }
    }
    if (!finished) {
      throw new ChatError("interrupted", "The connection closed before the reply was complete.");
    }
  } catch (error) {
    if (error.name === "AbortError") {
      reply.note = "Stopped";
      announce("Reply stopped");
    } else {
      const chatError = asChatError(error);
      if (!accepted && !reply.content) {
        // The server never took the message: give it back, so nothing typed is lost.
        removeTurn(reply);
        removeTurn(user);
        const typed = ui.input.value;
        ui.input.value = typed.trim() ? `${text}\n\n${typed}` : text;
        autosize();
        showError(chatError, chatError.kind === "budget_exhausted" ? null : () => submitComposer());
      } else {
        reply.note = "Reply interrupted";
        showError(chatError, () => send(text));
      }
    }
  } finally {
    reply.streaming = false;
    reply.el.removeAttribute("aria-busy");
    if (reply.el.isConnected) paintTurn(reply);
    if (state.streaming?.controller === controller) state.streaming = null;
    setBusy(false);
    if (accepted && state.sessionId) upsertSession(state.sessionId, {});
    if (finished) announce(reply.blocked ? `${BLOCKED_NOTE}: ${reply.content}` : "Reply complete");
  }
}

function adoptSession(id, firstMessage) {
  if (!id || !UUID.test(id) || id === state.sessionId) return;
  state.sessionId = id;
  history.replaceState(null, "", `#${id}`);
  upsertSession(id, { title: titleFrom(firstMessage) });
}

/// Server-sent events from a response body: `{event, data}` for each event, comments skipped.
async function* sseEvents(body) {
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
async function* jsonAsEvents(response) {
  const body = await response.json();
  yield { event: "meta", data: JSON.stringify({ session_id: body.session_id, model: body.model }) };
  yield { event: "delta", data: JSON.stringify({ text: body.reply ?? "" }) };
  const blocked = body.guardrail === "blocked_input" || body.guardrail === "blocked_output";
  yield {
    event: "done",
    data: JSON.stringify({
      usage: body.usage,
      stop_reason: body.stop_reason,
      guardrail: body.guardrail,
      message: blocked ? body.reply : undefined,
    }),
  };
}

const BLOCKED_NOTE = "Blocked by the content filter";
const WITHHELD = "This message was blocked by the content filter and is not kept.";

/// What the environment's content filter (a Bedrock guardrail) did to a finished turn, from
/// the `done` event: a blocked prompt or answer shows the filter's message in place of what
/// streamed; a blocked prompt's text goes back to the composer to be reworded.
function applyGuardrail(done, user, reply, text) {
  if (done.guardrail === "masked_output") {
    reply.note = "Some details were masked";
    return;
  }
  const source = { blocked_input: "input", blocked_output: "output" }[done.guardrail];
  if (!source) return;
  reply.blocked = source;
  reply.note = BLOCKED_NOTE;
  if (typeof done.message === "string") {
    // The filter's message replaces what streamed: render it whole, not through the stream view.
    reply.content = done.message;
    reply.view = null;
  }
  if (source === "input") {
    user.blocked = "input";
    user.content = "";
    if (user.el?.isConnected) paintTurn(user);
    // A chat named after the blocked text is renamed: this browser keeps no copy of it either.
    const session = loadSessions().find((s) => s.id === state.sessionId);
    if (session?.title === titleFrom(text)) upsertSession(session.id, { title: "Blocked message" });
    if (!ui.input.value.trim()) {
      ui.input.value = text;
      autosize();
    }
  }
}

function asChatError(error) {
  if (error instanceof ChatError) return error;
  if (error instanceof TypeError) {
    return new ChatError("network", "Cannot reach the chat server. Check your connection, then retry.");
  }
  return new ChatError("server", "Something went wrong. Try again.");
}

function abortStream() {
  state.streaming?.controller.abort();
}

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.app.classList.toggle("busy", busy);
  // Keep focus where it was: the Stop button replaces Send at the same place.
  if (busy && document.activeElement === ui.send) ui.stop.focus();
  if (!busy && document.activeElement === ui.stop) ui.input.focus();
}

function submitComposer() {
  const text = ui.input.value;
  if (!text.trim()) {
    ui.input.focus();
    return;
  }
  send(text);
}

function selectedModel() {
  return ui.model.value || state.defaultModel || null;
}

function announce(text) {
  ui.announcer.textContent = "";
  setTimeout(() => {
    ui.announcer.textContent = text;
  }, 50);
}

// ---------------------------------------------------------------------------------------------
// Models

async function loadModels() {
  try {
    const response = await fetch("/api/models");
    if (!response.ok) return;
    const body = await response.json();
    state.models = Array.isArray(body.models) ? body.models.filter((m) => m && m.id) : [];
    state.defaultModel = body.default ?? state.models[0]?.id ?? null;
    const demo = body.demo === true || state.models.some((m) => m.demo === true);
    showDemoBanner(demo);
    let saved = null;
    try {
      saved = localStorage.getItem(MODEL_KEY);
    } catch {
      saved = null;
    }
    ui.model.replaceChildren(
      ...state.models.map((m) => {
        const option = document.createElement("option");
        option.value = m.id;
        option.textContent = m.name || m.id;
        return option;
      }),
    );
    const chosen = state.models.some((m) => m.id === saved) ? saved : state.defaultModel;
    if (chosen) ui.model.value = chosen;
    ui.modelPicker.hidden = state.models.length <= 1;
    for (const turn of state.turns) if (turn.role === "assistant" && turn.footer) paintFooter(turn);
  } catch {
    // The picker stays hidden and requests use the server's default model.
  }
}

function showDemoBanner(on) {
  ui.demoBanner.hidden = !on;
}

// ---------------------------------------------------------------------------------------------
// Export

function exportConversation(format) {
  ui.exportMenu.open = false;
  if (state.turns.length === 0) {
    showError(new ChatError("invalid", "There is nothing to export yet: send a message first."), null);
    return;
  }
  const session = loadSessions().find((s) => s.id === state.sessionId);
  const title = session?.title ?? titleFrom(state.turns.find((t) => t.role === "user")?.content ?? "");
  const messages = state.turns.map((t) => {
    const m = { role: t.role, content: t.content };
    if (t.created_at) m.created_at = t.created_at;
    if (t.model) m.model = t.model;
    if (t.usage) m.usage = t.usage;
    if (typeof t.latency_ms === "number") m.latency_ms = t.latency_ms;
    if (t.stop_reason) m.stop_reason = t.stop_reason;
    if (t.blocked) m.blocked = t.blocked;
    return m;
  });
  const stamp = new Date().toISOString();
  const base = `chat-${stamp.slice(0, 10)}${state.sessionId ? `-${state.sessionId.slice(0, 8)}` : ""}`;
  if (format === "json") {
    const doc = { session_id: state.sessionId, title, exported_at: stamp, messages };
    download(`${base}.json`, "application/json", `${JSON.stringify(doc, null, 2)}\n`);
  } else {
    const parts = [`# ${title}`, "", `Exported ${stamp}${state.sessionId ? `, session ${state.sessionId}` : ""}.`, ""];
    for (const m of messages) {
      const who = m.role === "user" ? "You" : `Assistant${m.model ? ` (${modelName(m.model)})` : ""}`;
      parts.push(`## ${who}`, "", m.content.trimEnd(), "");
    }
    download(`${base}.md`, "text/markdown", parts.join("\n"));
  }
}

function modelName(id) {
  return state.models.find((m) => m.id === id)?.name ?? id;
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Copy

async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "clipboard-helper";
    document.body.append(area);
    area.select();
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
  }
  const label = button.textContent;
  button.textContent = ok ? "Copied" : "Copy failed";
  announce(ok ? "Copied to the clipboard" : "Could not copy");
  setTimeout(() => {
    if (button.isConnected) button.textContent = label;
  }, 1500);
}

// ---------------------------------------------------------------------------------------------
// Layout

function openSidebar() {
  ui.app.classList.add("sidebar-open");
  ui.sidebarToggle.setAttribute("aria-expanded", "true");
  (ui.sessionList.querySelector(".session-open") ?? ui.sidebarClose).focus();
}

function closeSidebar() {
  if (!ui.app.classList.contains("sidebar-open")) return;
  ui.app.classList.remove("sidebar-open");
  ui.sidebarToggle.setAttribute("aria-expanded", "false");
}

function autosize() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 240)}px`;
}

function routeFromHash() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (UUID.test(id)) {
    if (id !== state.sessionId) openSession(id);
  } else if (state.sessionId || state.turns.length) {
    startNewChat();
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  submitComposer();
});
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey) {
    event.preventDefault();
    if (!state.streaming) submitComposer();
  }
});
ui.input.addEventListener("input", autosize);
ui.stop.addEventListener("click", abortStream);
ui.retry.addEventListener("click", () => {
  const action = state.retryAction;
  if (action) {
    hideError();
    action();
  }
});
ui.dismissError.addEventListener("click", () => {
  hideError();
  ui.input.focus();
});
ui.newChat.addEventListener("click", startNewChat);
ui.model.addEventListener("change", () => {
  try {
    localStorage.setItem(MODEL_KEY, ui.model.value);
  } catch {
    // Not remembered; the choice still holds for this page.
  }
});
ui.exportMarkdown.addEventListener("click", () => exportConversation("markdown"));
ui.exportJson.addEventListener("click", () => exportConversation("json"));
ui.sidebarToggle.addEventListener("click", () =>
  ui.app.classList.contains("sidebar-open") ? closeSidebar() : openSidebar(),
);
ui.sidebarClose.addEventListener("click", () => {
  closeSidebar();
  ui.sidebarToggle.focus();
});
ui.backdrop.addEventListener("click", closeSidebar);
ui.messages.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.classList.contains("copy-code")) {
    const code = button.closest(".code-block")?.querySelector("code");
    if (code) copyText(code.textContent.replace(/\n$/, ""), button);
  } else if (button.classList.contains("copy-reply")) {
    const turn = state.turns.find((t) => t.el === button.closest(".turn"));
    if (turn) copyText(turn.content, button);
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (state.streaming) {
    abortStream();
  } else if (ui.exportMenu.open) {
    ui.exportMenu.open = false;
    ui.exportMenu.querySelector("summary").focus();
  } else if (ui.app.classList.contains("sidebar-open")) {
    closeSidebar();
    ui.sidebarToggle.focus();
  }
});
document.addEventListener("click", (event) => {
  if (ui.exportMenu.open && !ui.exportMenu.contains(event.target)) ui.exportMenu.open = false;
});
window.addEventListener("hashchange", routeFromHash);
window.addEventListener("online", () => {
  ui.offlineBanner.hidden = true;
});
window.addEventListener("offline", () => {
  ui.offlineBanner.hidden = false;
});
window.addEventListener("storage", (event) => {
  if (event.key === SESSIONS_KEY) renderSessions();
});

ui.offlineBanner.hidden = navigator.onLine !== false;
renderSessions();
loadModels();
routeFromHash();
autosize();
document.documentElement.dataset.ready = "true";
