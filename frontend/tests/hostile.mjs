// Replies built to make a Markdown renderer slow, deep or unsafe: the browser tests render each
// one (it must finish with no error and no disallowed element) and the benchmark times them.
// Sizes go up to a megabyte, past what the service lets a model write (65,536 output tokens).

const MB = 1 << 20;

function repeat(unit, length) {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/// `{ name, text, stream }` for each input; `stream` is the chunk size to also stream it in, when
/// streaming it is worth the time.
export function hostileCorpus({ full = true } = {}) {
  const corpus = [
    // The inputs of the report that led to the current renderer, at their sizes.
    { name: "' *a' x 20,000 on one line (emphasis never closed)", text: " *a".repeat(20_000), stream: 512 },
    { name: "10,000 '['", text: "[".repeat(10_000), stream: 256 },
    { name: "10,000 nested '>'", text: `${">".repeat(10_000)} deep`, stream: 256 },
    { name: "10,000 nested links", text: `${"[a".repeat(10_000)}${"](https://e.com/)".repeat(10_000)}`, stream: 4096 },
    { name: "10,000 nested images", text: `${"![".repeat(10_000)}a${"](https://e.com/i.png)".repeat(10_000)}`, stream: 4096 },
    { name: "link in link in link", text: "[a [b [c](https://c.com/)](https://b.com/)](https://a.com/)" },
    // Deep nesting of every container and span.
    { name: "1,000 nested list items", text: Array.from({ length: 1_000 }, (_, i) => `${"  ".repeat(i)}- item`).join("\n"), stream: 4096 },
    { name: "10,000 '- ' on one line", text: `${"- ".repeat(10_000)}x` },
    { name: "10,000 '> - 1. ' mixed", text: `${"> - 1. ".repeat(10_000)}x` },
    { name: "50,000 '*' around one word", text: `${"*".repeat(50_000)}a${"*".repeat(50_000)}` },
    { name: "'**a *b ' x 20,000", text: "**a *b ".repeat(20_000) },
    { name: "300 backtick runs of growing length", text: Array.from({ length: 300 }, (_, i) => `${"`".repeat(i + 1)}a`).join(" ") },
    // Every kind of link target a reply must not get through.
    { name: "javascript:, data:, vbscript: forms", text: schemes() },
    { name: "autolinks of every scheme", text: ["javascript", "data", "vbscript", "file", "JAVASCRIPT", "http", "https", "mailto"].map((s) => `<${s}:x> `).join("") },
    { name: "raw HTML with handlers and scripts", text: rawHtml() },
  ];
  if (!full) return corpus;
  return [
    ...corpus,
    // A megabyte of each pathological pattern, on one line and as many blocks.
    { name: "1 MB line of ' *a'", text: repeat(" *a", MB), stream: 65_536 },
    { name: "1 MB of '['", text: "[".repeat(MB) },
    { name: "1 MB of '[a'", text: repeat("[a", MB) },
    { name: "1 MB of '![a'", text: repeat("![a", MB) },
    { name: "1 MB of '>'", text: ">".repeat(MB) },
    { name: "1 MB of '*a_'", text: repeat("*a_", MB) },
    { name: "1 MB of '<http://a '", text: repeat("<http://a ", MB) },
    { name: "1 MB of bare URLs", text: repeat("https://a.com/x ", MB) },
    { name: "1 MB of '&amp;&#x41;'", text: repeat("&amp;&#x41;", MB) },
    { name: "1 MB of backticks", text: repeat("`a``b```c", MB) },
    { name: "1 MB line of plain words", text: repeat("lorem ipsum dolor ", MB) },
    { name: "1 MB with no space", text: "x".repeat(MB) },
    { name: "1 MB of one-line paragraphs", text: repeat("para\n\n", MB), stream: 65_536 },
    { name: "1 MB of list items", text: repeat("- a\n", MB) },
    { name: "1 MB of setext headings", text: repeat("a\n=\n", MB) },
    { name: "1 MB table", text: `| a | b |\n|---|---|\n${repeat("| x | y |\n", MB)}` },
    { name: "1 MB table, 10,000 columns", text: `|${"a|".repeat(10_000)}\n|${"-|".repeat(10_000)}\n${`|${"x|".repeat(10_000)}\n`.repeat(45)}` },
    { name: "1 MB of reference definitions and uses", text: `${repeat("[a]: https://e.com/\n", MB / 2)}\n${repeat("[a] ", MB / 2)}` },
    { name: "1 MB code block, JavaScript", text: `\`\`\`js\n${repeat("const x = f(1, 'two', /re+/g); // c\n", MB)}\n\`\`\``, stream: 65_536 },
    { name: "1 MB of small code blocks", text: repeat("```js\nlet a = 1;\n```\n", MB) },
    { name: "1 MB of realistic reply", text: realisticReply(MB), stream: 65_536 },
  ];
}

function schemes() {
  const targets = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "javascript&#58;alert(1)",
    "jav&#x61;script:alert(1)",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)",
    "java%0ascript:alert(1)",
    "<java\tscript:alert(1)>",
    "javascript://%0aalert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/x",
    "/relative",
  ];
  const lines = [];
  for (const target of targets) {
    lines.push(`[link](${target}) ![image](${target}) [ref][${lines.length}]`);
    lines.push(`[${lines.length - 1}]: ${target}`);
    lines.push("");
  }
  return lines.join("\n");
}

function rawHtml() {
  return [
    "<script>window.__pwned = 1</script>",
    '<img src="x" onerror="window.__pwned = 2">',
    '<a href="javascript:alert(1)">x</a> <iframe src="https://example.com/"></iframe>',
    "<svg><script>alert(1)</script></svg>",
    '<div style="position:fixed;inset:0">cover</div>',
    "<!-- comment --> <![CDATA[ x ]]> <?php echo 1; ?>",
  ].join("\n\n");
}

/// A reply shaped like a model's (headings, formatted text, lists, code, tables) of `length`
/// characters.
export function realisticReply(length) {
  const part = [
    "## A section",
    "",
    "Some text with **bold**, *emphasis*, `code` and a [link](https://example.com/page).",
    "",
    "- a point",
    "- another, with `inline code`",
    "",
    "```python",
    "def main():",
    '    print("hello")',
    "```",
    "",
    "| key | value |",
    "|-----|------:|",
    "| a | 1 |",
    "",
    "",
  ].join("\n");
  return repeat(part, length);
}
