// Syntax highlighting of fenced code blocks in replies, with highlight.js (vendored, common
// languages build; see vendor/README.md).
//
// highlight.js is loaded on first use: it weighs more than the rest of the page's scripts, and most
// replies have no code. Blocks rendered before it arrives are highlighted when it does.
//
// Nothing it returns is parsed as HTML. `hljs.highlight` returns the code HTML-escaped, with
// `<span class="hljs-…">` and `</span>` as its only markup; `spansFrom` reads exactly that
// grammar into span elements and text nodes and refuses anything else (the block then stays
// plain text). Only fences that name a language highlight.js knows are highlighted: no
// guessing, which would run every grammar over the block.

/// Blocks longer than this stay plain: highlighting costs a few microseconds per character.
export const HIGHLIGHT_MAX_CHARS = 20_000;
const MAX_SPAN_DEPTH = 32;

let hljs = null;
let loading = null;
/// Code elements rendered before highlight.js arrived, with their language.
const waiting = new Map();

/// Highlights `text` into `code` (which shows it as plain text already) when highlight.js knows
/// `language`; returns whether it did. Before highlight.js has loaded, the block is remembered
/// and highlighted once it arrives, if it is still on the page.
export function highlightCode(code, language, text) {
  if (!language || text.length > HIGHLIGHT_MAX_CHARS) return false;
  if (!hljs) {
    waiting.set(code, language);
    load();
    return false;
  }
  return apply(code, language, text);
}

/// Resolves once highlight.js has loaded (or failed to): for tests and the benchmark.
export function highlighterReady() {
  load();
  return loading;
}

function load() {
  loading ??= import("./vendor/highlight.js/highlight.min.js").then(
    (module) => {
      hljs = module.default;
      for (const [code, language] of waiting) {
        if (code.isConnected) apply(code, language, code.textContent);
      }
      waiting.clear();
    },
    (error) => {
      // Without highlight.js, code stays plain text; the page works on.
      console.warn("code highlighting is unavailable:", error);
      waiting.clear();
    },
  );
}

function apply(code, language, text) {
  if (!hljs.getLanguage(language)) return false;
  try {
    const { value } = hljs.highlight(text, { language, ignoreIllegals: true });
    code.replaceChildren(spansFrom(value, code.ownerDocument));
    return true;
  } catch {
    code.textContent = text;
    return false;
  }
}

const PART = /<span class="([\w -]{1,200})">|<\/span>|[^<&]+|&(amp|lt|gt|quot|#x27);/y;
const ENTITY = { amp: "&", lt: "<", gt: ">", quot: '"', "#x27": "'" };

/// highlight.js's HTML as DOM nodes: escaped text and nested `<span class>` only, else an error.
export function spansFrom(html, doc) {
  const root = doc.createDocumentFragment();
  const stack = [root];
  let text = "";
  const flush = () => {
    if (text) stack[stack.length - 1].append(text);
    text = "";
  };
  PART.lastIndex = 0;
  while (PART.lastIndex < html.length) {
    const start = PART.lastIndex;
    const m = PART.exec(html);
    if (!m) throw new Error(`unexpected highlighter output at ${start}`);
    if (m[1] !== undefined) {
      if (stack.length > MAX_SPAN_DEPTH) throw new Error("highlighter output nests too deep");
      flush();
      const span = doc.createElement("span");
      span.className = m[1];
      stack[stack.length - 1].append(span);
      stack.push(span);
    } else if (m[0] === "</span>") {
      if (stack.length === 1) throw new Error("unbalanced highlighter output");
      flush();
      stack.pop();
    } else {
      text += m[2] === undefined ? m[0] : ENTITY[m[2]];
    }
  }
  if (stack.length !== 1) throw new Error("unbalanced highlighter output");
  flush();
  return root;
}
