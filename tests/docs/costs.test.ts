// The cost model behind docs/deploy.md's "Which target when" (infra/tools/docs/costs.ts): its
// figures against the list prices worked by hand, the measured CPU it uses against the
// performance doc it cites, and the break-even against the curves it separates.

import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import {
  breakEvenRps,
  fargateMonthly,
  fargateTasks,
  lambdaMonthly,
  MEASURED,
  queuedMonthly,
} from "../../infra/tools/docs/costs.ts";

const MONTH_S = 730 * 3600;

it("prices 50,000 increments a second on Lambda as the issue worked it: about $118,000 of API Gateway and $26,000 of invocations", () => {
  const requests = 50_000 * MONTH_S;
  const apiGateway = 300 + ((requests - 300e6) / 1e6) * 0.9;
  const invocations = (requests / 1e6) * 0.2;
  const duration = requests * 0.01 * 0.5 * 0.0000133334;
  expect(apiGateway).toBeGreaterThan(117_000);
  expect(apiGateway).toBeLessThan(119_000);
  expect(invocations).toBeCloseTo(26_280, 0);
  expect(lambdaMonthly(50_000)).toBeCloseTo(apiGateway + invocations + duration, 2);
  // Queued events: a hundredth of the requests, plus SQS's three calls a message.
  expect(queuedMonthly(50_000)).toBeLessThan(lambdaMonthly(50_000) / 40);
});

it("sizes Fargate from the CPU per increment the performance doc measured", () => {
  expect(readFileSync("docs/performance.md", "utf8")).toContain(
    `| increment (view) | ${MEASURED.serverCpuUsPerIncrement} |`,
  );
  // 50,000/s x 53.6 µs = 2.68 vCPU, at 60%: 4.47, so 5 tasks of 1 vCPU; never fewer than 2.
  expect(fargateTasks(50_000)).toBe(5);
  expect(fargateTasks(100)).toBe(2);
  expect(fargateMonthly(50_000)).toBeGreaterThan(fargateMonthly(10_000));
});

it("puts the break-even where the two curves cross: Lambda cheaper below, Fargate above", () => {
  const at = breakEvenRps();
  expect(lambdaMonthly(at * 0.9)).toBeLessThan(fargateMonthly(at * 0.9));
  expect(lambdaMonthly(at * 1.1)).toBeGreaterThan(fargateMonthly(at * 1.1));
  expect(Math.abs(lambdaMonthly(at) - fargateMonthly(at))).toBeLessThan(1);
});
