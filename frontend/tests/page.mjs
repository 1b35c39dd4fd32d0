// What the browser tests and the Markdown benchmark share: Debian's Chromium launched through
// playwright-core (never a downloaded browser), the Content-Security-Policy CloudFront sends with
// the page, and the page's files served straight from frontend/ under that policy.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FRONTEND = path.join(ROOT, "frontend");
export const ARTIFACTS = path.join(ROOT, "target", "browser-artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/// The Content-Security-Policy CloudFront sends with the page, read from the rendered template.
export const CSP = (() => {
  const template = readFileSync(path.join(ROOT, "templates", "dev.yaml"), "utf8");
  const policy = /^\s*ContentSecurityPolicy: (.+)$/m.exec(template)?.[1].trim();
  if (!policy?.includes("script-src 'self'")) throw new Error("templates/dev.yaml sets no Content-Security-Policy");
  return policy.replace(/^(['"])(.*)\1$/, "$2");
})();

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
};

/// Serves `origin` from the files under frontend/ with the page's CSP, in `context`, with no
/// server: requests never leave the browser. `mounts` maps more URL prefixes to folders;
/// `api(route, url)` answers `/api/*` when given, otherwise those get 404.
export async function serveFiles(context, origin, { mounts = {}, api = null } = {}) {
  await context.route(`${origin}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname.startsWith("/api/")) {
      if (api) return api(route, url);
      return route.fulfill({ status: 404, contentType: "application/json", body: '{"error":{"code":"not_found"}}' });
    }
    const prefix = Object.keys(mounts).find((p) => url.pathname.startsWith(p)) ?? "/";
    const dir = mounts[prefix] ?? FRONTEND;
    const relative = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname.slice(prefix.length));
    const file = path.resolve(dir, relative);
    const type = TYPES[path.extname(file)];
    if (!file.startsWith(dir + path.sep) || !type) return route.fulfill({ status: 404, body: "" });
    let body;
    try {
      body = readFileSync(file);
    } catch {
      return route.fulfill({ status: 404, body: "" });
    }
    return route.fulfill({ status: 200, body, headers: { "content-type": type, "content-security-policy": CSP } });
  });
}

/// Records CSP violations from the first script on, in every page of `context`.
export async function recordViolations(context) {
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
}
