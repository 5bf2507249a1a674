// Which target when: the monthly cost of serving single increments at a steady rate as Lambda
// behind API Gateway, as Lambda with queued events (clients sending 100 events per POST), and
// as containers on Fargate behind an Application Load Balancer, from list prices and the CPU
// one request measurably costs the server. `npm run docs` writes the table into
// docs/deploy.md; the store's own cost is the same for all three and left out.

import { MEASURED, TASK } from "../../service-shape.ts";

/** us-east-1 list prices, 2026-12 (check them before relying on them). */
export const PRICES = {
  /** HTTP API, per million requests: the first 300 million a month, then the rest. */
  apiGatewayFirst300M: 1.0,
  apiGatewayAfter: 0.9,
  lambdaPerMillion: 0.2,
  /** arm64, per GB-second. */
  lambdaGbSecond: 0.0000133334,
  sqsPerMillion: 0.4,
  /** Fargate on Graviton (arm64), per vCPU-hour and per GB-hour. */
  fargateVcpuHour: 0.03238,
  fargateGbHour: 0.00356,
  albHour: 0.0225,
  /** Per load balancer capacity unit-hour; at keep-alive traffic the processed bytes decide (1 GB an hour a unit). */
  albLcuHour: 0.008,
} as const;

export { MEASURED, TASK };
export const EVENTS_PER_POST = 100;
const HOURS = 730;
const SECONDS = HOURS * 3600;

const apiGateway = (requests: number) =>
  (Math.min(requests, 300e6) * PRICES.apiGatewayFirst300M +
    Math.max(0, requests - 300e6) * PRICES.apiGatewayAfter) /
  1e6;
const lambda = (invocations: number) =>
  (invocations / 1e6) * PRICES.lambdaPerMillion +
  invocations * (MEASURED.lambdaBilledMs / 1000) * MEASURED.lambdaMemoryGb * PRICES.lambdaGbSecond;

/** Lambda behind API Gateway: a request and an invocation per increment. */
export function lambdaMonthly(rps: number): number {
  const requests = rps * SECONDS;
  return apiGateway(requests) + lambda(requests);
}

/**
 * Queued events: a POST of 100 events per request; SQS sends, receives and deletes each
 * message (3 requests), and the consumer runs once per 10 messages.
 */
export function queuedMonthly(rps: number): number {
  const posts = (rps * SECONDS) / EVENTS_PER_POST;
  return apiGateway(posts) + lambda(posts) + ((posts * 3) / 1e6) * PRICES.sqsPerMillion + lambda(posts / 10);
}

/** Tasks a rate needs at the target utilisation, two at least. */
export function fargateTasks(rps: number): number {
  const vcpus = (rps * MEASURED.serverCpuUsPerIncrement) / 1e6 / TASK.targetUtilization;
  return Math.max(TASK.minTasks, Math.ceil(vcpus / TASK.vcpu));
}

/** Fargate behind an ALB: the tasks, the load balancer's hours and its capacity units. */
export function fargateMonthly(rps: number): number {
  const task = (TASK.vcpu * PRICES.fargateVcpuHour + TASK.memoryGb * PRICES.fargateGbHour) * HOURS;
  const lcus = Math.max(1, (rps * MEASURED.bytesPerRequest * 3600) / 1e9);
  return fargateTasks(rps) * task + (PRICES.albHour + lcus * PRICES.albLcuHour) * HOURS;
}

/** The steady rate above which Fargate costs less than Lambda behind API Gateway. */
export function breakEvenRps(): number {
  let [low, high] = [0.01, 100_000];
  while (high - low > 0.01) {
    const mid = (low + high) / 2;
    if (lambdaMonthly(mid) < fargateMonthly(mid)) low = mid;
    else high = mid;
  }
  return high;
}

const dollars = (n: number) => `$${Math.round(n).toLocaleString("en")}`;

/** The table docs/deploy.md shows (npm run docs). */
export function targetsTable(): string {
  const rows = [100, 1_000, 10_000, 50_000].map(
    (rps) =>
      `| ${rps.toLocaleString("en")} | ${dollars(lambdaMonthly(rps))} | ${dollars(queuedMonthly(rps))} | ${dollars(fargateMonthly(rps))} (${fargateTasks(rps)} tasks) |`,
  );
  return [
    "| increments per second, steady | Lambda + API Gateway | Lambda, queued events (100 a POST) | Fargate + ALB |",
    "|---|---|---|---|",
    ...rows,
    "",
    `Fargate costs less than Lambda behind API Gateway above about ${breakEvenRps().toFixed(0)} increments per second, steady (${dollars(fargateMonthly(breakEvenRps()))} a month either way).`,
  ].join("\n");
}
