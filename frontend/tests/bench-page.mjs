// The page benchmark: the chat page now against the page of an earlier revision, in the same
// run, in headless Chromium, served with gzip and the site's CSP by a local server whose API
// answers like the chat service (no model needed). For each page and each profile (a desktop,
// and a phone: CPU 4× slower, a slow 4G network), over `--runs` fresh loads each, alternating:
// - weight: bytes on the wire (gzip) and requests, until the page is ready;
// - ready: from navigation to the page's scripts having set it up (`html[data-ready]`);
// - time to interactive: from navigation to the end of the last long task (50 ms or more) of
//   the load, or to ready if later; total blocking time: the long tasks' time past 50 ms;
// - the same when the page opens a chat of 30 long Markdown answers (`#<id>`), with the time
//   until the conversation shows.
//
// Run by `cargo xtask bench --only page --page-before REV`, or by hand in frontend/tests:
// `node bench-page.mjs --before REV [--runs 7] [--json FILE]`. Without `--before` only the page
// now is measured. Not a test: nothing fails on a slow figure.

import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import zlib from "node:zlib";

import { CSP, FRONTEND, ROOT, launchChromium } from "./page.mjs";

const { values: options } = parseArgs({
  options: {
    before: { type: "string" },
    runs: { type: "string", default: "7" },
    json: { type: "string" },
  },
});
const RUNS = Number(options.runs);
const SESSION = "0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10";
const PROFILES = {
  desktop: { viewport: { width: 1280, height: 800 }, cpu: 1, network: null },
  phone: {
    viewport: { width: 390, height: 844 },
    cpu: 4,
    // Chrome DevTools' "Slow 4G".
    network: { latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 },
  },
};
const SCENARIOS = { empty: "/", "long chat": `/#${SESSION}` };
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

const pages = { now: FRONTEND };
if (options.before) pages[`before (${options.before})`] = checkout(options.before);

const browser = await launchChromium();
const servers = Object.fromEntries(await Promise.all(Object.entries(pages).map(async ([name, dir]) => [name, await serve(dir)])));
const report = {
  machine: {
    cpu: os.cpus()[0]?.model ?? "",
    cores: os.cpus().length,
    load_average: os.loadavg().map((l) => l.toFixed(2)).join(" "),
    chromium: browser.version(),
  },
  before: options.before ?? null,
  runs: RUNS,
  results: [],
};

try {
  for (const [profileName, profile] of Object.entries(PROFILES)) {
    for (const [scenario, route] of Object.entries(SCENARIOS)) {
      const samples = Object.fromEntries(Object.keys(pages).map((name) => [name, []]));
      for (let run = 0; run < RUNS; run += 1) {
        for (const name of Object.keys(pages)) samples[name].push(await load(servers[name].url + route, profile, scenario));
      }
      for (const [name, list] of Object.entries(samples)) {
        const result = { page: name, profile: profileName, scenario, ...summarize(list) };
        report.results.push(result);
        print(result);
      }
    }
  }
} finally {
  await browser.close();
  for (const server of Object.values(servers)) server.close();
}

console.log(`\nmachine: ${report.machine.cpu}, ${report.machine.cores} cores, load average ${report.machine.load_average}; ${report.machine.chromium}`);
if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);

// ---------------------------------------------------------------------------------------------

/// The page's files at `revision`, extracted under target/bench/page/.
function checkout(revision) {
  const dir = path.join(ROOT, "target", "bench", "page", revision.replace(/[^\w.-]/g, "_"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync("git", ["archive", "--format=tar", revision, "frontend"], { cwd: ROOT, maxBuffer: 1 << 30 });
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  return path.join(dir, "frontend");
}

/// The files of `dir` with gzip and the CSP, and the API's answers the page asks for on load.
function serve(dir) {
  const history = JSON.stringify({ session_id: SESSION, messages: longHistory() });
  const models = JSON.stringify({
    default: "m1",
    models: [
      { id: "m1", name: "Claude Haiku 4.5" },
      { id: "m2", name: "Amazon Nova Lite" },
    ],
    demo: false,
    starter_prompts: ["Explain DynamoDB TTL in two sentences", "Write a Rust function that reverses a string"],
    limits: { message_chars: 8000, request_bytes: 32768 },
  });
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, "http://page.test");
    const gzip = /\bgzip\b/.test(request.headers["accept-encoding"] ?? "");
    const send = (status, type, body) => {
      const headers = { "content-type": type, "cache-control": "no-store" };
      if (gzip) {
        headers["content-encoding"] = "gzip";
        body = zlib.gzipSync(body);
      }
      response.writeHead(status, headers);
      response.end(body);
    };
    if (url.pathname === "/api/models") return send(200, "application/json", models);
    if (url.pathname === `/api/sessions/${SESSION}/messages`) return send(200, "application/json", history);
    if (url.pathname.startsWith("/api/")) return send(404, "application/json", '{"error":{"code":"not_found","message":"no"}}');
    const file = path.resolve(dir, url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname.slice(1)));
    const type = TYPES[path.extname(file)];
    if (!file.startsWith(dir + path.sep) || !type || !existsSync(file)) return send(404, "text/plain", "");
    const headers = { "content-type": type, "content-security-policy": CSP, "cache-control": "no-store" };
    if (gzip) headers["content-encoding"] = "gzip";
    response.writeHead(200, headers);
    const stream = createReadStream(file);
    (gzip ? stream.pipe(zlib.createGzip()) : stream).pipe(response);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() });
    });
  });
}

/// Thirty questions, each answered with about 6 KB of Markdown: headings, lists, code, a table.
function longHistory() {
  const answer = (i) =>
    [
      `## Part ${i}`,
      "",
      ...Array.from({ length: 8 }, (_, p) => `Paragraph ${p} with **bold**, *emphasis*, \`code\` and a [link](https://example.com/${p}). `.repeat(5)),
      "",
      "```rust",
      ...Array.from({ length: 20 }, (_, l) => `fn step_${l}(x: u32) -> u32 { x.wrapping_mul(${l + 3}) }`),
      "```",
      "",
      "| key | value |",
      "| --- | --- |",
      ...Array.from({ length: 10 }, (_, r) => `| row ${r} | ${r * r} |`),
      "",
      ...Array.from({ length: 8 }, (_, n) => `- item ${n}`),
    ].join("\n");
  const messages = [];
  for (let i = 0; i < 30; i += 1) {
    const at = new Date(Date.UTC(2025, 3, 9, 12, i)).toISOString();
    const id = (n) => `${String(1744200000000 + i * 1000 + n).padStart(13, "0")}-${String(i * 2 + n).padStart(10, "0")}-0000abcd`;
    messages.push({ id: id(0), role: "user", content: `Question ${i}`, created_at: at, model: "m1", incomplete: false, blocked: null, usage: null, latency_ms: null, stop_reason: null, feedback: null });
    messages.push({
      id: id(1),
      role: "assistant",
      content: answer(i),
      created_at: at,
      model: "m1",
      incomplete: false,
      blocked: null,
      usage: { input_tokens: 100, output_tokens: 1500 },
      latency_ms: 4000,
      stop_reason: "end_turn",
      feedback: null,
    });
  }
  return messages;
}

/// One load of `url` in a fresh profile; its figures in ms and bytes.
async function load(url, profile, scenario) {
  const context = await browser.newContext({ viewport: profile.viewport });
  await context.addInitScript(() => {
    window.__bench = { longTasks: [], ready: null, shown: null, drawn: null };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__bench.longTasks.push([entry.startTime, entry.duration]);
    }).observe({ type: "longtask", buffered: true });
    new MutationObserver(() => {
      const now = performance.now();
      const bench = window.__bench;
      if (bench.ready === null && document.documentElement.dataset.ready === "true") bench.ready = now;
      if (bench.shown === null && document.querySelector(".turn.assistant .turn-body")) bench.shown = now;
      // The page now draws a long history in steps and says when it is done; before, at once.
      const messages = document.getElementById("messages");
      const done = messages?.dataset.history ? messages.dataset.history === "drawn" : bench.shown !== null;
      if (bench.drawn === null && done && bench.shown !== null) bench.drawn = now;
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  let requests = 0;
  cdp.on("Network.loadingFinished", (event) => {
    bytes += event.encodedDataLength;
    requests += 1;
  });
  if (profile.cpu > 1) await cdp.send("Emulation.setCPUThrottlingRate", { rate: profile.cpu });
  if (profile.network) await cdp.send("Network.emulateNetworkConditions", { offline: false, ...profile.network });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(
    (long) => window.__bench.ready !== null && (!long || window.__bench.drawn !== null),
    scenario === "long chat",
    { timeout: 120_000 },
  );
  // Long tasks still running when the page was drawn are reported when they end.
  await page.waitForTimeout(500 * profile.cpu);
  const figures = await page.evaluate(() => {
    const { longTasks, ready, shown, drawn } = window.__bench;
    const lastEnd = longTasks.reduce((end, [start, duration]) => Math.max(end, start + duration), 0);
    return {
      ready,
      shown,
      tti: Math.max(ready, drawn ?? 0, lastEnd),
      tbt: longTasks.reduce((sum, [, duration]) => sum + Math.max(0, duration - 50), 0),
      longest: longTasks.reduce((most, [, duration]) => Math.max(most, duration), 0),
    };
  });
  await context.close();
  return { ...figures, bytes, requests };
}

function median(values) {
  const sorted = values.filter((v) => typeof v === "number").sort((a, b) => a - b);
  if (!sorted.length) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(list) {
  const figure = (key) => median(list.map((sample) => sample[key]));
  return {
    samples: list.length,
    bytes: figure("bytes"),
    requests: figure("requests"),
    ready_ms: figure("ready"),
    shown_ms: figure("shown"),
    tti_ms: figure("tti"),
    tbt_ms: figure("tbt"),
    longest_task_ms: figure("longest"),
  };
}

function print(r) {
  const ms = (v) => (v === null ? "-" : `${Math.round(v)} ms`);
  console.log(
    `${r.profile.padEnd(8)} ${r.scenario.padEnd(10)} ${r.page.padEnd(22)} ${String(Math.round(r.bytes / 1024)).padStart(5)} KiB ${String(r.requests).padStart(3)} req  ready ${ms(r.ready_ms).padStart(8)}  shown ${ms(r.shown_ms).padStart(8)}  TTI ${ms(r.tti_ms).padStart(8)}  TBT ${ms(r.tbt_ms).padStart(8)}  longest task ${ms(r.longest_task_ms)}`,
  );
}

