// The live counts cost table of docs/deploy.md (infra/tools/docs/live-costs.ts): its figures
// against the list prices worked by hand, and the interval's effect.

import { expect, it } from "vitest";
import {
  perCounterMonthly,
  pushesPerSecond,
  relayMonthly,
  snapshotMonthly,
} from "../../infra/tools/docs/live-costs.ts";

const MONTH_S = 730 * 3600;
const CONNECTIONS = ((1000 * MONTH_S) / 60 / 1e6) * 0.08;

it("prices 1,000 viewers of 100 counters at 1 s: every viewer gets every counter's push on per-counter channels", () => {
  // 100 counters x 1 push a second, each delivered to 1,000 viewers: 100,100 operations a second.
  const operations = (100 + 100 * 1000) * MONTH_S;
  expect(perCounterMonthly(1000)).toBeCloseTo(operations / 1e6 + CONNECTIONS + relayMonthly(1000), 6);
  expect(perCounterMonthly(1000)).toBeGreaterThan(263_000);
  // One snapshot event a second, delivered to 1,000 viewers.
  expect(snapshotMonthly(1000)).toBeCloseTo(
    ((1 + 1000) * MONTH_S) / 1e6 + CONNECTIONS + relayMonthly(1000),
    6,
  );
  expect(relayMonthly(1000)).toBeLessThan(30);
});

it("divides the bill by the interval, up to the counters' own rate of change", () => {
  expect(pushesPerSecond(5000)).toBe(0.2);
  expect(pushesPerSecond(50)).toBe(10); // never more pushes than changes
  expect(perCounterMonthly(5000) / perCounterMonthly(1000)).toBeCloseTo(0.2, 2);
  expect(perCounterMonthly(50)).toBeCloseTo(perCounterMonthly(100) + relayMonthly(50) - relayMonthly(100), 0);
});
