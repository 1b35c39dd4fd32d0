// The chat page's Markdown renderer before markdown-it, kept unchanged as the baseline of the
// Markdown benchmark (frontend/tests/bench-markdown.mjs, `cargo xtask bench --only markdown`).
// Not part of the page, and not published.

// Markdown for model replies, rendered safely.
//
// The renderer never parses HTML: every piece of model output becomes a text node or an
// element made with `createElement`, so a reply cannot create a script, an event handler, an
// image or any other element that loads something. Raw HTML in a reply shows as the text it
// is. Links are the only URLs taken from the reply; they accept http, https and mailto only
// and load nothing until followed. Images are shown as links for the same reason.
//
// Supported: paragraphs (a single newline is a line break, as in chat), ATX headings, fenced
// code blocks (an unclosed fence while streaming renders as code so far), indented code,
// block quotes, ordered and unordered lists (nested by indentation), GFM tables, thematic
// breaks, and inline code, strong, emphasis, strikethrough, links, autolinks and bare URLs.

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+(.*))?$/;
const TABLE_DIVIDER = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const INDENTED = /^(?: {4}|\t)/;
const PUNCTUATION = /[!-/:-@[-`{-~]/;

/// Renders `source` as Markdown into a new DocumentFragment of `doc`.
export function renderMarkdown(source, doc = document) {
  const fragment = doc.createDocumentFragment();
  const lines = String(source).replace(/\r\n?/g, "\n").split("\n");
  for (const node of blocks(lines, doc)) fragment.append(node);
  return fragment;
}

function blocks(lines, doc) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") {
      i += 1;
      continue;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      const indent = line.length - line.trimStart().length;
      i += 1;
      while (i < lines.length) {
        const closing = lines[i].trim();
        if (closing.startsWith(fence) && closing.replaceAll(fence[0], "") === "") {
          i += 1;
          break;
        }
        body.push(stripIndent(lines[i], indent));
        i += 1;
      }
      out.push(codeBlock(body.join("\n"), m[2], doc));
      continue;
    }
    if ((m = HEADING.exec(line))) {
      const heading = el(doc, `h${m[1].length}`);
      heading.append(...inline(m[2] ?? "", doc));
      out.push(heading);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push(el(doc, "hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && lines[i].trim() !== "") {
        const q = QUOTE.exec(lines[i]);
        body.push(q ? q[1] : lines[i]);
        i += 1;
      }
      const quote = el(doc, "blockquote");
      quote.append(...blocks(body, doc));
      out.push(quote);
      continue;
    }
    if (LIST_ITEM.test(line)) {
      i = list(lines, i, doc, out);
      continue;
    }
    if (INDENTED.test(line)) {
      const body = [];
      while (i < lines.length && (INDENTED.test(lines[i]) || lines[i].trim() === "")) {
        body.push(lines[i].replace(INDENTED, ""));
        i += 1;
      }
      while (body.length && body[body.length - 1].trim() === "") body.pop();
      out.push(codeBlock(body.join("\n"), "", doc));
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1])) {
      const header = cells(line);
      const align = cells(lines[i + 1]).map((c) =>
        c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : c.startsWith(":") ? "left" : "",
      );
      if (header.length === align.length) {
        i += 2;
        const rows = [];
        while (i < lines.length && lines[i].trim() !== "" && lines[i].includes("|")) {
          rows.push(cells(lines[i]));
          i += 1;
        }
        out.push(table(header, align, rows, doc));
        continue;
      }
    }
    const body = [];
    while (i < lines.length && lines[i].trim() !== "" && (body.length === 0 || !startsBlock(lines, i))) {
      body.push(lines[i].trim());
      i += 1;
    }
    const paragraph = el(doc, "p");
    paragraph.append(...inline(body.join("\n"), doc));
    out.push(paragraph);
  }
  return out;
}

function startsBlock(lines, i) {
  const line = lines[i];
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    LIST_ITEM.test(line) ||
    (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1]))
  );
}

// A list starting at `lines[start]`; appends it to `out` and returns the index after it.
function list(lines, start, doc, out) {
  const first = LIST_ITEM.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const base = first[1].length;
  const listEl = el(doc, ordered ? "ol" : "ul");
  if (ordered) {
    const n = parseInt(first[2], 10);
    if (n !== 1) listEl.setAttribute("start", String(n));
  }
  let i = start;
  let loose = false;
  const items = [];
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m || m[1].length !== base || /\d/.test(m[2]) !== ordered) break;
    const contentIndent = base + m[2].length + 1;
    const body = [m[4] ?? ""];
    i += 1;
    while (i < lines.length) {
      const line = lines[i];
      if (line.trim() === "") {
        const next = lines[i + 1];
        if (next !== undefined && indentOf(next) >= contentIndent && next.trim() !== "") {
          loose = true;
          body.push("");
          i += 1;
          continue;
        }
        if (next !== undefined && LIST_ITEM.test(next) && indentOf(next) === base) loose = true;
        break;
      }
      const sibling = LIST_ITEM.exec(line);
      if (sibling && sibling[1].length <= base) break;
      if (indentOf(line) < contentIndent && !sibling && startsBlock(lines, i)) break;
      body.push(stripIndent(line, Math.min(indentOf(line), contentIndent)));
      i += 1;
    }
    items.push(body);
    while (i < lines.length && lines[i].trim() === "") {
      const next = lines[i + 1];
      const m2 = next === undefined ? null : LIST_ITEM.exec(next);
      if (!m2 || m2[1].length !== base) break;
      i += 1;
    }
  }
  for (const body of items) {
    const item = el(doc, "li");
    const children = blocks(body, doc);
    for (const child of children) {
      if (!loose && child.nodeName === "P") item.append(...child.childNodes);
      else item.append(child);
    }
    listEl.append(item);
  }
  out.push(listEl);
  return i;
}

function indentOf(line) {
  return line.length - line.trimStart().length;
}

function stripIndent(line, n) {
  let k = 0;
  while (k < n && line[k] === " ") k += 1;
  return line.slice(k);
}

function cells(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  const result = [];
  let current = "";
  for (let k = 0; k < row.length; k += 1) {
    if (row[k] === "\\" && row[k + 1] === "|") {
      current += "|";
      k += 1;
    } else if (row[k] === "|") {
      result.push(current.trim());
      current = "";
    } else {
      current += row[k];
    }
  }
  result.push(current.trim());
  return result;
}

function table(header, align, rows, doc) {
  const wrap = el(doc, "div", "table-wrap");
  const tableEl = el(doc, "table");
  const head = el(doc, "thead");
  const headRow = el(doc, "tr");
  header.forEach((text, k) => headRow.append(cell(doc, "th", text, align[k])));
  head.append(headRow);
  const body = el(doc, "tbody");
  for (const row of rows) {
    const tr = el(doc, "tr");
    header.forEach((_, k) => tr.append(cell(doc, "td", row[k] ?? "", align[k])));
    body.append(tr);
  }
  tableEl.append(head, body);
  wrap.append(tableEl);
  return wrap;
}

function cell(doc, tag, text, align) {
  const c = el(doc, tag, align ? `align-${align}` : "");
  c.append(...inline(text, doc));
  return c;
}

function codeBlock(text, language, doc) {
  const block = el(doc, "div", "code-block");
  const bar = el(doc, "div", "code-bar");
  const label = el(doc, "span", "code-language");
  label.textContent = language || "code";
  const copy = el(doc, "button", "copy-code");
  copy.type = "button";
  copy.textContent = "Copy";
  copy.setAttribute("aria-label", language ? `Copy ${language} code` : "Copy code");
  bar.append(label, copy);
  const pre = el(doc, "pre");
  const code = el(doc, "code");
  if (/^[\w+#.-]+$/.test(language)) code.className = `language-${language}`;
  code.textContent = text;
  pre.append(code);
  pre.tabIndex = 0;
  block.append(bar, pre);
  return block;
}

// Inline Markdown as a list of nodes.
function inline(text, doc) {
  const out = [];
  let plain = "";
  const flush = () => {
    if (plain) out.push(doc.createTextNode(plain));
    plain = "";
  };
  const push = (node) => {
    flush();
    out.push(node);
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    if (c === "\\" && i + 1 < text.length && PUNCTUATION.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "\\" && text[i + 1] === "\n") {
      push(el(doc, "br"));
      i += 2;
      continue;
    }
    if (c === "\n") {
      plain = plain.replace(/ +$/, "");
      push(el(doc, "br"));
      i += 1;
      continue;
    }
    if (c === "`") {
      const run = /^`+/.exec(rest)[0];
      const close = findRun(text, "`", run.length, i + run.length);
      if (close >= 0) {
        const code = el(doc, "code");
        let inner = text.slice(i + run.length, close).replace(/\n/g, " ");
        if (/^ .*[^ ].* $/.test(inner)) inner = inner.slice(1, -1);
        code.textContent = inner;
        push(code);
        i = close + run.length;
        continue;
      }
      plain += run;
      i += run.length;
      continue;
    }
    if (c === "[" || (c === "!" && text[i + 1] === "[")) {
      const image = c === "!";
      const link = parseLink(text, image ? i + 1 : i);
      if (link) {
        const label = image ? link.label || "image" : link.label;
        const children = image ? [doc.createTextNode(label)] : inline(label, doc);
        push(anchor(doc, link.url, children, image));
        i = link.end;
        continue;
      }
    }
    if (c === "<") {
      const m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/.exec(rest);
      if (m) {
        push(anchor(doc, m[1], [doc.createTextNode(m[1])], false));
        i += m[0].length;
        continue;
      }
    }
    if ((c === "h" || c === "w") && (i === 0 || /[\s(*_~]/.test(text[i - 1]))) {
      const m = /^(?:https?:\/\/|www\.)[^\s<]*[^\s<.,:;"')\]*_~!?]/.exec(rest);
      if (m) {
        const href = m[0].startsWith("www.") ? `https://${m[0]}` : m[0];
        push(anchor(doc, href, [doc.createTextNode(m[0])], false));
        i += m[0].length;
        continue;
      }
    }
    if (c === "*" || c === "_" || c === "~") {
      const run = new RegExp(`^\\${c}+`).exec(rest)[0];
      const size = c === "~" ? (run.length >= 2 ? 2 : 0) : Math.min(run.length, 3);
      const before = i === 0 ? " " : text[i - 1];
      const after = text[i + run.length] ?? " ";
      const opens = size > 0 && !/\s/.test(after) && (c !== "_" || !/[\p{L}\p{N}]/u.test(before));
      if (opens) {
        const close = findClosing(text, c, size, i + size);
        if (close >= 0) {
          const inner = inline(text.slice(i + size, close), doc);
          let node;
          if (c === "~") node = wrap(doc, "del", inner);
          else if (size === 3) node = wrap(doc, "strong", [wrap(doc, "em", inner)]);
          else node = wrap(doc, size === 2 ? "strong" : "em", inner);
          push(node);
          i = close + size;
          continue;
        }
      }
      plain += run;
      i += run.length;
      continue;
    }
    plain += c;
    i += 1;
  }
  flush();
  return out;
}

// Index of the next run of exactly `size` `ch` characters at or after `from`, or -1.
function findRun(text, ch, size, from) {
  let k = from;
  while (k < text.length) {
    if (text[k] !== ch) {
      k += 1;
      continue;
    }
    let end = k;
    while (text[end] === ch) end += 1;
    if (end - k === size) return k;
    k = end;
  }
  return -1;
}

// Index of the delimiter run closing an emphasis opened with `size` `ch` characters, or -1.
function findClosing(text, ch, size, from) {
  let k = from;
  while (k < text.length) {
    if (text[k] === "`") {
      const run = /^`+/.exec(text.slice(k))[0];
      const close = findRun(text, "`", run.length, k + run.length);
      k = close >= 0 ? close + run.length : k + run.length;
      continue;
    }
    if (text[k] === "\\") {
      k += 2;
      continue;
    }
    if (text[k] !== ch) {
      k += 1;
      continue;
    }
    let end = k;
    while (text[end] === ch) end += 1;
    const runLength = end - k;
    const before = text[k - 1];
    const after = text[end] ?? " ";
    const closes = k > from && !/\s/.test(before) && (ch !== "_" || !/[\p{L}\p{N}]/u.test(after));
    if (closes && runLength >= size) return end - size;
    k = end;
  }
  return -1;
}

// `[label](url "title")` starting at `text[start] === "["`.
function parseLink(text, start) {
  let depth = 0;
  let k = start;
  for (; k < text.length; k += 1) {
    if (text[k] === "\\") k += 1;
    else if (text[k] === "[") depth += 1;
    else if (text[k] === "]") {
      depth -= 1;
      if (depth === 0) break;
    }
  }
  if (depth !== 0 || text[k + 1] !== "(") return null;
  const m = /^\(\s*<?([^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)>?(?:\s+("[^"]*"|'[^']*'))?\s*\)/.exec(text.slice(k + 1));
  if (!m) return null;
  return { label: text.slice(start + 1, k), url: m[1], end: k + 1 + m[0].length };
}

function anchor(doc, url, children, image) {
  const safe = safeUrl(url);
  if (!safe) return wrap(doc, "span", children);
  const a = el(doc, "a", image ? "image-link" : "");
  a.setAttribute("href", safe);
  a.setAttribute("rel", "noopener noreferrer nofollow");
  a.setAttribute("referrerpolicy", "no-referrer");
  a.setAttribute("target", "_blank");
  a.append(...children);
  return a;
}

/// `url` when it is an absolute http, https or mailto URL; null for anything else.
export function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

function wrap(doc, tag, children) {
  const node = el(doc, tag);
  node.append(...children);
  return node;
}

function el(doc, tag, className = "") {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  return node;
}
