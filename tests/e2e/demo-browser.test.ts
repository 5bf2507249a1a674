// The demo page in a real browser: Debian's Chromium, headless, driven by puppeteer-core (no
// browser download). Two pages of one resource: a click on Like in one shows in the other
// within 2 s, each page's load counts a view, the hot list follows, and the page's strict
// Content-Security-Policy blocks nothing of its own.

import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type NodeProcess, startServerProcess } from "../support/node-process.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let server: NodeProcess;
let base: string;
let browser: Browser;

beforeAll(async () => {
  const started = await startServerProcess({ LIVE_INTERVAL_MS: "200", LOG_LEVEL: "warn" });
  server = started.node;
  base = started.base;
  // The flags this machine's closed network needs (see the machine notes): no background fetches.
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.process.kill("SIGTERM");
  await server?.exited;
});

/** A page of the demo, with the problems its console reports (a CSP violation among them). */
async function open(resource: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));
  await page.goto(`${base}/demo?resource=${resource}`);
  await page.waitForFunction(() => document.getElementById("likes")?.textContent === "0", {
    timeout: 5000,
    polling: 50,
  });
  return { page, problems };
}

const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? "");
// Polling by interval: the default (animation frames) never runs in a background tab.
/** A real click: the page comes to the front first (a click waits for a background tab's frames). */
async function click(page: Page, selector: string): Promise<void> {
  await page.bringToFront();
  await page.click(selector);
}

it("shows a click on Like in one page in the other within 2 s, with views and the hot list", async () => {
  const one = await open("browser_1");
  const two = await open("browser_1");
  await click(one.page, "#like");
  await two.page.waitForFunction(() => document.getElementById("likes")?.textContent === "1", {
    timeout: 2000,
    polling: 50,
  });
  expect(await text(one.page, "#like")).toBe("Unlike");
  // Each page's load counted one view; the first page sees the second's.
  await one.page.waitForFunction(() => document.getElementById("views")?.textContent === "2", {
    timeout: 2000,
    polling: 50,
  });
  await two.page.waitForFunction(
    () => [...document.querySelectorAll("#hot li")].some((li) => li.textContent === "browser_1: 1"),
    { timeout: 2000, polling: 50 },
  );
  // Unlike in the first: the second sees 0.
  await click(one.page, "#like");
  await two.page.waitForFunction(() => document.getElementById("likes")?.textContent === "0", {
    timeout: 2000,
    polling: 50,
  });
  expect([...one.problems, ...two.problems]).toEqual([]);
}, 30_000);
