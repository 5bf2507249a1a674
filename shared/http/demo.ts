// The demo page on the local server (like /docs; no Lambda entry imports it): one resource's
// like button and view counter and the hot list of its like type, each updated live from the
// API's own streams (GET …/live). The page's script and style are inline, allowed by their
// hashes in its Content-Security-Policy (nothing else runs).

import { createHash } from "node:crypto";
import type { CounterTypes } from "../domain/model.ts";
import { addRoute, type HighPressApp, respond } from "./http-app.ts";
import { IDENTIFIER } from "./schemas.ts";

const STYLE = `
body { font: 16px/1.4 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; } .row { display: flex; gap: 1rem; align-items: center; margin: 1rem 0; }
button { font-size: 1.1rem; padding: .4rem 1rem; cursor: pointer; } .count { font-size: 1.6rem; font-weight: 600; }
ol { padding-left: 1.5rem; } #status { color: #777; font-size: .85rem; } input { width: 16rem; }
`;

// The page's script: types and the resource come from data attributes; each count follows
// its stream (fetch, so that a key can be sent under READ_AUTH) and reconnects after `retry:`.
const SCRIPT = `
const root = document.getElementById("demo");
const { resource, likeType, viewType } = root.dataset;
const user = sessionStorage.getItem("hp-demo-user") || "demo-" + Math.random().toString(36).slice(2, 10);
sessionStorage.setItem("hp-demo-user", user);
const keyInput = document.getElementById("key");
keyInput.value = sessionStorage.getItem("hp-demo-key") || "";
keyInput.addEventListener("change", () => sessionStorage.setItem("hp-demo-key", keyInput.value));
const headers = () => (keyInput.value ? { "x-api-key": keyInput.value } : {});
const status = (text) => { document.getElementById("status").textContent = text; };
const base = "/api/v1/counter/";
let liked = false;

async function increment(type, delta) {
  const res = await fetch(base + "increment", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers() },
    body: JSON.stringify({ resource_id: resource, counter_type: type, user_id: user, increment: delta }),
  });
  const body = await res.json();
  if (!res.ok) { status(body.message || "error " + res.status); return undefined; }
  return body.data;
}

async function follow(type, onCount) {
  let retry = 3000;
  for (;;) {
    try {
      const res = await fetch(base + encodeURIComponent(resource) + "/" + type + "/live", { headers: headers() });
      if (!res.ok) throw new Error((await res.json()).message);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const blocks = buffer.split("\\n\\n");
        buffer = blocks.pop();
        for (const block of blocks) {
          for (const line of block.split("\\n")) {
            if (line.startsWith("retry: ")) retry = Number(line.slice(7));
            if (line.startsWith("data: ")) onCount(JSON.parse(line.slice(6)).count);
          }
        }
      }
    } catch (error) {
      status("live: " + error.message + "; retrying");
    }
    await new Promise((r) => setTimeout(r, retry));
  }
}

async function showHot() {
  const res = await fetch(base + "hot/" + likeType + "?period=all&limit=5", { headers: headers() });
  if (!res.ok) return;
  const list = document.getElementById("hot");
  list.replaceChildren(...(await res.json()).data.items.map((item) => {
    const li = document.createElement("li");
    li.textContent = item.resource_id + ": " + item.count;
    return li;
  }));
}

document.getElementById("like").addEventListener("click", async () => {
  const done = await increment(likeType, liked ? -1 : 1);
  if (done) { liked = !liked; document.getElementById("like").textContent = liked ? "Unlike" : "Like"; }
});
follow(likeType, (count) => { document.getElementById("likes").textContent = String(count); showHot(); });
follow(viewType, (count) => { document.getElementById("views").textContent = String(count); });
increment(viewType, 1);
showHot();
status("live");
`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The page for a resource, with the first unique and the first total counter types configured. */
export function demoPage(resource: string, likeType: string, viewType: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>HighPress live demo</title>
  <style>${STYLE}</style>
</head>
<body>
  <main id="demo" data-resource="${escapeHtml(resource)}" data-like-type="${likeType}" data-view-type="${viewType}">
    <h1>${escapeHtml(resource)}</h1>
    <div class="row"><button id="like" type="button">Like</button><span class="count" id="likes">…</span> ${likeType}</div>
    <div class="row"><span class="count" id="views">…</span> ${viewType}</div>
    <h2>Hot (${likeType}, all time)</h2>
    <ol id="hot"></ol>
    <p><label>API key (when writes need one) <input id="key" autocomplete="off"></label></p>
    <p id="status"></p>
  </main>
  <script>${SCRIPT}</script>
</body>
</html>
`;
}

/** What the page's Content-Security-Policy allows: its own requests, and its inline script and style by hash. */
export const DEMO_CSP = `default-src 'none'; connect-src 'self'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export function mountDemo(app: HighPressApp, counterTypes: CounterTypes): void {
  const types = [...counterTypes];
  const likeType = types.find(([, kind]) => kind === "unique")?.[0];
  const viewType = types.find(([, kind]) => kind === "total")?.[0];
  // The demo needs one counter type of each kind; without them there is no page.
  if (!likeType || !viewType) return;
  addRoute(app, "/demo", "/demo", (c) => {
    const asked = c.req.query("resource") ?? "demo";
    const resource = IDENTIFIER.test(asked) ? asked : "demo";
    return respond(c, demoPage(resource, likeType, viewType), 200, {
      "content-type": "text/html; charset=UTF-8",
      "content-security-policy": DEMO_CSP,
      "cache-control": "no-cache",
    });
  });
}
