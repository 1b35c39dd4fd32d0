// Starts and stops the local servers the browser tests run against: the fake Bedrock and
// `cargo xtask dev` (the chat service with the page), each in its own process group so that stopping
// it also stops whatever it started.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

import { ARTIFACTS, ROOT } from "./page.mjs";

export { ARTIFACTS, ROOT };
const BIN = path.join(ROOT, "target", "debug");

const running = [];

/// A TCP port on 127.0.0.1 that was free a moment ago.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function binary(name) {
  const file = path.join(BIN, name);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: build it first (cargo xtask test builds it)`);
  }
  return file;
}

function start(name, file, args, env) {
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const proc = { name, child, log: "", exited: null };
  child.stdout.on("data", (chunk) => {
    proc.log += chunk;
  });
  child.stderr.on("data", (chunk) => {
    proc.log += chunk;
  });
  child.on("exit", (code, signal) => {
    proc.exited = signal ?? code;
  });
  running.push(proc);
  return proc;
}

async function waitFor(proc, check, what) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (proc.exited !== null) {
      throw new Error(`${proc.name} exited (${proc.exited}) before ${what}:\n${proc.log}`);
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${proc.name}: gave up waiting for ${what}:\n${proc.log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/// The fake Bedrock on a free port, with `args` added (`--guardrail ID:VERSION`); resolves to its
/// endpoint URL.
export async function startFakeBedrock(args = []) {
  const proc = start("fake-bedrock", binary("fake-bedrock"), ["--port", "0", ...args], {});
  let endpoint = null;
  await waitFor(
    proc,
    async () => {
      endpoint = /fake-bedrock listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.log)?.[1] ?? null;
      return endpoint !== null;
    },
    "it printed its address",
  );
  return endpoint;
}

/// The AWS settings that point the service at the fake Bedrock at `endpoint`, with stand-in
/// credentials in a fixed region.
export function fakeBedrockEnv(endpoint) {
  return {
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
  };
}

/// `cargo xtask dev` on a free port with `env` added; resolves to the page's base URL once the
/// API answers `/api/health`.
export async function startDev(name, env, args = []) {
  const port = await freePort();
  const cargo = process.env.CARGO ?? "cargo";
  const proc = start(name, cargo, ["xtask", "dev", "--port", String(port), ...args], env);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    proc,
    async () => {
      try {
        const response = await fetch(`${base}/api/health`);
        return response.ok;
      } catch {
        return false;
      }
    },
    `${base}/api/health answered`,
  );
  return base;
}

/// Stops every server started here (SIGTERM to its process group, SIGKILL after a grace
/// period) and writes their logs beside the screenshots.
export async function stopAll() {
  mkdirSync(ARTIFACTS, { recursive: true });
  await Promise.all(
    running.splice(0).map(async (proc) => {
      if (proc.exited === null) {
        signal(proc, "SIGTERM");
        const deadline = Date.now() + 5_000;
        while (proc.exited === null && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        if (proc.exited === null) signal(proc, "SIGKILL");
      }
      writeFileSync(path.join(ARTIFACTS, `${proc.name}.log`), proc.log);
    }),
  );
}

function signal(proc, name) {
  try {
    process.kill(-proc.child.pid, name);
  } catch {
    // Already gone.
  }
}

for (const event of ["SIGINT", "SIGTERM"]) {
  process.once(event, () => {
    for (const proc of running) signal(proc, "SIGKILL");
    process.exit(130);
  });
}
process.once("exit", () => {
  for (const proc of running) signal(proc, "SIGKILL");
});
