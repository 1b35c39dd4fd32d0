// The Markdown benchmark: the page's renderer against the one it replaced
// (bench/markdown/renderer-before.js), in the same run, in headless Chromium under the site's CSP.
// Prints, and with `--json FILE` writes:
// - page weight: the renderer's files, raw, gzip and brotli;
// - the CommonMark spec's pass counts, as written and with the chat deviations;
// - each hostile input (hostile.mjs) rendered at once: time until the next frame (wall) and the
//   CPU time of Chromium's renderer processes, before and after; a run the old renderer does not
//   finish within `--timeout-ms` is stopped and shown as "> N s";
// - replies streamed in 32-character pieces: the old page rendered the whole reply again on
//   every piece, the new one renders incrementally.
//
// Run by `cargo xtask bench --only markdown`, or by hand in frontend/tests:
// `node bench-markdown.mjs [--json FILE] [--timeout-ms 10000]`. Not a test: nothing fails on a
// slow figure.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import zlib from "node:zlib";

import spec from "commonmark-spec";
import markdownit from "markdown-it";

import { hostileCorpus, realisticReply } from "./hostile.mjs";
import { FRONTEND, ROOT, launchChromium, recordViolations, serveFiles } from "./page.mjs";

const ORIGIN = "http://chat.test";
const BASELINE = path.join(ROOT, "bench", "markdown");
const { values: options } = parseArgs({
  options: { json: { type: "string" }, "timeout-ms": { type: "string", default: "10000" } },
});
const TIMEOUT_MS = Number(options["timeout-ms"]);
const RENDERERS = { before: "before", after: "after" };

class TimeoutError extends Error {}

const browser = await launchChromium();
const report = {
  machine: {
    cpu: os.cpus()[0]?.model ?? "",
    cores: os.cpus().length,
    load_average: os.loadavg().map((l) => l.toFixed(2)).join(" "),
    chromium: browser.version(),
  },
  weight: pageWeight(),
  commonmark: {},
  hostile: [],
  streaming: [],
};

try {
  printWeight(report.weight);
  for (const renderer of Object.values(RENDERERS)) report.commonmark[renderer] = await commonmark(renderer);
  console.log(
    `\nCommonMark ${report.commonmark.after.spec}: of ${report.commonmark.after.examples} examples, as written / with the chat deviations`,
  );
  for (const renderer of Object.values(RENDERERS)) {
    const { written, deviated } = report.commonmark[renderer];
    console.log(`  ${renderer.padEnd(6)} ${written} / ${deviated}`);
  }

  console.log(`\nHostile inputs rendered at once: wall ms to the next frame (renderer CPU ms), median of up to 3 runs`);
  console.log(`${"input".padEnd(46)} ${"chars".padStart(8)}  ${"before".padStart(18)}  ${"after".padStart(16)}  ratio`);
  for (const { name, text } of hostileCorpus()) {
    const row = { name, chars: text.length };
    for (const renderer of Object.values(RENDERERS)) row[renderer] = await timed(renderer, (t) => window.harness.render(t), text);
    report.hostile.push(row);
    console.log(formatRow(row));
  }

  console.log(`\nA 2 KiB reply rendered 20 times in one page: median wall ms of a render, built and on screen`);
  const small = {};
  for (const renderer of Object.values(RENDERERS)) {
    const page = await openPage(renderer);
    small[renderer] = await page.evaluate(async (text) => {
      const runs = [];
      for (let i = 0; i < 20; i += 1) runs.push((await window.harness.render(text)).build);
      return runs.sort((a, b) => a - b)[10];
    }, realisticReply(2048));
    await page.context().close();
  }
  report.small_reply_ms = small;
  console.log(`  before ${small.before.toFixed(2)} ms, after ${small.after.toFixed(2)} ms`);

  console.log(`\nReplies streamed in 32-character pieces, one render per piece: total wall ms (renderer CPU ms)`);
  for (const size of [8_192, 32_768, 131_072]) {
    const text = realisticReply(size);
    const row = { name: `realistic reply, ${size / 1024} KiB`, chars: text.length };
    row.before = await timed(RENDERERS.before, streamWhole, text);
    row.after = await timed(RENDERERS.after, streamIncremental, text);
    report.streaming.push(row);
    console.log(formatRow(row));
  }
} finally {
  await browser.close();
}

console.log(`\nmachine: ${report.machine.cpu}, ${report.machine.cores} cores, load average ${report.machine.load_average}; ${report.machine.chromium}`);
if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);

// ---------------------------------------------------------------------------------------------

/// The renderer's files before (one hand-written module) and after (the module, the highlighter
/// glue and markdown-it; highlight.js is loaded with the first code block, so it is listed apart).
function pageWeight() {
  const sets = {
    before: [path.join(BASELINE, "renderer-before.js")],
    after: ["markdown.js", "code-highlight.js", "vendor/markdown-it/markdown-it.esm.min.mjs"].map((f) => path.join(FRONTEND, f)),
    "after, with the first code block": [path.join(FRONTEND, "vendor/highlight.js/highlight.min.js")],
    "page now (index.html, app.js, style.css)": ["index.html", "app.js", "style.css"].map((f) => path.join(FRONTEND, f)),
  };
  return Object.entries(sets).map(([name, files]) => {
    const sizes = { raw: 0, gzip: 0, brotli: 0 };
    for (const file of files) {
      let bytes = readFileSync(file);
      // The baseline carries a three-line header the page's copy did not have.
      if (file.endsWith("renderer-before.js")) bytes = Buffer.from(bytes.toString("utf8").split("\n").slice(4).join("\n"));
      sizes.raw += bytes.length;
      sizes.gzip += zlib.gzipSync(bytes, { level: 9 }).length;
      sizes.brotli += zlib.brotliCompressSync(bytes).length;
    }
    return { name, files: files.map((f) => path.relative(ROOT, f)), ...sizes };
  });
}

function printWeight(weight) {
  console.log("Page weight: bytes raw / gzip -9 / brotli");
  for (const w of weight) console.log(`  ${w.name.padEnd(42)} ${w.raw} / ${w.gzip} / ${w.brotli}`);
}

async function openPage(renderer) {
  const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  await serveFiles(context, ORIGIN, { mounts: { "/baseline/": BASELINE } });
  await recordViolations(context);
  const page = await context.newPage();
  const query = renderer === RENDERERS.before ? "?renderer=before" : "";
  await page.goto(`${ORIGIN}/tests/harness/markdown.html${query}`);
  await page.waitForSelector("html[data-ready=true]");
  await page.evaluate(() => window.harness.highlighterReady());
  return page;
}

async function commonmark(renderer) {
  const strict = markdownit("commonmark");
  const noHtml = markdownit("commonmark", { html: false });
  const examples = spec.tests.map(({ number, markdown, html }) => {
    const example = { number, markdown: markdown.replace(/→/g, "\t"), html: html.replace(/→/g, "\t") };
    if (strict.render(example.markdown) === example.html) {
      const text = noHtml.render(example.markdown);
      if (text !== example.html) example.rawHtml = text;
    }
    return example;
  });
  const page = await openPage(renderer);
  try {
    const results = await withTimeout(page.evaluate((list) => window.harness.spec(list), examples), 120_000);
    const version = JSON.parse(readFileSync(path.join(FRONTEND, "tests", "node_modules", "commonmark-spec", "package.json"), "utf8")).version;
    return {
      spec: version,
      examples: examples.length,
      written: results.filter((r) => r.written).length,
      deviated: results.filter((r) => r.deviated).length,
    };
  } catch (error) {
    return { spec: "", examples: examples.length, written: null, deviated: null, error: String(error) };
  } finally {
    await page.context().close();
  }
}

/// Runs `work(text)` in a fresh page of `renderer` up to 3 times (once when a run takes over a
/// second); median wall and CPU ms, or `finished: false` after the timeout.
async function timed(renderer, work, text) {
  const walls = [];
  const cpus = [];
  for (let run = 0; run < 3; run += 1) {
    const page = await openPage(renderer);
    const cpuBefore = rendererCpuMs();
    const start = performance.now();
    let outcome;
    let failure = null;
    try {
      outcome = await withTimeout(page.evaluate(work, text), TIMEOUT_MS);
    } catch (error) {
      failure = error;
    }
    const wall = outcome?.total ?? outcome?.ms ?? performance.now() - start;
    const cpu = rendererCpuMs() - cpuBefore;
    await page.context().close();
    if (failure instanceof TimeoutError) return { finished: false, wall_ms: TIMEOUT_MS, cpu_ms: cpu };
    if (failure) return { finished: false, error: /\w*Error: [^\n]*/.exec(failure.message)?.[0] ?? failure.message, wall_ms: wall, cpu_ms: cpu };
    walls.push(wall);
    cpus.push(cpu);
    if (wall > 1000) break;
  }
  return { finished: true, wall_ms: median(walls), cpu_ms: median(cpus), runs: walls.length };
}

/// The old page: the whole reply rendered again for every piece that arrives.
function streamWhole(text) {
  const out = document.getElementById("out");
  const start = performance.now();
  for (let i = 32; i < text.length + 32; i += 32) {
    out.replaceChildren(window.harness.renderOnce(text.slice(0, i)));
  }
  return { ms: performance.now() - start };
}

function streamIncremental(text) {
  return window.harness.stream(text, 32);
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/// CPU time (user + system) of this process's Chromium renderer processes so far, in ms.
function rendererCpuMs() {
  const parents = new Map();
  const renderers = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(pid, fields[1]);
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) {
        renderers.push({ pid, ticks: Number(fields[11]) + Number(fields[12]) });
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  const ours = (pid) => {
    for (let p = pid, hops = 0; p && p !== "0" && hops < 16; p = parents.get(p), hops += 1) {
      if (p === String(process.pid)) return true;
    }
    return false;
  };
  // Linux counts CPU time in clock ticks of 10 ms.
  return renderers.filter((r) => ours(r.pid)).reduce((sum, r) => sum + r.ticks * 10, 0);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function formatRow(row) {
  const cell = (m) => {
    if (m.finished) return `${m.wall_ms.toFixed(0)} (${m.cpu_ms.toFixed(0)})`;
    return m.error ? m.error.split(":")[0] : `> ${TIMEOUT_MS / 1000} s`;
  };
  const ratio = row.before.finished && row.after.finished ? `${(row.before.wall_ms / row.after.wall_ms).toFixed(1)}x` : "";
  return `${row.name.slice(0, 46).padEnd(46)} ${String(row.chars).padStart(8)}  ${cell(row.before).padStart(18)}  ${cell(row.after).padStart(16)}  ${ratio}`;
}
