import { readFile } from "node:fs/promises";
import * as path from "node:path";

const WEB_DIR = path.resolve(__dirname, "../../web");
// Chart.js's UMD build, served from node_modules (no CDN); its package exports only the CJS/ESM
// entry points, so the file is found next to the main one.
const CHART_JS = path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

/** The only files served: a fixed list, so no request path ever reaches the file system. */
const FILES: Record<string, string> = {
  "/": path.join(WEB_DIR, "overview.html"),
  "/customer": path.join(WEB_DIR, "customer.html"),
  "/assets/console.css": path.join(WEB_DIR, "console.css"),
  "/assets/common.js": path.join(WEB_DIR, "common.js"),
  "/assets/overview.js": path.join(WEB_DIR, "overview.js"),
  "/assets/customer.js": path.join(WEB_DIR, "customer.js"),
  "/vendor/chart.umd.min.js": CHART_JS,
};

export async function staticFile(route: string): Promise<{ body: Buffer; type: string } | undefined> {
  const file = FILES[route];
  if (!file) return undefined;
  return { body: await readFile(file), type: TYPES[path.extname(file)] ?? "application/octet-stream" };
}
