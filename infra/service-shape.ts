// The container service's shape, one home for the stack (infra/fargate.ts) and the cost
// model (infra/tools/docs/costs.ts): what a task is, and what one request measurably costs it.

/**
 * What the service measurably costs: the server's CPU per single increment (docs/performance.md,
 * the same-work table of 2026-12-06: 53.6 µs), a request and its answer on the wire, and a
 * function's billed time and memory.
 */
export const MEASURED = {
  serverCpuUsPerIncrement: 53.6,
  bytesPerRequest: 700,
  lambdaBilledMs: 10,
  lambdaMemoryGb: 0.5,
} as const;

/** A Fargate task as the stack runs it: 1 vCPU, 2 GB, kept at 60% CPU, two at least. */
export const TASK = { vcpu: 1, memoryGb: 2, targetUtilization: 0.6, minTasks: 2 } as const;

/**
 * The requests a minute one task takes at its target CPU (Application Load Balancer's
 * RequestCountPerTarget is a sum a minute): what the request-count scaling aims at.
 */
export const REQUESTS_PER_TARGET_PER_MINUTE = Math.round(
  (1e6 / MEASURED.serverCpuUsPerIncrement) * TASK.vcpu * TASK.targetUtilization * 60,
);
