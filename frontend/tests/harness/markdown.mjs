// The page's Markdown renderer in a page of its own, served under the site's CSP, for the browser
// tests (markdown.test.mjs) and the benchmark (bench-markdown.mjs). `window.harness` is what they
// call through `page.evaluate`.

import { highlighterReady } from "/code-highlight.js";
import { LIMITS, MarkdownStream, safeUrl } from "/markdown.js";

/// The renderer under test: the page's, or with `?renderer=before` the one it replaced (the
/// benchmark's baseline, served from bench/markdown/).
const { renderMarkdown } = await import(
  new URLSearchParams(location.search).get("renderer") === "before" ? "/baseline/renderer-before.js" : "/markdown.js"
);

const out = document.getElementById("out");

/// Elements a reply may contain, and the attributes each may carry.
const ALLOWED = {
  A: ["href", "title", "rel", "target", "referrerpolicy", "class"],
  BLOCKQUOTE: [],
  BR: [],
  BUTTON: ["type", "class", "aria-label"],
  CODE: ["class"],
  DIV: ["class"],
  EM: [],
  H1: [],
  H2: [],
  H3: [],
  H4: [],
  H5: [],
  H6: [],
  HR: [],
  LI: [],
  OL: ["start"],
  P: [],
  PRE: ["tabindex"],
  S: [],
  SPAN: ["class"],
  STRONG: [],
  TABLE: [],
  TBODY: [],
  TD: ["class"],
  TH: ["class"],
  THEAD: [],
  TR: [],
  UL: [],
};

window.harness = {
  LIMITS,

  /// Renders `text` into the page at once; the time it took, to the next frame, in ms.
  async render(text) {
    const start = performance.now();
    out.replaceChildren(renderMarkdown(text));
    const built = performance.now();
    await nextFrame();
    return { build: built - start, total: performance.now() - start };
  },

  /// Streams `text` into the page in chunks of `chunk` characters, one render per chunk, then
  /// finishes; the time, the stream's work counters, and whether the first block it committed is
  /// still the same node at the end.
  stream(text, chunk) {
    out.replaceChildren();
    const view = new MarkdownStream(out);
    const start = performance.now();
    let first = null;
    let slowest = 0;
    for (let i = 0; i < text.length; i += chunk) {
      const t = performance.now();
      view.append(text.slice(i, i + chunk));
      view.render();
      slowest = Math.max(slowest, performance.now() - t);
      if (!first && view.stats.committedBlocks > 0) first = out.firstChild;
    }
    view.finish();
    return {
      ms: performance.now() - start,
      slowestRender: slowest,
      stats: { ...view.stats },
      firstKept: first === null ? null : first === out.firstChild && first.isConnected,
    };
  },

  /// What is wrong with the rendered reply: elements or attributes outside the allowlist, links
  /// other than absolute http(s)/mailto, anything loaded; empty when nothing is.
  problems() {
    const problems = [];
    for (const el of out.querySelectorAll("*")) {
      const allowed = ALLOWED[el.tagName];
      if (!allowed) {
        problems.push(`element ${el.tagName}`);
        continue;
      }
      for (const { name } of el.attributes) {
        if (!allowed.includes(name)) problems.push(`attribute ${name} on ${el.tagName}`);
      }
      if (el.tagName === "A" && !safeUrl(el.getAttribute("href"))) problems.push(`link to ${el.getAttribute("href")}`);
    }
    const loaded = performance.getEntriesByType("resource").map((r) => r.name).filter((url) => !url.startsWith(location.origin));
    return [...problems, ...loaded.map((url) => `loaded ${url}`), ...window.__violations.map((v) => `CSP: ${v}`)];
  },

  /// Each CommonMark example through the renderer, compared with the spec's HTML as written
  /// and with the chat deviations applied to it. `rawHtml` is what the spec's HTML becomes when
  /// raw HTML is text (markdown-it's own `html: false` output), for the examples that have raw
  /// HTML. Returns the outcome per example, with the canonical HTML of failures.
  spec(examples) {
    return examples.map(({ number, markdown, html, rawHtml }) => {
      const actual = canonical(renderMarkdown(markdown));
      const written = canonical(parse(html));
      const applied = [];
      const deviated = canonical(deviations(parse(rawHtml ?? html), applied));
      if (rawHtml !== undefined && canonical(parse(rawHtml)) !== written) applied.push("raw HTML shows as text");
      const result = { number, written: actual === written, deviated: actual === written || actual === deviated, applied };
      if (!result.deviated) Object.assign(result, { actual, expected: deviated });
      return result;
    });
  },

  /// The reply rendered at once and streamed in `chunk`-sized pieces, as canonical HTML.
  streamedAndWhole(text, chunk) {
    const whole = canonical(renderMarkdown(text));
    const box = document.createElement("div");
    const view = new MarkdownStream(box);
    for (let i = 0; i < text.length; i += chunk) {
      view.append(text.slice(i, i + chunk));
      view.render();
    }
    view.finish();
    return { whole, streamed: canonical(box), stats: { ...view.stats } };
  },

  /// A stream whose container fails on the first insertion: the reply must show as plain text.
  failingContainer(text) {
    const box = document.createElement("div");
    let fail = true;
    box.insertBefore = () => {
      if (fail) {
        fail = false;
        throw new Error("injected failure");
      }
    };
    box.append = box.insertBefore;
    const view = new MarkdownStream(box);
    view.append(text.slice(0, text.length / 2));
    view.render();
    view.append(text.slice(text.length / 2));
    view.render();
    view.finish();
    return { html: box.innerHTML, text: box.textContent };
  },

  highlighterReady,
  renderOnce: (text) => renderMarkdown(text),
};

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/// The spec's HTML as an inert tree (a document with no window: nothing in it runs or loads).
/// Its raw-HTML examples hold `<style>` and `<script>` elements, which even an inert document
/// checks against the page's CSP and reports; they are renamed, which changes no outcome (a
/// reply's raw HTML is text, so those examples differ as written either way).
function parse(html) {
  const doc = document.implementation.createHTMLDocument("");
  doc.body.innerHTML = html.replace(/<(\/?)(style|script)\b/gi, "<$1x-$2");
  return doc.body;
}

// ---------------------------------------------------------------------------------------------
// The chat deviations, applied to the spec's expected HTML

/// `root` with the deviations applied; the names of those that changed something are pushed
/// to `applied`.
function deviations(root, applied) {
  const doc = root.ownerDocument;
  let changed = false;
  for (const a of [...root.querySelectorAll("a")]) {
    if (safeUrl(a.getAttribute("href"))) continue;
    a.replaceWith(...a.childNodes);
    changed = true;
  }
  if (changed) applied.push("only absolute http, https and mailto links");
  changed = false;
  for (const img of [...root.querySelectorAll("img")]) {
    const label = img.getAttribute("alt") || "image";
    const src = img.getAttribute("src");
    if (safeUrl(src) && !img.closest("a")) {
      const a = doc.createElement("a");
      a.setAttribute("href", src);
      if (img.hasAttribute("title")) a.setAttribute("title", img.getAttribute("title"));
      a.textContent = label;
      img.replaceWith(a);
    } else {
      img.replaceWith(label);
    }
    changed = true;
  }
  if (changed) applied.push("images are links");
  if (softBreaks(root)) applied.push("a newline is a line break");
  if (bareUrls(root)) applied.push("bare http(s) URLs are links");
  return root;
}

const BARE_URL = /https?:\/\/[^\s<>]*[^\s<>.,:;"')\]*_~!?]/g;

/// Makes links of the http(s) URLs in text outside links and code; returns whether any.
function bareUrls(root) {
  const walker = root.ownerDocument.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    BARE_URL.lastIndex = 0;
    if (BARE_URL.test(node.data) && !node.parentElement.closest("a, pre, code")) nodes.push(node);
  }
  for (const node of nodes) {
    const pieces = [];
    let last = 0;
    for (const match of node.data.matchAll(BARE_URL)) {
      pieces.push(node.data.slice(last, match.index));
      const a = node.ownerDocument.createElement("a");
      a.setAttribute("href", match[0]);
      a.textContent = match[0];
      pieces.push(a);
      last = match.index + match[0].length;
    }
    pieces.push(node.data.slice(last));
    node.replaceWith(...pieces);
  }
  return nodes.length > 0;
}

const BLOCK = new Set(["ADDRESS", "ARTICLE", "ASIDE", "BLOCKQUOTE", "BODY", "DD", "DETAILS", "DIV", "DL", "DT", "FIELDSET", "FIGCAPTION", "FIGURE", "FOOTER", "FORM", "H1", "H2", "H3", "H4", "H5", "H6", "HEADER", "HR", "LI", "MAIN", "NAV", "OL", "P", "PRE", "SECTION", "TABLE", "TBODY", "TD", "TFOOT", "TH", "THEAD", "TR", "UL"]);

/// Turns the soft line breaks of inline text (a newline between inline content, not the one
/// after a `<br />`, nor one beside a block) into `<br>`; returns whether there were any.
function softBreaks(root) {
  const walker = root.ownerDocument.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.data.includes("\n") && !node.parentElement.closest("pre, code")) nodes.push(node);
  }
  let any = false;
  for (const node of nodes) {
    const parts = node.data.split("\n");
    const pieces = [parts[0]];
    for (let i = 1; i < parts.length; i += 1) {
      const before = parts.slice(0, i).join("\n");
      const after = parts.slice(i).join("\n");
      const left = /\S/.test(before) || inlineSibling(node.previousSibling);
      const right = /\S/.test(after) || inlineSibling(node.nextSibling);
      if (left && right) {
        pieces.push(node.ownerDocument.createElement("br"));
        any = true;
      } else {
        pieces.push("\n");
      }
      pieces.push(parts[i]);
    }
    node.replaceWith(...pieces);
  }
  return any;
}

function inlineSibling(node) {
  if (!node) return false;
  if (node.nodeType === Node.TEXT_NODE) return /\S/.test(node.data) || inlineSibling(node.previousSibling);
  return !BLOCK.has(node.tagName) && node.tagName !== "BR";
}

// ---------------------------------------------------------------------------------------------
// Canonical HTML, as the CommonMark test suite compares it

const VOID = new Set(["BR", "HR", "IMG"]);

/// HTML of `root`'s content without the page's decorations (code block bar, table wrapper,
/// highlighting, link attributes), with whitespace normalized outside `pre`.
export function canonical(root) {
  const html = [];
  for (const child of root.childNodes) serialize(child, html);
  return html
    .join("")
    .split(/(<pre>[\s\S]*?<\/pre>)/)
    .map((part, i) => (i % 2 ? part : normalizeSpace(part)))
    .join("")
    .trim();
}

function normalizeSpace(html) {
  return html
    .replace(/\s+/g, " ")
    .replace(/\s*(<\/?(?:[a-z][a-z0-9]*)[^>]*>)\s*/g, (match, tag) => {
      const name = /^<\/?([a-z0-9]+)/.exec(tag)[1].toUpperCase();
      return BLOCK.has(name) || name === "BR" ? tag : match;
    });
}

function serialize(node, html) {
  if (node.nodeType === Node.TEXT_NODE) {
    html.push(escape(node.data));
    return;
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return;
  const el = node;
  if (el.classList.contains("code-block")) {
    const pre = el.querySelector("pre");
    if (pre) serialize(pre, html);
    return;
  }
  // Spans carry no Markdown: the plain-text fallback, or a link the renderer before this one
  // refused.
  if (el.classList.contains("table-wrap") || el.tagName === "SPAN" || el.classList.contains("md-plain")) {
    for (const child of el.childNodes) serialize(child, html);
    return;
  }
  if (el.tagName === "PRE") {
    const code = el.firstElementChild?.tagName === "CODE" && el.childNodes.length === 1 ? el.firstElementChild : null;
    if (!code) {
      html.push(`<pre>${escape(el.textContent)}</pre>`);
      return;
    }
    const language = [...code.classList].find((c) => c.startsWith("language-"));
    // One newline ends every code block's text; the page's renderer before this one dropped it.
    const text = code.textContent.replace(/\n$/, "");
    html.push(`<pre><code${language ? ` class="${escape(language)}"` : ""}>${escape(text)}</code></pre>`);
    return;
  }
  const tag = el.tagName.toLowerCase();
  html.push(`<${tag}${attributes(el)}>`);
  if (VOID.has(el.tagName)) return;
  for (const child of el.childNodes) serialize(child, html);
  html.push(`</${tag}>`);
}

const KEPT = { A: ["href", "title"], IMG: ["src", "alt", "title"], OL: ["start"] };

function attributes(el) {
  return (KEPT[el.tagName] ?? [])
    .filter((name) => el.hasAttribute(name))
    .map((name) => ` ${name}="${escape(el.getAttribute(name))}"`)
    .join("");
}

function escape(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

document.documentElement.dataset.ready = "true";
