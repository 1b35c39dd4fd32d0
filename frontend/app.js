// The chat page: talks to the chat API (docs/api.md) and nothing else.

import {
  ChatError,
  apiFetch,
  asChatError,
  classify,
  jsonAsEvents,
  readLimits,
  responseError,
  sendJson,
  signApiCalls,
  sseEvents,
} from "./api.js";
import { Auth } from "./auth.js";
import { MarkdownStream, renderMarkdown } from "./markdown.js";

const SESSIONS_KEY = "chatbot.sessions";
const MODEL_KEY = "chatbot.model";
/// The sign-in mode the server named on the last load: `users` waits for it before opening a chat.
const AUTH_MODE_KEY = "chatbot.auth-mode";
/// Chats asked of the server at once, and pages of them at most.
const SESSIONS_PAGE = 50;
const SESSIONS_PAGES = 4;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const APP_NAME = "Chatbot";
/// The model id the service reports for its offline demo model (`app/src/model/demo.rs`).
const DEMO_MODEL_ID = "offline-demo";
/// A question longer than this (characters or lines) shows folded, with "Show more".
const FOLD_CHARS = 700;
const FOLD_LINES = 12;
/// Pauses between attempts to save a Stop while the server has not saved the answer yet, ms.
const STOP_RETRIES = [200, 400, 800, 1600, 3200, 6400, 12800];
/// History is drawn newest first: at once up to this many characters of answers (at least the
/// last two turns); each older answer when it comes near the view.
const FIRST_PAINT_CHARS = 12_000;

/// Touch screens: Enter makes a new line (sending is the button's job) and targets are larger.
const touch = window.matchMedia("(pointer: coarse)");
/// The chats list is a drawer over the page.
const drawerLayout = window.matchMedia("(max-width: 820px)");

const $ = (id) => document.getElementById(id);
const ui = {
  app: $("app"),
  topbar: document.querySelector(".topbar"),
  skipLink: document.querySelector(".skip-link"),
  main: $("main"),
  sidebar: $("sidebar"),
  sidebarToggle: $("sidebar-toggle"),
  sidebarClose: $("sidebar-close"),
  backdrop: $("backdrop"),
  searchBox: $("chat-search-box"),
  search: $("chat-search"),
  searchStatus: $("search-status"),
  sessionList: $("session-list"),
  noSessions: $("no-sessions"),
  noMatches: $("no-matches"),
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
  starterPrompts: $("starter-prompts"),
  chatCost: $("chat-cost"),
  errorPanel: $("error-panel"),
  errorText: $("error-text"),
  errorCountdown: $("error-countdown"),
  retry: $("retry"),
  dismissError: $("dismiss-error"),
  composer: $("composer"),
  input: $("message"),
  send: $("send"),
  stop: $("stop"),
  hint: $("composer-hint"),
  charCount: $("char-count"),
  announcer: $("announcer"),
  sidebarNote: document.querySelector(".sidebar-note"),
  account: $("account"),
  userName: $("user-name"),
  signIn: $("sign-in"),
  signOut: $("sign-out"),
  signinBanner: $("signin-banner"),
  signinText: $("signin-text"),
  signinButton: $("signin-button"),
  limits: $("limits"),
};


const state = {
  sessionId: null,
  turns: [],
  models: [],
  defaultModel: null,
  limits: { messageChars: 8_000, requestBytes: 32 * 1024 },
  streaming: null,
  /// What Retry does: `{label, run}`.
  errorAction: null,
  countdown: null,
  /// Sending waits until this time (ms since the epoch) after a rate limit.
  coolingUntil: 0,
  /// A message written while offline, sent when the connection is back.
  queued: null,
  loadToken: 0,
  /// The text of chats loaded in this page, for the search: session id to text.
  loadedText: new Map(),
  /// The sign-in (frontend/auth.js) when the server runs in `users` mode, else null.
  auth: null,
  /// The chat list from the server in `users` mode, newest first.
  remote: [],
};

// ---------------------------------------------------------------------------------------------
// Errors

/// Shows `error` above the composer, with `action` (`{label, run}`) as its button, or none. A
/// wait (`Retry-After`) counts down beside the message, outside the alert, so a screen reader
/// hears the message once; sending waits too.
function showError(error, action = null) {
  if (error.kind === "signed_out" && state.auth) {
    requireSignIn();
    return;
  }
  stopCountdown();
  state.errorAction = action;
  ui.errorPanel.dataset.kind = error.kind;
  ui.errorPanel.hidden = false;
  ui.retry.hidden = !action;
  ui.retry.disabled = false;
  ui.retry.textContent = action?.label ?? "Retry";
  ui.errorText.textContent = error.message;
  ui.errorCountdown.hidden = true;
  ui.dismissError.hidden = false;
  if (error.retryAfter) {
    const until = Date.now() + error.retryAfter * 1000;
    // The rate limit holds every message back, not just this one; the panel stays until then.
    const holdsSending = error.kind === "rate_limited";
    if (holdsSending) state.coolingUntil = until;
    ui.dismissError.hidden = holdsSending;
    ui.retry.disabled = true;
    ui.errorCountdown.hidden = false;
    const say = (text) => {
      if (ui.errorCountdown.textContent !== text) ui.errorCountdown.textContent = text;
    };
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left > 0) {
        say(holdsSending ? `You can send again in ${left} s.` : `You can retry in ${left} s.`);
      } else {
        stopCountdown();
        say(holdsSending ? "You can send again now." : "You can retry now.");
        ui.retry.disabled = false;
        ui.dismissError.hidden = false;
        announce(holdsSending ? "You can send again now." : "You can retry now.");
      }
      updateSendable();
    };
    tick();
    state.countdown = setInterval(tick, 250);
    // Sending comes back on its own, also when the panel was dismissed meanwhile.
    setTimeout(updateSendable, error.retryAfter * 1000 + 50);
  }
}

function hideError() {
  stopCountdown();
  ui.errorPanel.hidden = true;
  ui.errorText.textContent = "";
  ui.errorCountdown.hidden = true;
  state.errorAction = null;
  updateSendable();
}

function stopCountdown() {
  if (state.countdown) clearInterval(state.countdown);
  state.countdown = null;
}

const retryAction = (run) => ({ label: "Retry", run });

// ---------------------------------------------------------------------------------------------
// Chats kept in this browser

function loadSessions() {
  // Signed in, the list is the server's: nothing of it is kept in this browser.
  if (state.auth) return state.remote.map((s) => ({ ...s }));
  try {
    const list = JSON.parse(localStorage.getItem(SESSIONS_KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((s) => s && UUID.test(s.id)) : [];
  } catch {
    return [];
  }
}

function saveSessions(list) {
  if (state.auth) {
    state.remote = list;
    return;
  }
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
  state.loadedText.delete(id);
  renderSessions();
}

function titleFrom(text) {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || "Untitled chat";
}

function currentTitle() {
  return loadSessions().find((s) => s.id === state.sessionId)?.title ?? null;
}

/// The tab's title: the open chat's, then the app's.
function updateTitle() {
  const title = state.sessionId ? currentTitle() : null;
  document.title = title ? `${title} – ${APP_NAME}` : APP_NAME;
}

function renderSessions() {
  const all = loadSessions().sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  const terms = searchTerms(ui.search.value);
  const shown = terms.length ? all.filter((s) => matches(s, terms)) : all;
  ui.sessionList.replaceChildren(...shown.map(sessionItem));
  ui.noSessions.hidden = all.length > 0;
  ui.searchBox.hidden = all.length === 0;
  ui.noMatches.hidden = shown.length > 0 || all.length === 0;
  const status = terms.length ? `${shown.length} of ${all.length} chats match.` : "";
  if (ui.searchStatus.textContent !== status) ui.searchStatus.textContent = status;
  updateTitle();
}

/// Lower case, without accents: "Café" finds "cafe".
function fold(text) {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

function searchTerms(query) {
  return fold(query).split(/\s+/).filter(Boolean);
}

/// Whether every term is in the chat's title or, when it was loaded in this page, its text.
function matches(session, terms) {
  const text = fold(`${session.title}\n${state.loadedText.get(session.id) ?? ""}`);
  return terms.every((term) => text.includes(term));
}

function rememberText() {
  if (state.sessionId) state.loadedText.set(state.sessionId, state.turns.map((t) => t.content).join("\n"));
}

function sessionItem(session) {
  const item = document.createElement("li");
  item.className = "session";
  item.dataset.id = session.id;
  const current = session.id === state.sessionId;
  if (current) item.classList.add("current");

  const open = document.createElement("a");
  open.className = "session-open";
  open.href = `#${session.id}`;
  open.textContent = session.title;
  if (current) open.setAttribute("aria-current", "page");
  const when = document.createElement("span");
  when.className = "session-when";
  when.textContent = formatWhen(session.updated_at);
  open.append(when);
  open.addEventListener("click", () => closeSidebar());

  // Rename and Delete wait behind one button per chat.
  const more = smallButton("", `Options for chat “${session.title}”`);
  more.classList.add("session-more");
  more.setAttribute("aria-expanded", "false");
  const menu = document.createElement("div");
  menu.className = "session-menu";
  menu.id = `menu-${session.id}`;
  menu.hidden = true;
  more.setAttribute("aria-controls", menu.id);
  more.append(dots());
  const rename = smallButton("Rename", `Rename chat “${session.title}”`);
  rename.addEventListener("click", () => startRename(item, session));
  const remove = smallButton("Delete", `Delete chat “${session.title}”`);
  remove.classList.add("danger");
  remove.addEventListener("click", () => confirmDelete(item, session));
  menu.append(rename, remove);
  more.addEventListener("click", () => {
    const opening = menu.hidden;
    closeSessionMenus();
    menu.hidden = !opening;
    more.setAttribute("aria-expanded", String(opening));
    if (opening) rename.focus();
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      closeSessionMenus();
      more.focus();
    }
  });
  item.append(open, more, menu);
  return item;
}

function closeSessionMenus() {
  for (const menu of ui.sessionList.querySelectorAll(".session-menu:not([hidden])")) {
    menu.hidden = true;
    menu.previousElementSibling?.setAttribute("aria-expanded", "false");
  }
}

function dots() {
  const span = document.createElement("span");
  span.className = "dots";
  span.setAttribute("aria-hidden", "true");
  return span;
}

function smallButton(text, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link-button";
  button.textContent = text;
  if (label) button.setAttribute("aria-label", label);
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
    if (title) renameSession(session, title);
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
      const response = await apiFetch(`/api/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
      if (!response.ok && response.status !== 404) throw await responseError(response);
    } catch (error) {
      renderSessions();
      showError(asChatError(error));
      return;
    }
    removeSession(session.id);
    announce("Chat deleted");
    if (session.id === state.sessionId) startNewChat();
    else ui.sessionList.querySelector(".session-open")?.focus();
  });
  item.querySelector(".session-menu")?.remove();
  item.querySelector(".session-more")?.remove();
  item.append(box);
  no.focus();
}

function focusSession(id, selector) {
  ui.sessionList.querySelector(`.session[data-id="${CSS.escape(id)}"] ${selector}`)?.focus();
}

function formatWhen(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

// ---------------------------------------------------------------------------------------------
// The conversation

function startNewChat() {
  abortStream();
  cancelQueued();
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
  cancelQueued();
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
    const response = await apiFetch(`/api/sessions/${encodeURIComponent(id)}/messages`);
    if (!response.ok) throw await responseError(response);
    const body = await response.json();
    if (token !== state.loadToken) return;
    state.turns = (body.messages ?? []).map(turnFromHistory);
    const known = loadSessions().find((s) => s.id === id);
    const firstUser = state.turns.find((t) => t.role === "user");
    if (!known) upsertSession(id, { title: firstUser ? titleFrom(firstUser.content) : "Untitled chat" });
    rememberText();
    renderConversation({ progressive: true });
    renderSessions();
  } catch (error) {
    if (token !== state.loadToken) return;
    const chatError = asChatError(error);
    if (chatError.kind === "not_found") {
      // Gone for good: forget it, and say that what is sent now starts a new chat.
      removeSession(id);
      state.sessionId = null;
      history.replaceState(null, "", location.pathname + location.search);
      renderConversation();
      renderSessions();
      showError(new ChatError("not_found", `${chatError.message} What you send now starts a new chat.`));
    } else {
      renderConversation();
      showError(chatError, retryAction(() => openSession(id)));
    }
  } finally {
    if (token === state.loadToken) ui.messages.removeAttribute("aria-busy");
  }
}

/// A message of `GET /api/sessions/{id}/messages` as a turn.
function turnFromHistory(m) {
  const turn = {
    id: typeof m.id === "string" ? m.id : null,
    role: m.role === "user" ? "user" : "assistant",
    content: String(m.content ?? ""),
    created_at: m.created_at ?? null,
    blocked: m.blocked === "input" || m.blocked === "output" ? m.blocked : null,
  };
  if (turn.role === "assistant") {
    Object.assign(turn, {
      model: m.model ?? null,
      usage: m.usage ?? null,
      cost: m.cost ?? null,
      latency_ms: typeof m.latency_ms === "number" ? m.latency_ms : null,
      stop_reason: m.stop_reason ?? null,
      incomplete: m.incomplete === true,
      feedback: m.feedback === "up" || m.feedback === "down" ? m.feedback : null,
    });
  }
  return turn;
}

/// Draws the turns. History (`progressive`) draws the newest answers at once and each older one
/// when it comes within a screen or two of the view, so a long chat never holds the page up;
/// until drawn, an answer shows as plain text.
function renderConversation({ progressive = false } = {}) {
  drawWhenNear.disconnect();
  ui.messages.replaceChildren(ui.emptyState);
  ui.emptyState.hidden = state.turns.length > 0;
  const deferred = [];
  if (progressive) {
    let budget = FIRST_PAINT_CHARS;
    for (let i = state.turns.length - 1; i >= 0; i -= 1) {
      const turn = state.turns[i];
      if (turn.role !== "assistant") continue;
      const late = i < state.turns.length - 2 && budget <= 0;
      if (late) deferred.push(turn);
      else budget -= turn.content.length;
      turn.deferred = late;
    }
  }
  ui.messages.append(...state.turns.map(turnElement));
  refreshActions();
  renderChatCost();
  scrollToEnd(true);
  for (const turn of deferred) drawWhenNear.observe(turn.el);
  ui.messages.dataset.history = deferred.length ? "drawing" : "drawn";
  // The answers in view are drawn by now, or at the observer's first call, a frame later.
  if (deferred.length) requestAnimationFrame(() => requestAnimationFrame(() => (ui.messages.dataset.history = "drawn")));
}

/// Draws an older answer of a history when it comes within two screens of the view.
const drawWhenNear = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      drawWhenNear.unobserve(entry.target);
      const turn = state.turns.find((t) => t.el === entry.target);
      if (turn?.deferred) {
        turn.deferred = false;
        paintTurn(turn);
      }
    }
  },
  { root: ui.messages, rootMargin: "200% 0px" },
);

function turnElement(turn) {
  const article = document.createElement("article");
  article.className = `turn ${turn.role}`;
  const heading = document.createElement("h2");
  heading.className = "visually-hidden";
  heading.textContent = turn.role === "user" ? "You said:" : "The model replied:";
  const body = document.createElement("div");
  body.className = "turn-body";
  const footer = document.createElement("div");
  footer.className = "turn-footer";
  article.append(heading, body, footer);
  turn.el = article;
  turn.body = body;
  turn.footer = footer;
  // A streaming reply renders as it arrives: finished blocks once, the last one again as it grows.
  if (turn.role === "assistant" && turn.streaming) turn.view = new MarkdownStream(body);
  paintTurn(turn);
  return article;
}

function paintTurn(turn) {
  turn.el?.classList.toggle("blocked", Boolean(turn.blocked));
  if (turn.role === "user") {
    paintQuestion(turn);
  } else if (turn.streaming && !turn.content) {
    if (!turn.body.querySelector(".typing")) {
      const dots = document.createElement("span");
      dots.className = "typing";
      dots.setAttribute("aria-label", "The model is writing");
      dots.append(document.createElement("span"), document.createElement("span"), document.createElement("span"));
      turn.body.append(dots);
    }
  } else if (turn.deferred) {
    turn.body.classList.add("pending-render");
    turn.body.textContent = turn.content;
  } else {
    turn.body.classList.remove("pending-render");
    turn.body.querySelector(":scope > .typing")?.remove();
    if (!turn.view) turn.body.replaceChildren(renderMarkdown(turn.content));
    else if (turn.streaming) turn.view.render();
    else turn.view.finish();
  }
  turn.el.dataset.rendered = String(!turn.deferred);
  paintFooter(turn);
}

/// A question: its text (folded when long), or the content filter's note in its place.
function paintQuestion(turn) {
  // The server keeps no text of a message its content filter blocked.
  turn.body.textContent = turn.blocked === "input" && !turn.content ? WITHHELD : turn.content;
  const long = turn.content.length > FOLD_CHARS || turn.content.split("\n").length > FOLD_LINES;
  turn.body.classList.toggle("foldable", long);
  if (!long) {
    turn.body.classList.remove("folded");
    turn.fold = null;
    return;
  }
  turn.body.id ||= `q-${Math.random().toString(36).slice(2)}`;
  turn.fold ??= true;
  turn.body.classList.toggle("folded", turn.fold);
}

function paintFooter(turn) {
  const parts = [];
  const note = noteOf(turn);
  if (note) parts.push(chip(note, "note"));
  if (turn.role === "user") {
    if (turn.body.classList.contains("foldable")) parts.push(foldButton(turn));
  } else {
    const name = turn.model ? modelName(turn.model) : null;
    if (name) parts.push(chip(name, "model-name"));
    if (turn.usage) {
      const inTokens = turn.usage.input_tokens ?? 0;
      const outTokens = turn.usage.output_tokens ?? 0;
      parts.push(chip(`${turn.usage.estimated ? "≈ " : ""}${inTokens} in · ${outTokens} out tokens`, "usage"));
    }
    if (turn.cost) {
      const cost = chip(formatCost(turn.cost), "cost");
      cost.title = turn.cost.estimated
        ? "What this reply cost, estimated from its length: the model's own count never arrived"
        : "What this reply cost at the model's price";
      parts.push(cost);
    }
    if (typeof turn.latency_ms === "number") parts.push(chip(formatLatency(turn.latency_ms), "latency"));
  }
  const actions = document.createElement("span");
  actions.className = "turn-actions";
  actions.append(...actionsOf(turn));
  if (actions.childElementCount) parts.push(actions);
  turn.footer.replaceChildren(...parts);
}

/// The chip under a turn: how an answer ended, or what happens to a question.
function noteOf(turn) {
  if (turn.role === "user") {
    if (turn.pending) return "Waiting for the connection";
    return turn.unanswered ? "No answer yet" : null;
  }
  if (turn.blocked) return BLOCKED_NOTE;
  if (turn.streaming) return null;
  switch (turn.stop_reason) {
    case "stopped":
      return "Stopped";
    case "max_tokens":
      return "Cut off at the length limit";
    case "error":
      return "Reply interrupted";
    case "guardrail_intervened":
      return "Some details were masked";
    default:
      return turn.incomplete ? "Incomplete reply" : null;
  }
}

/// The buttons under a turn: copy, rate and regenerate an answer; edit or answer a question.
function actionsOf(turn) {
  const busy = Boolean(state.streaming) || Boolean(state.queued);
  const buttons = [];
  if (turn.role === "user") {
    if (!busy && turn.id && !turn.pending) {
      if (turn.unanswered) buttons.push(actionButton("Get an answer", "regenerate", "Get an answer to this message"));
      if (!turn.blocked) buttons.push(actionButton("Edit", "edit-message", "Edit this message"));
    }
    if (turn.pending) buttons.push(actionButton("Cancel", "cancel-queued", "Do not send this message; put it back in the box"));
    return buttons;
  }
  if (turn.streaming) return buttons;
  if (turn.content) buttons.push(actionButton("Copy", "copy-reply", "Copy this reply"));
  if (turn.id && turn.content) buttons.push(rateButton(turn, "up"), rateButton(turn, "down"));
  if (!busy && turn === lastAnswer() && questionOf(turn)?.id) {
    buttons.push(actionButton("Regenerate", "regenerate", "Regenerate this answer"));
  }
  return buttons;
}

function actionButton(text, className, label) {
  const button = smallButton(text, label);
  button.classList.add(className);
  return button;
}

const THUMB = "M2 10h4v11H2zm6 11h9.3a2 2 0 0 0 2-1.6l1.6-7.6A2 2 0 0 0 19 9.4h-5.3l.8-4.3a1.6 1.6 0 0 0-2.9-1.2L8 10z";

function rateButton(turn, rating) {
  const button = smallButton("", rating === "up" ? "Good answer" : "Bad answer");
  button.classList.add("rate", `rate-${rating}`);
  button.setAttribute("aria-pressed", String(turn.feedback === rating));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", THUMB);
  svg.append(path);
  button.append(svg);
  return button;
}

function foldButton(turn) {
  const button = smallButton(turn.fold ? "Show more" : "Show less");
  button.classList.add("fold");
  button.setAttribute("aria-expanded", String(!turn.fold));
  button.setAttribute("aria-controls", turn.body.id);
  return button;
}

function chip(text, className) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  return span;
}

/// A cost from the API (`{micro_usd, usd, estimated}`) as people read it: `$0.002759`.
function formatCost(cost) {
  return `${cost.estimated ? "≈ " : ""}$${cost.usd ?? formatMicroUsd(cost.micro_usd ?? 0)}`;
}

/// Whole micro-dollars as dollars with at least two decimals, without floating point.
function formatMicroUsd(micro) {
  const whole = Math.floor(micro / 1_000_000);
  let fraction = String(micro % 1_000_000).padStart(6, "0");
  while (fraction.length > 2 && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
  return `${whole}.${fraction}`;
}

/// What the replies of this chat cost together, from the costs the server reported.
function chatTotals() {
  const priced = state.turns.filter((t) => t.role === "assistant" && t.cost && Number.isSafeInteger(t.cost.micro_usd));
  const tokens = state.turns.reduce((sum, t) => sum + (t.usage ? (t.usage.input_tokens ?? 0) + (t.usage.output_tokens ?? 0) : 0), 0);
  return {
    replies: priced.length,
    tokens,
    micro_usd: priced.reduce((sum, t) => sum + t.cost.micro_usd, 0),
    estimated: priced.some((t) => t.cost.estimated),
  };
}

function renderChatCost() {
  const totals = chatTotals();
  ui.chatCost.hidden = totals.replies === 0;
  if (ui.chatCost.hidden) return;
  const cost = formatCost({ micro_usd: totals.micro_usd, estimated: totals.estimated });
  ui.chatCost.textContent = `This chat: ${totals.tokens.toLocaleString("en-US")} tokens, ${cost}`;
}

function formatLatency(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const lastAnswer = () => state.turns.findLast((t) => t.role === "assistant") ?? null;

/// The question an answer answers.
function questionOf(answer) {
  const index = state.turns.indexOf(answer);
  for (let i = index - 1; i >= 0; i -= 1) if (state.turns[i].role === "user") return state.turns[i];
  return null;
}

/// Marks a last question without an answer and repaints the footers whose buttons depend on
/// the turns around them.
function refreshActions() {
  const last = state.turns.at(-1);
  for (const turn of state.turns) {
    const unanswered = turn === last && turn.role === "user" && !turn.pending;
    const changed = Boolean(turn.unanswered) !== unanswered;
    turn.unanswered = unanswered;
    if (turn.el && (changed || turn.role === "assistant" || turn.id)) paintFooter(turn);
  }
}

function addTurn(turn) {
  state.turns.push(turn);
  ui.emptyState.hidden = true;
  ui.messages.append(turnElement(turn));
  scrollToEnd(true);
  return turn;
}

function removeTurns(from) {
  const index = state.turns.indexOf(from);
  if (index < 0) return [];
  const removed = state.turns.splice(index);
  for (const turn of removed) turn.el?.remove();
  ui.emptyState.hidden = state.turns.length > 0;
  return removed;
}

function restoreTurns(turns) {
  for (const turn of turns) {
    state.turns.push(turn);
    ui.messages.append(turn.el);
  }
  ui.emptyState.hidden = state.turns.length > 0;
  refreshActions();
}

function nearEnd() {
  const box = ui.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

function scrollToEnd(force) {
  if (force || nearEnd()) ui.messages.scrollTop = ui.messages.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Sending and streaming

/// Sends `text` as a new question, or, with `replaces` (a question on the page), in its place:
/// the server drops that question and what followed it, and so does the page.
async function send(text, { replaces = null } = {}) {
  if (state.streaming || !text.trim()) return;
  const refusal = lengthProblem(text);
  if (refusal) {
    showError(new ChatError("invalid", refusal));
    return;
  }
  if (navigator.onLine === false && !replaces) {
    queueUntilOnline(text);
    return;
  }
  hideError();
  const sessionAtStart = state.sessionId;
  const replaced = replaces ? removeTurns(replaces) : [];
  const user = addTurn({ role: "user", content: text, created_at: null, id: null });
  const reply = addTurn({ role: "assistant", content: "", streaming: true, model: null });
  reply.el.setAttribute("aria-busy", "true");
  if (!replaces) {
    ui.input.value = "";
    inputChanged();
  }

  const controller = new AbortController();
  state.streaming = { controller, reply };
  setBusy(true);
  refreshActions();

  let accepted = false;
  let finished = false;
  let pending = false;
  const repaint = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (reply.el.isConnected) {
        const follow = nearEnd();
        paintTurn(reply);
        if (follow) scrollToEnd(true);
      }
    });
  };

  try {
    const payload = { message: text };
    if (sessionAtStart) payload.session_id = sessionAtStart;
    if (replaces) payload.replaces = replaces.id;
    const model = selectedModel();
    if (model && state.models.length > 1) payload.model = model;
    let response;
    try {
      response = await apiFetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
    } catch (error) {
      // A sign-in that ended, or a sign-in service out of reach, says so itself.
      if (error.name === "AbortError" || error instanceof ChatError) throw error;
      throw new ChatError("network", "Cannot reach the chat server. Check your connection, then retry.", { retry: true });
    }
    showLimits(readLimits(response.headers));
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
        user.id = body.user_message?.id ?? null;
        user.created_at = body.user_message?.created_at ?? null;
        reply.id = body.message_id ?? null;
        if (body.model) reply.model = body.model;
        repaint();
      } else if (event === "delta") {
        accepted = true;
        reply.content += body.text ?? "";
        reply.view?.append(body.text ?? "");
        repaint();
      } else if (event === "done") {
        finished = true;
        adoptDetails(reply, body);
        applyGuardrail(body, user, reply, text);
      } else if (event === "error") {
        adoptDetails(reply, body);
        reply.incomplete = true;
        throw classify(0, body.code ?? "", body.message ?? "");
      }
    }
    if (!finished) {
      reply.incomplete = true;
      reply.stop_reason ??= "disconnected";
      throw new ChatError("interrupted", "The connection closed before the reply was complete.", { retry: true });
    }
  } catch (error) {
    if (error.name === "AbortError") {
      reply.stop_reason = "stopped";
      reply.incomplete = true;
      announce("Reply stopped");
      if (accepted) saveStop(reply);
    } else {
      const chatError = asChatError(error);
      if (!accepted) {
        failedBeforeAnswer(chatError, { text, user, reply, replaces, replaced });
      } else {
        reply.incomplete = true;
        showError(chatError, chatError.retry ? retryAction(() => regenerate(reply)) : null);
      }
    }
  } finally {
    reply.streaming = false;
    reply.el.removeAttribute("aria-busy");
    const follow = nearEnd();
    if (reply.el.isConnected) {
      // Stopped before a word arrived: there is no answer, here or on the server.
      if (reply.stop_reason === "stopped" && !reply.content) removeTurns(reply);
      else paintTurn(reply);
    }
    renderChatCost();
    if (state.streaming?.controller === controller) state.streaming = null;
    setBusy(false);
    refreshActions();
    // The end of the answer, its footer included, stays in view for a reader following it.
    if (follow) scrollToEnd(true);
    if (accepted && state.sessionId) upsertSession(state.sessionId, {});
    if (accepted) syncSessions();
    rememberText();
    if (finished) announce(reply.blocked ? `${BLOCKED_NOTE}: ${reply.content}` : "Reply complete");
  }
}

/// A turn that got no answer at all: when the server kept the question, it stays with the
/// error, and Retry asks for its answer; otherwise the page goes back to how it was (a replaced
/// question and what followed it return) and the text goes back to the box.
function failedBeforeAnswer(error, { text, user, reply, replaces, replaced }) {
  removeTurns(reply);
  if (error.saved) {
    adoptSession(error.saved.sessionId, text);
    user.id = error.saved.messageId;
    refreshActions();
    showError(error, error.retry ? retryAction(() => regenerate(null)) : null);
    return;
  }
  removeTurns(user);
  if (replaces) {
    restoreTurns(replaced);
    if (replaces.content !== text) startEdit(replaces, text);
    showError(error, error.retry ? retryAction(() => send(text, { replaces })) : null);
    return;
  }
  const typed = ui.input.value;
  ui.input.value = typed.trim() ? `${text}\n\n${typed}` : text;
  inputChanged();
  showError(error, error.retry ? retryAction(() => submitComposer()) : null);
}

/// The answer's details from a `done` or `error` event (or a stopped answer as saved).
function adoptDetails(reply, body) {
  if (body.usage) reply.usage = body.usage;
  if (body.cost) reply.cost = body.cost;
  if (typeof body.latency_ms === "number") reply.latency_ms = body.latency_ms;
  if (body.stop_reason) reply.stop_reason = body.stop_reason;
  if (body.created_at) reply.created_at = body.created_at;
}

/// Tells the server where the reader stopped the answer, so it keeps what they saw. The server
/// saves the answer once it notices the reader left: until then it answers 404, and this asks
/// again a little later.
async function saveStop(reply) {
  const session = state.sessionId;
  if (!reply.id || !session || !reply.content) return;
  const path = `/api/sessions/${encodeURIComponent(session)}/messages/${encodeURIComponent(reply.id)}/stop`;
  const chars = [...reply.content].length;
  for (const pause of [0, ...STOP_RETRIES]) {
    if (pause) await new Promise((resolve) => setTimeout(resolve, pause));
    if (!reply.el?.isConnected || state.sessionId !== session) return;
    try {
      const saved = await (await sendJson("POST", path, { chars })).json();
      adoptDetails(reply, saved);
      reply.el.dataset.stopSaved = "true";
      paintFooter(reply);
      return;
    } catch (error) {
      if (!(error instanceof ChatError) || error.kind !== "not_found") return;
    }
  }
}

/// Asks again for the answer to `answer`'s question (the last question when `answer` is null),
/// replacing that question and everything after it.
function regenerate(answer) {
  const question = answer ? questionOf(answer) : state.turns.findLast((t) => t.role === "user");
  if (!question?.id || state.streaming) return;
  send(question.content, { replaces: question });
}

function adoptSession(id, firstMessage) {
  if (!id || !UUID.test(id) || id === state.sessionId) return;
  state.sessionId = id;
  history.replaceState(null, "", `#${id}`);
  upsertSession(id, { title: titleFrom(firstMessage) });
}

const BLOCKED_NOTE = "Blocked by the content filter";
const WITHHELD = "This message was blocked by the content filter and is not kept.";

/// What the environment's content filter (a Bedrock guardrail) did to a finished turn, from
/// the `done` event: a blocked prompt or answer shows the filter's message in place of what
/// streamed; a blocked prompt's text goes back to the composer to be reworded.
function applyGuardrail(done, user, reply, text) {
  const source = { blocked_input: "input", blocked_output: "output" }[done.guardrail];
  if (!source) return;
  reply.blocked = source;
  if (typeof done.message === "string") {
    // The filter's message replaces what streamed: drawn anew, not as the stream's end.
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
      inputChanged();
    }
  }
}

function abortStream() {
  state.streaming?.controller.abort();
}

function setBusy(busy) {
  // Stop takes Send's place: focus on one moves to the other (hiding it would drop the focus
  // to the page), and back to the message box when the answer is done.
  const focused = document.activeElement;
  // A button that started the answer (Regenerate, a suggestion) may be gone with its turn.
  const lost = !focused || focused === document.body || !focused.isConnected;
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.app.classList.toggle("busy", busy);
  if (busy && (focused === ui.send || lost)) ui.stop.focus();
  if (!busy && focused === ui.stop) ui.input.focus();
  updateSendable();
}

function submitComposer() {
  const text = ui.input.value;
  if (!text.trim()) {
    ui.input.focus();
    return;
  }
  if (state.auth && !state.auth.signedIn) {
    requireSignIn();
    return;
  }
  if (Date.now() < state.coolingUntil) return;
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
// The message box

/// Why `text` cannot be sent as it is, or null.
function lengthProblem(text) {
  const chars = [...text].length;
  const max = state.limits.messageChars;
  if (chars > max) {
    return `This message is ${(chars - max).toLocaleString("en")} characters over the limit of ${max.toLocaleString("en")}. Shorten it to send it.`;
  }
  const bytes = new TextEncoder().encode(JSON.stringify({ message: text, session_id: state.sessionId ?? undefined })).length;
  if (bytes > state.limits.requestBytes - 512) return "This message is too large to send. Shorten it to send it.";
  return null;
}

/// Resizes the box, and counts characters once a message nears the limit.
function inputChanged() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 240)}px`;
  const chars = [...ui.input.value].length;
  const max = state.limits.messageChars;
  const near = chars > max * 0.9;
  ui.charCount.hidden = !near;
  ui.composer.classList.toggle("over-limit", chars > max);
  if (near) {
    const count = `${chars.toLocaleString("en")} / ${max.toLocaleString("en")} characters`;
    ui.charCount.textContent = chars > max ? `${count}: ${(chars - max).toLocaleString("en")} too many` : count;
  }
  updateSendable();
}

/// Send is off while a message cannot go: over the limit, or while a rate limit counts down.
function updateSendable() {
  const over = [...ui.input.value].length > state.limits.messageChars;
  const cooling = Date.now() < state.coolingUntil;
  ui.send.disabled = over || cooling;
  ui.input.setAttribute("aria-invalid", String(over));
}

function updateHint() {
  ui.hint.textContent = touch.matches
    ? "Enter starts a new line; send with the Send button."
    : "Enter sends, Shift+Enter starts a new line.";
}

// ---------------------------------------------------------------------------------------------
// Offline

/// Keeps a message written offline on the page, marked, and sends it when the connection is
/// back.
function queueUntilOnline(text) {
  if (state.queued) {
    showError(new ChatError("offline", "You are offline, and one message already waits for the connection. Send this one when the connection is back."));
    return;
  }
  const turn = addTurn({ role: "user", content: text, pending: true, id: null });
  state.queued = { text, turn };
  ui.input.value = "";
  inputChanged();
  refreshActions();
  announce("You are offline. The message will be sent when the connection is back.");
}

function cancelQueued() {
  const queued = state.queued;
  if (!queued) return;
  state.queued = null;
  removeTurns(queued.turn);
  refreshActions();
  const typed = ui.input.value;
  ui.input.value = typed.trim() ? `${queued.text}\n\n${typed}` : queued.text;
  inputChanged();
  ui.input.focus();
}

function backOnline() {
  ui.offlineBanner.hidden = true;
  // What failed for want of a connection is tried again.
  if (ui.errorPanel.dataset.kind === "network" && !ui.errorPanel.hidden) {
    const action = state.errorAction;
    hideError();
    action?.run();
  }
  const queued = state.queued;
  if (!queued) return;
  state.queued = null;
  removeTurns(queued.turn);
  send(queued.text);
}

// ---------------------------------------------------------------------------------------------
// Editing a question

/// Turns a question into a box to edit it; sending it replaces the question and what followed.
function startEdit(turn, text = turn.content) {
  if (state.streaming || turn.editing) return;
  turn.editing = true;
  const form = document.createElement("form");
  form.className = "edit-form";
  const label = document.createElement("label");
  label.className = "visually-hidden";
  label.textContent = "Edit your message";
  const area = document.createElement("textarea");
  area.className = "edit-text";
  area.value = text;
  area.rows = Math.min(12, text.split("\n").length + 1);
  label.htmlFor = area.id = `edit-${Math.random().toString(36).slice(2)}`;
  const actions = document.createElement("div");
  actions.className = "edit-actions";
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "button primary";
  save.textContent = "Send";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "button ghost";
  cancel.textContent = "Cancel";
  actions.append(cancel, save);
  form.append(label, area, actions);
  const stopEditing = () => {
    turn.editing = false;
    form.replaceWith(turn.body, turn.footer);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!area.value.trim() || state.streaming) return;
    stopEditing();
    send(area.value, { replaces: turn });
  });
  cancel.addEventListener("click", () => {
    stopEditing();
    turn.footer.querySelector(".edit-message")?.focus();
  });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      cancel.click();
    } else if (event.key === "Enter" && sendsOnEnter(event)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  turn.body.replaceWith(form);
  turn.footer.remove();
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}

function sendsOnEnter(event) {
  return !touch.matches && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey;
}

// ---------------------------------------------------------------------------------------------
// Ratings

async function rate(turn, rating) {
  if (!turn.id || !state.sessionId) return;
  const before = turn.feedback ?? null;
  const after = before === rating ? null : rating;
  turn.feedback = after;
  paintFooter(turn);
  turn.footer.querySelector(`.rate-${rating}`)?.focus();
  const path = `/api/sessions/${encodeURIComponent(state.sessionId)}/messages/${encodeURIComponent(turn.id)}/feedback`;
  try {
    await sendJson("PUT", path, { rating: after });
    announce(after ? "Thanks for the rating" : "Rating taken back");
  } catch {
    turn.feedback = before;
    paintFooter(turn);
    announce("Could not save the rating");
  }
}

// ---------------------------------------------------------------------------------------------
// Models and the page's settings

/// Reads the server's models, limits and sign-in mode; resolves to the body, or null when the
/// server could not say.
async function loadModels() {
  try {
    const response = await fetch("/api/models");
    if (!response.ok) return null;
    const body = await response.json();
    state.models = Array.isArray(body.models) ? body.models.filter((m) => m && m.id) : [];
    state.defaultModel = body.default ?? state.models[0]?.id ?? null;
    const limits = body.limits ?? {};
    if (Number.isInteger(limits.message_chars)) state.limits.messageChars = limits.message_chars;
    if (Number.isInteger(limits.request_bytes)) state.limits.requestBytes = limits.request_bytes;
    showDemoBanner(body.demo === true);
    renderStarterPrompts(Array.isArray(body.starter_prompts) ? body.starter_prompts : []);
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
    inputChanged();
    for (const turn of state.turns) if (turn.role === "assistant" && turn.footer) paintFooter(turn);
    return body;
  } catch {
    // The picker stays hidden and requests use the server's default model.
    return null;
  }
}

function renderStarterPrompts(prompts) {
  const items = prompts
    .filter((p) => typeof p === "string" && p.trim())
    .map((prompt) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "starter-prompt";
      button.textContent = prompt;
      item.append(button);
      return item;
    });
  ui.starterPrompts.replaceChildren(...items);
  ui.starterPrompts.hidden = items.length === 0;
}

function showDemoBanner(on) {
  ui.demoBanner.hidden = !on;
}

function modelName(id) {
  if (id === DEMO_MODEL_ID) return "Offline demo model";
  return state.models.find((m) => m.id === id)?.name ?? id;
}

// ---------------------------------------------------------------------------------------------
// Export

/// A turn as exported: what history gives for it, and nothing the page alone knows.
function exported(turn) {
  const m = { role: turn.role, content: turn.content };
  if (turn.created_at) m.created_at = turn.created_at;
  if (turn.role === "assistant") {
    if (turn.model) m.model = turn.model;
    if (turn.usage) {
      m.usage = { input_tokens: turn.usage.input_tokens, output_tokens: turn.usage.output_tokens };
      if (turn.usage.estimated) m.usage.estimated = true;
    }
    if (turn.cost) m.cost = turn.cost;
    if (typeof turn.latency_ms === "number") m.latency_ms = turn.latency_ms;
    if (turn.stop_reason) m.stop_reason = turn.stop_reason;
    if (turn.feedback) m.feedback = turn.feedback;
  }
  if (turn.blocked) m.blocked = turn.blocked;
  return m;
}

function exportConversation(format) {
  ui.exportMenu.open = false;
  const turns = state.turns.filter((t) => !t.pending);
  if (turns.length === 0) {
    showError(new ChatError("invalid", "There is nothing to export yet: send a message first."));
    return;
  }
  const title = currentTitle() ?? titleFrom(turns.find((t) => t.role === "user")?.content ?? "");
  const messages = turns.map(exported);
  const stamp = new Date().toISOString();
  const base = `chat-${stamp.slice(0, 10)}${state.sessionId ? `-${state.sessionId.slice(0, 8)}` : ""}`;
  const totals = chatTotals();
  if (format === "json") {
    const doc = { session_id: state.sessionId, title, exported_at: stamp, messages };
    if (totals.replies > 0) {
      doc.total_cost = { micro_usd: totals.micro_usd, usd: formatMicroUsd(totals.micro_usd) };
      if (totals.estimated) doc.total_cost.estimated = true;
    }
    download(`${base}.json`, "application/json", `${JSON.stringify(doc, null, 2)}\n`);
  } else {
    const parts = [`# ${title}`, "", `Exported ${stamp}${state.sessionId ? `, session ${state.sessionId}` : ""}.`, ""];
    for (const m of messages) {
      const who = m.role === "user" ? "You" : `Assistant${m.model ? ` (${modelName(m.model)})` : ""}`;
      parts.push(`## ${who}`, "", m.content.trimEnd(), "");
      const spent = [];
      if (m.usage) spent.push(`${m.usage.input_tokens ?? 0} in · ${m.usage.output_tokens ?? 0} out tokens`);
      if (m.cost) spent.push(formatCost(m.cost));
      if (spent.length) parts.push(`*${spent.join(" · ")}*`, "");
    }
    if (totals.replies > 0) {
      parts.push(`*This chat: ${totals.tokens} tokens, ${formatCost({ micro_usd: totals.micro_usd, estimated: totals.estimated })}*`, "");
    }
    download(`${base}.md`, "text/markdown", parts.join("\n"));
  }
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
  trapInDrawer(true);
  (ui.sessionList.querySelector(".session-open") ?? ui.sidebarClose).focus();
}

function closeSidebar() {
  if (!ui.app.classList.contains("sidebar-open")) return;
  ui.app.classList.remove("sidebar-open");
  ui.sidebarToggle.setAttribute("aria-expanded", "false");
  trapInDrawer(false);
  closeSessionMenus();
}

/// While the drawer is open over the page, the rest of the page is inert: focus and screen
/// readers stay in the drawer.
function trapInDrawer(open) {
  const modal = open && drawerLayout.matches;
  for (const element of [ui.topbar, ui.main, ui.skipLink]) element.inert = modal;
  ui.sidebar.classList.toggle("modal", modal);
}

/// Tab from the drawer's last control goes to its first, Shift+Tab from its first to its last.
function keepFocusInDrawer(event) {
  if (!ui.sidebar.classList.contains("modal")) return;
  const focusable = [...ui.sidebar.querySelectorAll("a[href], button, input, select, textarea, [tabindex]")].filter(
    (el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0,
  );
  if (!focusable.length) return;
  const first = focusable[0];
  const last = focusable.at(-1);
  const inside = ui.sidebar.contains(document.activeElement);
  if (event.shiftKey && (document.activeElement === first || !inside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
    event.preventDefault();
    first.focus();
  }
}

function routeFromHash() {
  // Signed out (or not yet known to be signed in), no chat of the server can be read.
  if (state.waitingForAuth || (state.auth && !state.auth.signedIn)) return;
  const id = decodeURIComponent(location.hash.slice(1));
  if (UUID.test(id)) {
    if (id !== state.sessionId) openSession(id);
  } else if (state.sessionId || state.turns.length) {
    startNewChat();
  }
}


// ---------------------------------------------------------------------------------------------
// Sign-in (`users` mode)

function rememberedAuthMode() {
  try {
    return localStorage.getItem(AUTH_MODE_KEY);
  } catch {
    return null;
  }
}

/// Starts the page's sign-in when the server's models say `users` mode: finishes a return from
/// the issuer, shows who is signed in, loads their chats from the server and opens the chat in
/// the address. A public chatbot goes on as it was.
async function startAuth(models) {
  const mode = models?.auth?.mode === "users" ? "users" : models ? "public" : null;
  if (mode) {
    try {
      localStorage.setItem(AUTH_MODE_KEY, mode);
    } catch {
      // Not remembered: the next load opens a chat after the models answer.
    }
  }
  if (mode !== "users") {
    if (!state.waitingForAuth) return;
    state.waitingForAuth = false;
    if (!mode) {
      showError(new ChatError("network", "Cannot reach the chat server. Check your connection, then reload the page."), {
        label: "Reload",
        run: () => location.reload(),
      });
      return;
    }
    renderSessions();
    routeFromHash();
    return;
  }
  // A chat opened before the mode was known is opened again, signed.
  state.loadToken += 1;
  state.sessionId = null;
  state.turns = [];
  renderConversation();
  hideError();
  state.waitingForAuth = false;
  state.auth = new Auth(models.auth);
  state.remote = [];
  signApiCalls({ token: () => state.auth.accessToken(), refresh: (refused) => state.auth.refresh(refused) });
  state.auth.onEnded = () => showSignedOut("Your sign-in has ended. Sign in again to go on; what you write here is kept.");
  ui.sidebarNote.textContent = "Your chats, on every device you sign in on.";
  renderSessions();
  let keep = null;
  try {
    keep = await state.auth.completeSignIn();
  } catch (error) {
    restoreDraft(error.keep);
    showSignedOut(error.message);
    return;
  }
  if (!state.auth.signedIn) {
    showSignedOut("Sign in to use this chatbot. Your chats are kept on the server, on every device you sign in on.");
    return;
  }
  showSignedIn();
  restoreDraft(keep);
  await syncSessions();
  routeFromHash();
}

function showSignedIn() {
  document.documentElement.dataset.auth = "signed-in";
  ui.account.hidden = false;
  ui.userName.textContent = state.auth.userName;
  ui.userName.title = `Signed in as ${state.auth.userName}`;
  ui.userName.hidden = false;
  ui.signOut.hidden = false;
  ui.signIn.hidden = true;
  ui.signinBanner.hidden = true;
}

function showSignedOut(message) {
  document.documentElement.dataset.auth = "signed-out";
  ui.account.hidden = false;
  ui.userName.hidden = true;
  ui.signOut.hidden = true;
  ui.signIn.hidden = false;
  ui.signinText.textContent = message;
  ui.signinBanner.hidden = false;
  state.remote = [];
  renderSessions();
  delete ui.sessionList.dataset.source;
}

/// Sends the person to sign in, keeping the chat open and what is in the message box; both
/// come back when they return.
function requireSignIn() {
  if (!state.auth) return;
  ui.signinButton.disabled = true;
  ui.signIn.disabled = true;
  state.auth.signIn({ hash: location.hash, draft: ui.input.value });
}

/// Puts a message written before a sign-in back in the box.
function restoreDraft(keep) {
  const draft = typeof keep?.draft === "string" ? keep.draft : "";
  if (!draft.trim() || ui.input.value.trim()) return;
  ui.input.value = draft;
  inputChanged();
  ui.input.focus();
  ui.input.setSelectionRange(draft.length, draft.length);
  announce("Your message is back in the box. Send it when you are ready.");
}

/// The signed-in person's chats from the server (`GET /api/sessions`, a few pages of them):
/// what they did on another device shows here too.
async function syncSessions() {
  if (!state.auth?.signedIn) return;
  const run = (state.syncRun = (state.syncRun ?? 0) + 1);
  const list = [];
  let cursor = null;
  try {
    for (let page = 0; page < SESSIONS_PAGES; page += 1) {
      const query = new URLSearchParams({ limit: String(SESSIONS_PAGE) });
      if (cursor) query.set("cursor", cursor);
      const response = await apiFetch(`/api/sessions?${query}`);
      if (!response.ok) throw await responseError(response);
      const body = await response.json();
      for (const s of Array.isArray(body.sessions) ? body.sessions : []) {
        if (!s || !UUID.test(String(s.id))) continue;
        list.push({
          id: s.id,
          title: String(s.title || "Untitled chat"),
          updated_at: s.updated_at ?? null,
          message_count: Number.isInteger(s.message_count) ? s.message_count : null,
        });
      }
      cursor = typeof body.next_cursor === "string" && body.next_cursor ? body.next_cursor : null;
      if (!cursor) break;
    }
  } catch {
    // The list stays as it was; a sign-in that ended says so itself.
    return;
  }
  if (run !== state.syncRun || !state.auth.signedIn) return;
  // The open chat stays listed while its first turn is being saved.
  const current = state.remote.find((s) => s.id === state.sessionId);
  if (current && !list.some((s) => s.id === current.id)) list.push(current);
  state.remote = list;
  renderSessions();
  ui.sessionList.dataset.source = "server";
}

/// A new name for a chat: shown at once, and kept on the server when signed in.
async function renameSession(session, title) {
  upsertSession(session.id, { title, updated_at: session.updated_at });
  if (!state.auth) return;
  try {
    await sendJson("PATCH", `/api/sessions/${encodeURIComponent(session.id)}`, { title });
  } catch (error) {
    upsertSession(session.id, { title: session.title, updated_at: session.updated_at });
    showError(asChatError(error));
  }
}

/// What is left of the signed-in person's limits, from an answer's `RateLimit` headers: shown
/// when it runs low.
function showLimits(limits) {
  if (!state.auth) return;
  const notes = [];
  const { turns, tokens } = limits;
  if (turns?.limit && turns.remaining <= Math.max(1, Math.floor(turns.limit * 0.2))) {
    const more = turns.reset ? `; more in ${formatWait(turns.reset)}` : "";
    notes.push(`${turns.remaining} ${turns.remaining === 1 ? "message" : "messages"} left${more}`);
  }
  if (tokens?.limit && tokens.remaining <= tokens.limit * 0.1) {
    const more = tokens.reset ? `; more in ${formatWait(tokens.reset)}` : "";
    notes.push(`${tokens.remaining.toLocaleString("en-US")} of ${tokens.limit.toLocaleString("en-US")} tokens left today${more}`);
  }
  const text = notes.join(" · ");
  ui.limits.hidden = !text;
  if (ui.limits.textContent !== text) ui.limits.textContent = text;
}

function formatWait(seconds) {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// ---------------------------------------------------------------------------------------------
// Wiring

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  submitComposer();
});
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && sendsOnEnter(event)) {
    event.preventDefault();
    if (!state.streaming) submitComposer();
  }
});
ui.input.addEventListener("input", inputChanged);
ui.stop.addEventListener("click", abortStream);
ui.retry.addEventListener("click", () => {
  const action = state.errorAction;
  if (action) {
    hideError();
    action.run();
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
ui.search.addEventListener("input", renderSessions);
ui.search.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && ui.search.value) {
    event.stopPropagation();
    ui.search.value = "";
    renderSessions();
  }
});
ui.starterPrompts.addEventListener("click", (event) => {
  const button = event.target.closest(".starter-prompt");
  if (button) send(button.textContent);
});
ui.messages.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const turn = state.turns.find((t) => t.el === button.closest(".turn"));
  if (button.classList.contains("copy-code")) {
    const code = button.closest(".code-block")?.querySelector("code");
    if (code) copyText(code.textContent.replace(/\n$/, ""), button);
  } else if (!turn) {
    return;
  } else if (button.classList.contains("copy-reply")) {
    copyText(turn.content, button);
  } else if (button.classList.contains("regenerate")) {
    regenerate(turn.role === "assistant" ? turn : null);
  } else if (button.classList.contains("edit-message")) {
    startEdit(turn);
  } else if (button.classList.contains("cancel-queued")) {
    cancelQueued();
  } else if (button.classList.contains("rate")) {
    rate(turn, button.classList.contains("rate-up") ? "up" : "down");
  } else if (button.classList.contains("fold")) {
    turn.fold = !turn.fold;
    paintTurn(turn);
    turn.footer.querySelector(".fold")?.focus();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Tab") keepFocusInDrawer(event);
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
  if (!event.target.closest?.(".session-more, .session-menu")) closeSessionMenus();
});
window.addEventListener("hashchange", routeFromHash);
window.addEventListener("online", backOnline);
window.addEventListener("offline", () => {
  ui.offlineBanner.hidden = false;
});
window.addEventListener("storage", (event) => {
  if (event.key === SESSIONS_KEY && !state.auth) renderSessions();
});
ui.signIn.addEventListener("click", requireSignIn);
ui.signinButton.addEventListener("click", requireSignIn);
ui.signOut.addEventListener("click", () => state.auth?.signOut());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") syncSessions();
});
window.addEventListener("focus", () => syncSessions());
touch.addEventListener("change", updateHint);
drawerLayout.addEventListener("change", () => {
  if (ui.app.classList.contains("sidebar-open")) trapInDrawer(true);
});

ui.offlineBanner.hidden = navigator.onLine !== false;
updateHint();
// A server that asked for sign-in last time is asked again before any chat is read.
state.waitingForAuth = rememberedAuthMode() === "users";
if (!state.waitingForAuth) renderSessions();
loadModels().then(startAuth);
routeFromHash();
inputChanged();
document.documentElement.dataset.ready = "true";
