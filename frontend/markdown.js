// Markdown for model replies: markdown-it parses (vendored, see vendor/README.md), this module
// turns its tokens into DOM nodes, incrementally while a reply streams, in bounded time.
//
// Safety. Nothing from a reply is parsed as HTML. markdown-it runs with `html: false`, so raw HTML
// in a reply stays text, and its tokens become elements made with `createElement` from a fixed
// list of tags, with only the attributes set here. The only URLs taken from a reply are link
// targets, and only absolute http, https and mailto URLs become links (`safeUrl`, by the
// browser's own URL parser); any other link shows its text. Images become links too, so a reply
// loads nothing.
//
// Deviations from CommonMark, on purpose, for chat: a newline is a line break; raw HTML shows as
// text; an image is a link to it (labelled with its description, or "image"); only absolute
// http, https and mailto links are links. Added to CommonMark: GFM tables and strikethrough, and
// bare http(s) URLs become links. The browser tests check all 652 examples of the CommonMark spec
// against these rules (frontend/tests/markdown.test.mjs).
//
// Streaming. A `MarkdownStream` keeps the reply's complete blocks and re-renders only the last
// one. Each pass parses the text from the last stable block boundary on; top-level blocks that
// end before the last one (on lines that can no longer change) are built once and never touched
// again. The last block is parsed again only once it grew by a sixteenth (new text shows
// meanwhile as plain text at its end), so the total work over a reply is linear in its length:
// at most 16 characters parsed per character received, plus one last pass.
//
// Bounded worst case (`LIMITS`). Per pass, markdown-it sees at most `passLines` lines and works
// for at most `renderMs` (`frameMs` for a streaming frame); what it did not reach shows as plain
// text, as does a paragraph longer than `inlineChars`. Quotes and lists nested deeper than
// `blockLevels` are shown flat as text, elements deeper than `domDepth` are flattened into their
// parent, a table holds at most `tableCells` cells, and a pass builds at most `elements`
// elements. Any error shows the whole reply as plain text.

import markdownit from "./vendor/markdown-it/markdown-it.esm.min.mjs";
import { highlightCode } from "./code-highlight.js";

export const LIMITS = Object.freeze({
  /// Parsing and building time for a whole reply at once (history, the end of a stream), ms.
  renderMs: 150,
  /// The same for one animation frame while a reply streams, ms.
  frameMs: 25,
  /// Lines markdown-it parses in one go; a longer reply is parsed in windows of this size.
  passLines: 2_000,
  /// A paragraph, heading or table cell longer than this shows as plain text.
  inlineChars: 50_000,
  /// Token nesting from which block quotes and lists are no longer opened (shown flat).
  blockLevels: 32,
  /// Element nesting within a reply from which elements are flattened into their parent.
  domDepth: 48,
  /// Cells in one table, and columns; rows past the limit show as a paragraph.
  tableCells: 4_000,
  tableColumns: 100,
  /// Elements built in one pass; past it, the rest of the pass is text.
  elements: 20_000,
  /// While a reply streams, its last block is parsed again once it grew by this fraction of
  /// its length since it was last parsed (text arriving meanwhile shows as plain text at its
  /// end), so each character pays for at most 1/tailGrowth characters of parsing.
  tailGrowth: 1 / 16,
});

const ALLOWED_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
/// Characters per part of a plain-text block.
const PLAIN_PART = 8_192;
const OVER_BUDGET = Symbol("over budget");

const md = markdownit({ html: false, linkify: true, breaks: true, typographer: false, maxNesting: 100 });
// Every link parses as CommonMark says; `safeUrl` decides at build time which become links.
md.validateLink = () => true;
// Only URLs with a scheme become links: "main.rs" and "a@b.co" stay text.
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false });
// Reference definitions stay in the token stream: they are blocks for the incremental renderer.
md.core.ruler.disable("strip_references");
md.core.ruler.at("inline", inlineWithinBudget);
md.block.ruler.before("table", "budget", blockWithinBudget);
md.block.ruler.at("table", tableWithinLimits(originalRule(md.block.ruler, "table")));
md.inline.ruler.before("text", "budget", inlineTick);

// ---------------------------------------------------------------------------------------------
// Public interface

/// Renders `source` as Markdown into a new DocumentFragment of `doc`.
export function renderMarkdown(source, doc = document) {
  const fragment = doc.createDocumentFragment();
  const view = new MarkdownStream(fragment, doc);
  view.append(String(source));
  view.finish();
  return fragment;
}

/// A reply rendered as it streams into `container`, which it owns: `append` the text as it
/// arrives, `render` once per animation frame, `finish` when the reply is complete.
export class MarkdownStream {
  constructor(container, doc = container.ownerDocument) {
    this.container = container;
    this.doc = doc;
    /// Text appended since the last render, normalized (CR LF and CR are LF).
    this.pending = [];
    this.pendingCR = false;
    /// The whole reply, normalized: for a full render when needed.
    this.source = "";
    /// The text from the last stable block boundary on, and its nodes in `container`.
    this.tail = "";
    this.tailNodes = [];
    this.tailRendered = 0;
    /// Lines parsed in one go: `passLines`, more while the tail starts with a long code block.
    this.windowLines = LIMITS.passLines;
    /// Reference definitions in committed blocks, and whether any were seen.
    this.refs = {};
    this.definitions = false;
    /// Set after an error: the text node that shows the reply as plain text.
    this.plain = null;
    this.streamed = false;
    this.finished = false;
    this.stats = { passes: 0, parsedChars: 0, committedBlocks: 0, fullRenders: 0 };
  }

  /// Adds streamed text; cheap, renders nothing.
  append(text) {
    let chunk = String(text);
    if (!chunk) return;
    if (this.pendingCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.pendingCR = chunk.endsWith("\r");
    this.pending.push(chunk.replace(/\r\n?/g, "\n"));
  }

  /// Renders what arrived since the last call, within one frame's budget.
  render() {
    const added = this.#take();
    if (!added) return;
    if (this.plain) {
      this.plain.appendData(added);
      return;
    }
    try {
      const length = this.tail.length;
      if (length - this.tailRendered < length * LIMITS.tailGrowth) {
        this.#appendProvisional(added);
        return;
      }
      this.streamed = true;
      this.#pass(new Budget(LIMITS.frameMs), false);
    } catch (error) {
      this.#fail(error);
    }
  }

  /// Renders the rest of the reply and settles every block.
  finish() {
    const added = this.#take();
    if (this.plain) {
      if (added) this.plain.appendData(added);
      return;
    }
    if (this.finished && !added) return;
    this.finished = true;
    try {
      this.#pass(new Budget(LIMITS.renderMs), true);
      // A link may use a definition that arrived after its block was committed: render the
      // reply once more as a whole, as a reload would.
      if (this.definitions && this.streamed) this.#renderWhole();
    } catch (error) {
      this.#fail(error);
    }
  }

  #take() {
    if (!this.pending.length) return "";
    const added = this.pending.join("");
    this.pending.length = 0;
    this.source += added;
    if (!this.plain) this.tail += added;
    return added;
  }

  #renderWhole() {
    this.stats.fullRenders += 1;
    this.container.replaceChildren();
    this.tail = this.source;
    this.tailNodes = [];
    this.windowLines = LIMITS.passLines;
    this.refs = {};
    this.definitions = false;
    this.#pass(new Budget(LIMITS.renderMs), true);
  }

  /// Parses the tail and commits the blocks that can no longer change (`final`: all of them),
  /// then shows the rest. Past the budget, what is left shows as plain text.
  #pass(budget, final) {
    const builder = new Builder(this.doc, budget);
    let parsed = null;
    for (;;) {
      if (budget.spent()) {
        parsed = null;
        break;
      }
      parsed = this.#parse(budget);
      let count = final && !parsed.cut ? parsed.blocks.length : stableCount(parsed);
      count = Math.min(count, parsed.firstPlain);
      const committed = count > 0 ? this.#commit(parsed, count, builder) : 0;
      parsed.from = committed;
      // At the end, a reply longer than one window is parsed window by window.
      if (committed < count || !(final && parsed.cut && committed > 0 && this.tail)) break;
    }
    const tail = this.doc.createDocumentFragment();
    if (parsed) {
      const { tokens, blocks, text } = parsed;
      for (let b = parsed.from; b < blocks.length; b += 1) {
        if (budget.spent()) {
          tail.append(plainBlock(this.doc, text.slice(lineOffset(text, blocks[b].startLine))));
          break;
        }
        builder.build(tokens, blocks[b].start, blocks[b].end, tail);
      }
      if (parsed.cut) tail.append(plainBlock(this.doc, parsed.cut));
    } else if (this.tail) {
      tail.append(plainBlock(this.doc, this.tail));
    }
    for (const node of this.tailNodes) node.remove();
    this.tailNodes = [...tail.childNodes];
    this.container.append(tail);
    this.tailRendered = this.tail.length;
    if (final) {
      this.tailNodes = [];
      this.tail = "";
    }
  }

  /// Parses a window of the tail: `passLines` lines, or more while the window ends inside a
  /// fenced code block (cheap to parse, and it would show half as code, half as plain text).
  #parse(budget) {
    let lines = this.windowLines;
    for (;;) {
      this.stats.passes += 1;
      const windowEnd = lineOffset(this.tail, lines);
      const text = windowEnd < this.tail.length ? this.tail.slice(0, windowEnd) : this.tail;
      const cut = text.length < this.tail.length ? this.tail.slice(text.length) : "";
      this.stats.parsedChars += text.length;
      const env = { references: { ...this.refs }, budget };
      const tokens = md.parse(text, env);
      const blocks = topLevelBlocks(tokens);
      const last = blocks[blocks.length - 1];
      if (cut && last?.type === "fence" && last.endLine >= lines && !budget.spent()) {
        lines *= 4;
        this.windowLines = lines;
        continue;
      }
      return { text, cut, tokens, blocks, env, firstPlain: firstPlainBlock(tokens, blocks), from: 0 };
    }
  }

  /// Builds the first `count` blocks of a pass for good, as many as the budget allows; returns
  /// how many it built.
  #commit(parsed, count, builder) {
    const { tokens, blocks, env, text } = parsed;
    const fragment = this.doc.createDocumentFragment();
    let built = 0;
    while (built < count && !(built > 0 && builder.budget.spent())) {
      builder.build(tokens, blocks[built].start, blocks[built].end, fragment);
      built += 1;
    }
    this.container.insertBefore(fragment, this.tailNodes[0] ?? null);
    for (let i = blocks[0].start; i < blocks[built - 1].end; i += 1) {
      const token = tokens[i];
      if (token.type !== "reference_definition") continue;
      this.definitions = true;
      const label = token.meta?.label;
      if (label && !(label in this.refs) && env.references?.[label]) this.refs[label] = env.references[label];
    }
    this.stats.committedBlocks += built;
    this.windowLines = LIMITS.passLines;
    this.tail = this.tail.slice(lineOffset(text, blocks[built - 1].endLine));
    return built;
  }

  /// Shows new text at the end of the last block until the next full render of it.
  #appendProvisional(text) {
    const last = this.tailNodes[this.tailNodes.length - 1];
    const target = last ? textContainer(last) : null;
    if (target) {
      target.append(text);
    } else {
      const node = this.doc.createTextNode(text);
      this.container.append(node);
      this.tailNodes.push(node);
    }
  }

  #fail(error) {
    console.error("Markdown rendering failed; showing the reply as plain text.", error);
    const block = plainBlock(this.doc, this.source);
    this.plain = this.doc.createTextNode("");
    (block.lastChild ?? block).append(this.plain);
    this.container.replaceChildren(block);
    this.tail = "";
    this.tailNodes = [];
  }
}

/// `url` when it is an absolute http, https or mailto URL; null for anything else.
export function safeUrl(url) {
  if (typeof url !== "string") return null;
  try {
    return ALLOWED_PROTOCOLS.has(new URL(url).protocol) ? url : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Blocks and stable boundaries

/// The top-level blocks of a token stream: token index range and source lines of each.
function topLevelBlocks(tokens) {
  const blocks = [];
  let open = null;
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token.level !== 0) continue;
    if (token.nesting === 1) {
      open = { start: i, startLine: token.map?.[0] ?? 0, endLine: token.map?.[1] ?? 0, type: token.type };
    } else if (token.nesting === -1 && open) {
      blocks.push({ ...open, end: i + 1 });
      open = null;
    } else if (token.nesting === 0) {
      const [startLine, endLine] = token.map ?? [0, 0];
      blocks.push({ start: i, end: i + 1, startLine, endLine, type: token.type });
    }
  }
  return blocks;
}

/// The index of the first block holding text shown plain (past the budget or a limit).
function firstPlainBlock(tokens, blocks) {
  for (let b = 0; b < blocks.length; b += 1) {
    for (let i = blocks[b].start; i < blocks[b].end; i += 1) {
      if (tokens[i].type === "plain_block" || tokens[i].type === "plain_inline") return b;
    }
  }
  return blocks.length;
}

/// How many leading blocks of a pass can no longer change as text is appended. Block `k`
/// ends the blocks before it when it starts; markdown-it decides that from its first line and
/// the next (a table needs its delimiter row), so both must be complete lines. A reference
/// definition's title may continue on later lines, so a definition is never the last block
/// committed.
function stableCount({ text, blocks }) {
  let newlines = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) newlines += 1;
  const lastSafeStart = newlines - 2;
  let count = blocks.length - 1;
  while (count > 0 && blocks[count].startLine > lastSafeStart) count -= 1;
  while (count > 0 && blocks[count - 1].type === "reference_definition") count -= 1;
  return Math.max(count, 0);
}

/// The offset just past the `line`-th newline of `text` (its length when it has fewer).
function lineOffset(text, line) {
  let offset = 0;
  for (let n = 0; n < line; n += 1) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset;
}

const DESCEND = new Set(["DIV", "PRE", "UL", "OL", "LI", "BLOCKQUOTE", "TABLE", "THEAD", "TBODY", "TR", "TD", "TH", "P", "H1", "H2", "H3", "H4", "H5", "H6"]);

/// The element at the end of `node` that text continuing the block belongs in.
function textContainer(node) {
  if (node.nodeType !== 1 || !DESCEND.has(node.tagName)) return null;
  let target = node;
  for (;;) {
    const child = target.lastElementChild;
    if (!child) break;
    if (child.tagName === "CODE") return child;
    if (!DESCEND.has(child.tagName) || child.classList.contains("code-bar")) break;
    target = child;
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// Budgets

/// A deadline for one pass, checked cheaply from the parser's rules.
class Budget {
  constructor(ms) {
    this.deadline = performance.now() + ms;
    this.calls = 0;
    this.over = false;
  }

  spent() {
    if (!this.over && performance.now() > this.deadline) this.over = true;
    return this.over;
  }

  tick() {
    this.calls += 1;
    return (this.calls & 255) === 0 ? this.spent() : this.over;
  }
}

/// First block rule: past the budget or too deep, the rest of the container is plain text.
function blockWithinBudget(state, startLine, endLine) {
  if (state.level < LIMITS.blockLevels && !state.env.budget?.spent()) return false;
  const token = state.push("plain_block", "", 0);
  token.content = state.getLines(startLine, endLine, state.blkIndent, false);
  token.map = [startLine, endLine];
  state.line = endLine;
  return true;
}

/// First inline rule: stops the parse of a paragraph once the budget is spent.
function inlineTick(state) {
  if (state.env.budget?.tick()) throw OVER_BUDGET;
  return false;
}

/// markdown-it's inline core rule, within the budget: a paragraph it cannot finish, or one
/// longer than `inlineChars`, is shown as its plain text.
function inlineWithinBudget(state) {
  const budget = state.env.budget;
  for (const token of state.tokens) {
    if (token.type !== "inline") continue;
    if (token.content.length <= LIMITS.inlineChars && !budget?.over) {
      try {
        state.md.inline.parse(token.content, state.md, state.env, token.children);
        continue;
      } catch (error) {
        if (error !== OVER_BUDGET) throw error;
      }
    }
    token.type = "plain_inline";
    token.children = [];
  }
}

/// The table rule with at most `tableColumns` columns and `tableCells` cells; rows past that
/// are left to the next rules.
function tableWithinLimits(table) {
  return (state, startLine, endLine, silent) => {
    if (startLine + 2 > endLine) return false;
    const delimiter = state.src.slice(state.bMarks[startLine + 1] + state.tShift[startLine + 1], state.eMarks[startLine + 1]);
    let columns = 1;
    for (let i = delimiter.indexOf("|"); i >= 0; i = delimiter.indexOf("|", i + 1)) {
      columns += 1;
      if (columns > LIMITS.tableColumns + 2) return false;
    }
    const rows = Math.max(1, Math.floor(LIMITS.tableCells / columns));
    return table(state, startLine, Math.min(endLine, startLine + 2 + rows), silent);
  };
}

/// A rule markdown-it ships, to wrap it. Rulers keep their rules in `__rules__`, which
/// markdown-it's plugins read too; were that to change, this module would fail to load and the
/// browser tests with it.
function originalRule(ruler, name) {
  const rule = ruler.__rules__.find((r) => r.name === name);
  if (!rule) throw new Error(`markdown-it has no ${name} rule`);
  return rule.fn;
}

// ---------------------------------------------------------------------------------------------
// Tokens to DOM

const TAGS = new Set(["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "em", "strong", "s"]);
const ALIGN = /text-align:\s*(left|center|right)/;

/// Turns tokens into nodes, with the depth, element and highlighting limits of one pass.
class Builder {
  constructor(doc, budget) {
    this.doc = doc;
    this.budget = budget;
    this.elements = 0;
    this.links = 0;
  }

  build(tokens, from, to, out) {
    // Each entry: the node children go into, whether it was flattened into its parent, and
    // whether it is a link (an image inside a link shows as its label: links do not nest).
    const stack = [{ node: out, flat: false, link: false }];
    for (let i = from; i < to; i += 1) {
      const token = tokens[i];
      const top = stack[stack.length - 1];
      if (token.nesting === 1) {
        // A paragraph shown plain and long is laid out as a plain block (see `plainBlock`).
        const plainParagraph = token.type === "paragraph_open" && isLongPlain(tokens[i + 1]);
        const opened = token.hidden || plainParagraph ? null : this.open(token, stack.length);
        if (opened) {
          top.node.append(opened.outer);
          const link = opened.inner.tagName === "A";
          if (link) this.links += 1;
          stack.push({ node: opened.inner, flat: false, link });
        } else {
          stack.push({ node: top.node, flat: !token.hidden && !plainParagraph, link: false });
        }
      } else if (token.nesting === -1) {
        if (stack.length > 1) {
          const closed = stack.pop();
          if (closed.link) this.links -= 1;
          if (closed.flat && token.block) closed.node.append("\n");
        }
      } else {
        this.leaf(token, top.node);
      }
    }
  }

  element(tag, className = "") {
    this.elements += 1;
    const node = this.doc.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  /// The element a nesting token opens (`outer` goes into the parent, children into `inner`),
  /// or null to flatten its content into the parent.
  open(token, depth) {
    if (depth > LIMITS.domDepth || this.elements >= LIMITS.elements) return null;
    if (token.type === "link_open") {
      const a = this.link(token.attrGet("href"), token.attrGet("title"));
      return a && { outer: a, inner: a };
    }
    if (!TAGS.has(token.tag)) return null;
    if (token.tag === "table") {
      const wrap = this.element("div", "table-wrap");
      const table = this.element("table");
      wrap.append(table);
      return { outer: wrap, inner: table };
    }
    const el = this.element(token.tag);
    if (token.tag === "ol") {
      const start = String(token.attrGet("start") ?? "1");
      if (/^\d{1,9}$/.test(start) && start !== "1") el.setAttribute("start", start);
    } else if (token.tag === "th" || token.tag === "td") {
      const align = ALIGN.exec(token.attrGet("style") ?? "");
      if (align) el.className = `align-${align[1]}`;
    }
    return { outer: el, inner: el };
  }

  leaf(token, parent) {
    switch (token.type) {
      case "inline":
        this.build(token.children, 0, token.children.length, parent);
        break;
      case "text":
      case "html_inline":
      case "html_block":
        parent.append(token.content);
        break;
      case "softbreak":
      case "hardbreak":
        parent.append(this.elements < LIMITS.elements ? this.element("br") : "\n");
        break;
      case "code_inline":
        if (this.elements < LIMITS.elements) {
          const code = this.element("code");
          code.textContent = token.content;
          parent.append(code);
        } else {
          parent.append(token.content);
        }
        break;
      case "image":
        this.image(token, parent);
        break;
      case "hr":
        parent.append(this.elements < LIMITS.elements ? this.element("hr") : "\n");
        break;
      case "fence":
        this.codeBlock(token.content, infoLanguage(token.info), parent);
        break;
      case "code_block":
        this.codeBlock(token.content, "", parent);
        break;
      case "plain_block":
        parent.append(plainBlock(this.doc, token.content));
        break;
      case "plain_inline":
        parent.append(isLongPlain(token) ? plainBlock(this.doc, token.content) : plainSpan(this.doc, token.content));
        break;
      default:
        // reference_definition and anything unknown: nothing to show.
        break;
    }
  }

  link(href, title) {
    if (!safeUrl(href)) return null;
    const a = this.element("a");
    a.setAttribute("href", href);
    if (title) a.title = title;
    a.rel = "noopener noreferrer nofollow";
    a.referrerPolicy = "no-referrer";
    a.target = "_blank";
    return a;
  }

  image(token, parent) {
    const label = inlineText(token.children ?? []) || "image";
    const linked = this.links === 0 && this.elements < LIMITS.elements;
    const a = linked ? this.link(token.attrGet("src"), token.attrGet("title")) : null;
    if (!a) {
      parent.append(label);
      return;
    }
    a.className = "image-link";
    a.append(label);
    parent.append(a);
  }

  codeBlock(text, language, parent) {
    if (this.elements >= LIMITS.elements) {
      parent.append(plainBlock(this.doc, text));
      return;
    }
    const block = this.element("div", "code-block");
    const bar = this.element("div", "code-bar");
    const label = this.element("span", "code-language");
    label.textContent = language || "code";
    const copy = this.element("button", "copy-code");
    copy.type = "button";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", language ? `Copy ${language} code` : "Copy code");
    bar.append(label, copy);
    const pre = this.element("pre");
    pre.tabIndex = 0;
    const code = this.element("code", language ? `language-${language}` : "");
    code.textContent = text;
    pre.append(code);
    block.append(bar, pre);
    parent.append(block);
    // Highlighting costs more than parsing: only within the pass's budget.
    if (language && !this.budget.spent()) highlightCode(code, language, text);
  }
}

function infoLanguage(info) {
  return md.utils.unescapeAll(info ?? "").trim().split(/\s+/)[0] ?? "";
}

/// The text of inline tokens, as markdown-it gives an image's description.
function inlineText(tokens) {
  let text = "";
  for (const token of tokens) {
    if (token.type === "image") text += inlineText(token.children ?? []);
    else if (token.type === "softbreak" || token.type === "hardbreak") text += "\n";
    else if (token.type === "text" || token.type === "code_inline") text += token.content;
  }
  return text;
}

function isLongPlain(token) {
  return token?.type === "plain_inline" && token.content.length > PLAIN_PART;
}

/// Text shown as it is, in parts the browser lays out only when they come into view.
function plainBlock(doc, text) {
  const block = doc.createElement("div");
  block.className = "md-plain";
  for (let start = 0; start < text.length; ) {
    let end = start + PLAIN_PART;
    if (end < text.length) {
      // End a part at a line's end when one is near.
      const from = start + PLAIN_PART / 2;
      const newline = text.slice(from, end).lastIndexOf("\n");
      if (newline >= 0) end = from + newline + 1;
    }
    const part = doc.createElement("div");
    part.textContent = text.slice(start, end);
    block.append(part);
    start = end;
  }
  return block;
}

function plainSpan(doc, text) {
  const span = doc.createElement("span");
  span.className = "md-plain";
  span.textContent = text;
  return span;
}
