// The page's Markdown renderer (frontend/markdown.js) in real headless Chromium, under the site's
// CSP, with no server: the CommonMark spec's examples, streaming against rendering at once, a
// corpus of hostile replies, code highlighting in light and dark, and the vendored libraries
// against the npm packages they come from.
//
// Run with `cargo xtask test` (its browser step), or by hand:
// `cd frontend/tests && npm ci && node --test markdown.test.mjs`.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import spec from "commonmark-spec";
import markdownit from "markdown-it";

import { hostileCorpus } from "./hostile.mjs";
import { ARTIFACTS, FRONTEND, launchChromium, recordViolations, serveFiles } from "./page.mjs";

const ORIGIN = "http://chat.test";
const COUNTS_FILE = path.join(FRONTEND, "tests", "commonmark-count.json");
const SPEC_VERSION = JSON.parse(readFileSync(path.join(FRONTEND, "tests", "node_modules", "commonmark-spec", "package.json"), "utf8")).version;

let browser;
let page;
let seen;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  ({ page, seen } = await openHarness());
});

after(async () => {
  await browser?.close();
});

async function openHarness(options = {}) {
  const context = await browser.newContext({ viewport: { width: 900, height: 800 }, ...options });
  await serveFiles(context, ORIGIN);
  await recordViolations(context);
  const harnessPage = await context.newPage();
  const errors = [];
  harnessPage.on("pageerror", (error) => errors.push(error.message));
  await harnessPage.goto(`${ORIGIN}/tests/harness/markdown.html`);
  await harnessPage.waitForSelector("html[data-ready=true]");
  await harnessPage.evaluate(() => window.harness.highlighterReady());
  return { page: harnessPage, seen: { errors } };
}

/// The spec's examples, tabs restored (the spec writes them as →), each with what its HTML
/// becomes when raw HTML is text, when it has raw HTML: markdown-it (the vendored version) with
/// `html: false`, for the examples that markdown-it with `html: true` renders as the spec says.
function specExamples() {
  const strict = markdownit("commonmark");
  const noHtml = markdownit("commonmark", { html: false });
  return spec.tests.map(({ number, section, markdown, html }) => {
    const example = { number, section, markdown: markdown.replace(/→/g, "\t"), html: html.replace(/→/g, "\t") };
    if (strict.render(example.markdown) === example.html) {
      const text = noHtml.render(example.markdown);
      if (text !== example.html) example.rawHtml = text;
    }
    return example;
  });
}

describe("Markdown renderer", () => {
  test("CommonMark spec examples: the pass counts never drop", async () => {
    const examples = specExamples();
    const results = await page.evaluate((list) => window.harness.spec(list), examples);
    const written = results.filter((r) => r.written).length;
    const deviated = results.filter((r) => r.deviated).length;
    const floor = JSON.parse(readFileSync(COUNTS_FILE, "utf8"));

    const byDeviation = new Map();
    for (const r of results.filter((x) => x.deviated && !x.written)) {
      for (const name of r.applied) byDeviation.set(name, (byDeviation.get(name) ?? 0) + 1);
    }
    console.log(
      `CommonMark ${floor.spec}: ${written} of ${examples.length} examples pass as written, ` +
        `${deviated} with the chat deviations (${floor.as_written} and ${floor.with_deviations} checked in)`,
    );
    for (const [name, count] of byDeviation) console.log(`  ${count} examples differ only by: ${name}`);
    const failing = results.filter((r) => !r.deviated);
    for (const r of failing.slice(0, 20)) {
      const example = examples[r.number - 1];
      console.log(`  example ${r.number} (${example.section}) ${JSON.stringify(example.markdown)}`);
      console.log(`    expected ${r.expected}\n    rendered ${r.actual}`);
    }
    if (written > floor.as_written || deviated > floor.with_deviations) {
      console.log(
        `  the counts went up: set "as_written": ${written}, "with_deviations": ${deviated} in ${path.relative(process.cwd(), COUNTS_FILE)}`,
      );
    }
    assert.equal(floor.spec, SPEC_VERSION, "commonmark-count.json is for another version of the spec");
    assert.ok(written >= floor.as_written, `${written} pass as written, fewer than ${floor.as_written}`);
    assert.ok(deviated >= floor.with_deviations, `${deviated} pass with deviations, fewer than ${floor.with_deviations}`);
    assert.deepEqual(seen.errors, []);
  });

  test("streaming in small pieces renders the same as rendering at once", async () => {
    const documents = [...specExamples().map((e) => e.markdown), ...chatReplies()];
    const mismatches = await page.evaluate((docs) => {
      const found = [];
      docs.forEach((doc, i) => {
        for (const chunk of [1, 3, 7]) {
          const { whole, streamed } = window.harness.streamedAndWhole(doc, chunk);
          if (whole !== streamed) found.push({ i, chunk, whole, streamed });
        }
      });
      return found;
    }, documents);
    for (const m of mismatches.slice(0, 5)) {
      console.log(`document ${m.i} in ${m.chunk}-character pieces: ${JSON.stringify(documents[m.i])}`);
      console.log(`  at once  ${m.whole}\n  streamed ${m.streamed}`);
    }
    assert.equal(mismatches.length, 0, `${mismatches.length} documents render differently when streamed`);
  });

  test("a streamed reply builds each finished block once, with work linear in its length", async () => {
    const reply = longReply(300);
    const result = await page.evaluate(([text]) => window.harness.stream(text, 24), [reply]);
    const LIMITS = await page.evaluate(() => window.harness.LIMITS);
    console.log(
      `${reply.length} characters streamed in 24-character pieces: ${result.stats.passes} passes ` +
        `parsed ${result.stats.parsedChars} characters (${(result.stats.parsedChars / reply.length).toFixed(2)} per character), ` +
        `${result.stats.committedBlocks} blocks committed, ${result.ms.toFixed(0)} ms in all, slowest frame ${result.slowestRender.toFixed(1)} ms`,
    );
    assert.equal(result.firstKept, true, "the first finished block is still the same node at the end");
    assert.equal(result.stats.fullRenders, 0);
    assert.ok(result.stats.committedBlocks >= 300, `${result.stats.committedBlocks} blocks committed`);
    const bound = (text) => text.length / LIMITS.tailGrowth + text.length;
    assert.ok(result.stats.parsedChars <= bound(reply), `parsed ${result.stats.parsedChars} characters`);

    // One block that keeps growing (a long code block) is parsed again only as it grows by a
    // sixteenth: the work stays linear too.
    const code = `\`\`\`js\n${"const value = compute(1, 2, 3); // a comment\n".repeat(4000)}\`\`\`\n`;
    const block = await page.evaluate(([text]) => window.harness.stream(text, 16), [code]);
    console.log(`${code.length}-character code block in 16-character pieces: parsed ${block.stats.parsedChars} characters`);
    assert.ok(block.stats.parsedChars <= bound(code), `parsed ${block.stats.parsedChars} characters`);
    assert.deepEqual(await page.evaluate(() => window.harness.problems()), []);
  });

  test("hostile replies finish with no error and no disallowed element", async () => {
    const rows = [];
    for (const { name, text, stream } of hostileCorpus()) {
      const timing = await page.evaluate(([t]) => window.harness.render(t), [text]);
      const problems = await page.evaluate(() => window.harness.problems());
      assert.deepEqual(problems, [], `${name}: ${problems.join(", ")}`);
      let streamed = "";
      if (stream) {
        const s = await page.evaluate(([t, chunk]) => window.harness.stream(t, chunk), [text, stream]);
        assert.deepEqual(await page.evaluate(() => window.harness.problems()), [], `${name}, streamed`);
        streamed = `${s.ms.toFixed(0)} ms streamed (slowest frame ${s.slowestRender.toFixed(0)} ms)`;
      }
      rows.push(
        `${name.padEnd(44)} ${String(text.length).padStart(8)} chars  built in ${timing.build.toFixed(0).padStart(4)} ms, ` +
          `on screen in ${timing.total.toFixed(0).padStart(4)} ms  ${streamed}`,
      );
      assert.deepEqual(seen.errors, [], name);
    }
    console.log(rows.join("\n"));
  });

  test("links: only absolute http, https and mailto URLs, however they are written", async () => {
    const cases = [
      ["[a](https://example.com/x)", "https://example.com/x"],
      ["<https://example.com/y>", "https://example.com/y"],
      ["see https://example.com/z.", "https://example.com/z"],
      ["[m](mailto:someone@example.com)", "mailto:someone@example.com"],
      ["<someone@example.com>", "mailto:someone@example.com"],
      ["[a](HTTPS://EXAMPLE.COM/)", "HTTPS://EXAMPLE.COM/"],
      ["[a](javascript:alert(1))", null],
      ["[a](JaVaScRiPt:alert(1))", null],
      ["[a](jav&#x61;script:alert(1))", null],
      ["[a](java\tscript:alert(1))", null],
      ["[a](<java\nscript:alert(1)>)", null],
      ["[a](data:text/html;base64,PHNjcmlwdD4=)", null],
      ["[a](vbscript:msgbox)", null],
      ["[a](/relative)", null],
      ["[a](//example.com/x)", null],
      ["<javascript:alert(1)>", null],
      ["![x](data:image/png;base64,AAAA)", null],
      ["[a]\n\n[a]: javascript:alert(1)", null],
      ["main.rs and a@b.co and www.example.com", null],
    ];
    for (const [markdown, href] of cases) {
      const links = await page.evaluate(([m]) => {
        document.getElementById("out").replaceChildren();
        window.harness.render(m);
        return [...document.querySelectorAll("#out a")].map((a) => a.getAttribute("href"));
      }, [markdown]);
      assert.deepEqual(links, href ? [href] : [], markdown);
      assert.deepEqual(await page.evaluate(() => window.harness.problems()), [], markdown);
    }
  });

  test("a rendering error shows the reply as plain text", async () => {
    const text = "# Title\n\nSome **bold** text.\n\n```js\nlet x = 1;\n```\n";
    const result = await page.evaluate(([t]) => window.harness.failingContainer(t), [text]);
    assert.match(result.html, /^<div class="md-plain">/);
    assert.equal(result.text, text);
  });

  for (const colorScheme of ["light", "dark"]) {
    test(`code blocks keep their label and copy button and are highlighted (${colorScheme})`, async () => {
      const { page: shown, seen: shownSeen } = await openHarness({ colorScheme });
      await shown.evaluate(([t]) => window.harness.render(t), [showcase()]);
      const blocks = await shown.locator(".code-block").evaluateAll((els) =>
        els.map((el) => ({
          label: el.querySelector(".code-language").textContent,
          copy: el.querySelector(".copy-code").getAttribute("aria-label"),
          keywords: el.querySelectorAll("code .hljs-keyword").length,
          spans: el.querySelectorAll("code span").length,
        })),
      );
      assert.deepEqual(
        blocks.map((b) => [b.label, b.copy]),
        [
          ["rust", "Copy rust code"],
          ["python", "Copy python code"],
          ["json", "Copy json code"],
          ["code", "Copy code"],
        ],
      );
      assert.ok(blocks[0].keywords > 0 && blocks[1].keywords > 0, JSON.stringify(blocks));
      assert.equal(blocks[3].spans, 0, "a block without a language is not guessed at");
      assert.equal(
        await shown.locator(".code-block code").first().textContent(),
        'fn main() {\n    let greeting = "hello";\n    println!("{greeting}, world"); // 42\n}\n',
      );
      const colours = await shown.evaluate(() => {
        const keyword = getComputedStyle(document.querySelector(".hljs-keyword")).color;
        const text = getComputedStyle(document.querySelector(".code-block code")).color;
        return { keyword, text };
      });
      assert.notEqual(colours.keyword, colours.text, "keywords have a colour of their own");
      assert.deepEqual(await shown.evaluate(() => window.harness.problems()), []);
      assert.deepEqual(shownSeen.errors, []);
      await shown.screenshot({ path: path.join(ARTIFACTS, `markdown-${colorScheme}.png`), fullPage: true });
      await shown.context().close();
    });
  }

  test("the vendored libraries are the npm packages' files, byte for byte, with their licences", () => {
    const modules = path.join(FRONTEND, "tests", "node_modules");
    const pairs = [
      ["vendor/markdown-it/markdown-it.esm.min.mjs", "markdown-it/dist/browser/markdown-it.esm.min.mjs"],
      ["vendor/markdown-it/LICENSE.txt", "markdown-it/LICENSE"],
      ["vendor/markdown-it/LICENSE.entities.txt", "entities/LICENSE"],
      ["vendor/markdown-it/LICENSE.linkify-it.txt", "linkify-it/LICENSE"],
      ["vendor/markdown-it/LICENSE.mdurl.txt", "mdurl/LICENSE"],
      ["vendor/markdown-it/LICENSE.punycode.js.txt", "punycode.js/LICENSE-MIT.txt"],
      ["vendor/markdown-it/LICENSE.uc.micro.txt", "uc.micro/LICENSE.txt"],
      ["vendor/highlight.js/highlight.min.js", "@highlightjs/cdn-assets/es/highlight.min.js"],
      ["vendor/highlight.js/LICENSE.txt", "@highlightjs/cdn-assets/LICENSE"],
    ];
    for (const [vendored, original] of pairs) {
      assert.ok(readFileSync(path.join(FRONTEND, vendored)).equals(readFileSync(path.join(modules, original))), vendored);
    }
    const readme = readFileSync(path.join(FRONTEND, "vendor", "README.md"), "utf8");
    for (const name of ["markdown-it", "@highlightjs/cdn-assets"]) {
      const { version } = JSON.parse(readFileSync(path.join(modules, name, "package.json"), "utf8"));
      assert.ok(readme.includes(`${name} ${version}`), `vendor/README.md names ${name} ${version}`);
    }
    // Neither needs what the CSP forbids.
    for (const [vendored] of pairs.filter(([file]) => /\.m?js$/.test(file))) {
      assert.doesNotMatch(readFileSync(path.join(FRONTEND, vendored), "utf8"), /\beval\s*\(|new Function\s*\(/, vendored);
    }
  });
});

/// A few replies shaped like a model's: headings, lists, code, tables, quotes, links.
function chatReplies() {
  return [
    showcase(),
    longReply(12),
    "Here is the plan:\n1. Read the file\n2. Parse it\n   - tokens\n   - blocks\n3. Render\n\nDone.",
    "| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\nafter the table",
    "> quoted\n> more\n\n> another\nlazy line\n\ntext",
    "A [link][ref] before its definition.\n\nMore text.\n\n[ref]: https://example.com/ref \"Title\"\n",
    "Setext heading\n===\n\nAnother\n---\n\n* * *\n\n    indented code\n\nend",
    "```\nunclosed fence\nstill code",
    "Text with trailing spaces  \nhard break, and a \\\nbackslash break.",
  ];
}

function longReply(blocks) {
  const parts = [];
  for (let i = 0; i < blocks; i += 1) {
    switch (i % 6) {
      case 0:
        parts.push(`## Section ${i}`);
        break;
      case 1:
        parts.push(`Paragraph ${i} with **bold**, *emphasis*, \`code\` and a [link](https://example.com/${i}).\nA second line.`);
        break;
      case 2:
        parts.push(`- item ${i}\n- item with \`code\`\n  - nested`);
        break;
      case 3:
        parts.push(`\`\`\`python\ndef f${i}(x):\n    return x * ${i}\n\`\`\``);
        break;
      case 4:
        parts.push(`| n | square |\n|---|---:|\n| ${i} | ${i * i} |`);
        break;
      default:
        parts.push(`> A quote in block ${i}.`);
    }
  }
  return `${parts.join("\n\n")}\n`;
}

/// The reply the screenshots show: everything a reply can hold.
function showcase() {
  return [
    "# A reply with everything",
    "",
    "Some *emphasis*, **strong**, ~~struck~~ and `inline code`, a [link](https://example.com/docs \"Docs\"),",
    "a bare URL https://example.com/bare and an image ![a diagram](https://example.com/diagram.png).",
    "",
    "```rust",
    "fn main() {",
    '    let greeting = "hello";',
    '    println!("{greeting}, world"); // 42',
    "}",
    "```",
    "",
    "```python",
    "def area(radius: float) -> float:",
    '    """The area of a circle."""',
    "    return 3.14159 * radius ** 2  # approximately",
    "```",
    "",
    "```json",
    '{"name": "chatbot", "tags": ["rust", "aws"], "stars": 42, "public": true}',
    "```",
    "",
    "```",
    "plain text, no language",
    "```",
    "",
    "1. First",
    "2. Second",
    "   - nested",
    "",
    "> A quotation, with **bold** inside.",
    "",
    "| Left | Centre | Right |",
    "| :--- | :----: | ----: |",
    "| a | b | 1 |",
    "| longer cell | c | 22 |",
    "",
    "Raw HTML stays text: <b>not bold</b> <img src=x onerror=alert(1)>",
    "",
    "---",
    "",
    "The end.",
  ].join("\n");
}
