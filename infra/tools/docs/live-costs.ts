// What live counts cost on AWS a month, for docs/deploy.md (`npm run docs`): AppSync Events
// bills each event published and each event delivered to a subscriber as an operation, and
// each minute a client stays connected; the watcher runs all month beside the store; the live
// queue carries one message an interval. A page of counters can follow one channel per counter
// (what the publisher does) or one snapshot channel for the whole page (one event holding
// every count that changed: a design the publisher does not offer today).

/** us-east-1 list prices, 2026-12 (check them before relying on them). */
export const LIVE_PRICES = {
  appsyncPerMillionOperations: 1.0,
  appsyncPerMillionConnectionMinutes: 0.08,
  lambdaGbSecond: 0.0000133334,
  lambdaPerMillion: 0.2,
  sqsFifoPerMillion: 0.5,
} as const;

/** The case the issue asks about: 1,000 viewers, each watching a page of 100 counters that change 10 times a second. */
export const LIVE_CASE = { viewers: 1_000, counters: 100, changesPerSecond: 10 } as const;
/** The watcher's memory (infra/live.ts) and the publisher's, and one publish batch's billed time. */
const WATCHER_GB = 0.25;
const PUBLISHER_GB = 0.5;
const PUBLISH_BATCH_S = 0.2;
const MONTH_S = 730 * 3600;

/** Pushes a second per counter: the changes, coalesced to at most one per interval. */
export const pushesPerSecond = (intervalMs: number) =>
  Math.min(LIVE_CASE.changesPerSecond, 1000 / intervalMs);

/** The AWS side beside AppSync: the watcher all month, one queue message and one publisher run an interval. */
export function relayMonthly(intervalMs: number): number {
  const messages = (MONTH_S * 1000) / intervalMs;
  const watcher =
    MONTH_S * WATCHER_GB * LIVE_PRICES.lambdaGbSecond + (43_800 / 1e6) * LIVE_PRICES.lambdaPerMillion;
  const publisher =
    (messages / 1e6) * LIVE_PRICES.lambdaPerMillion +
    messages * PUBLISH_BATCH_S * PUBLISHER_GB * LIVE_PRICES.lambdaGbSecond;
  return watcher + publisher + ((messages * 3) / 1e6) * LIVE_PRICES.sqsFifoPerMillion;
}

const connections = () =>
  ((LIVE_CASE.viewers * MONTH_S) / 60 / 1e6) * LIVE_PRICES.appsyncPerMillionConnectionMinutes;

/** Per-counter channels: each counter's push is one event published and one delivered to each viewer. */
export function perCounterMonthly(intervalMs: number): number {
  const published = LIVE_CASE.counters * pushesPerSecond(intervalMs);
  const delivered = published * LIVE_CASE.viewers;
  return (
    (((published + delivered) * MONTH_S) / 1e6) * LIVE_PRICES.appsyncPerMillionOperations +
    connections() +
    relayMonthly(intervalMs)
  );
}

/** One snapshot channel per page: each interval one event (every changed count) published and delivered to each viewer. */
export function snapshotMonthly(intervalMs: number): number {
  const published = Math.min(pushesPerSecond(intervalMs), 1000 / intervalMs);
  const delivered = published * LIVE_CASE.viewers;
  return (
    (((published + delivered) * MONTH_S) / 1e6) * LIVE_PRICES.appsyncPerMillionOperations +
    connections() +
    relayMonthly(intervalMs)
  );
}

const dollars = (n: number) => `$${Math.round(n).toLocaleString("en")}`;

/** The table docs/deploy.md shows. */
export function liveCostsTable(): string {
  const rows = [250, 1000, 5000].map(
    (ms) =>
      `| ${ms.toLocaleString("en")} ms | ${pushesPerSecond(ms)} | ${dollars(perCounterMonthly(ms))} | ${dollars(snapshotMonthly(ms))} |`,
  );
  return [
    `${LIVE_CASE.viewers.toLocaleString("en")} viewers, each on a page of ${LIVE_CASE.counters} counters that each change ${LIVE_CASE.changesPerSecond} times a second, all month:`,
    "",
    "| LIVE_INTERVAL_MS | pushes a second per counter | per-counter channels | one snapshot channel per page |",
    "|---|---|---|---|",
    ...rows,
    "",
    `Each includes the connections (${dollars(connections())}) and the relay (watcher, live queue, publisher: ${dollars(relayMonthly(1000))} at 1,000 ms). Deliveries decide: per-counter channels deliver every counter's push to every viewer, so the interval divides the bill, and a page that shows many counters costs a hundredth as much on one snapshot channel.`,
  ].join("\n");
}
