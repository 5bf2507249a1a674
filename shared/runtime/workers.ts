// The local server on every core: a primary process forks WORKERS workers (node:cluster),
// each a full server on the one port. The primary runs the queued events' consumer (once,
// not once per worker), answers a worker's /metrics with every worker's counts, replaces a
// worker that dies, and on SIGTERM or SIGINT drains them all before it goes.

import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import type { CounterStore, LocalEventQueue } from "../domain/model.ts";
import { type MetricsSnapshot, PrometheusMetrics } from "../http/observe.ts";
import type { Config } from "./config.ts";
import { startLocalConsumer } from "./events-consumer.ts";
import type { Logger } from "./logger.ts";

/** Workers to run: WORKERS, else the CPU count on a shared store and 1 on the memory store. */
export function workerCount(config: Config): number {
  return config.workers ?? (config.store === "memory" ? 1 : availableParallelism());
}

/** What the primary and its workers say to each other over node:cluster's IPC. */
type Message =
  | { hp: "listening" }
  | { hp: "metrics?"; id: number }
  | { hp: "metrics"; id: number; data: MetricsSnapshot[] }
  | { hp: "snapshot?"; id: number }
  | { hp: "snapshot"; id: number; data: MetricsSnapshot };

const isMessage = (m: unknown): m is Message => typeof m === "object" && m !== null && "hp" in m;

/** How long the primary waits for the workers' counts before it answers with those it has. */
const SNAPSHOT_WAIT_MS = 1000;

/** In a worker: tells the primary it serves. */
export const announceListening = (): void => {
  process.send?.({ hp: "listening" } satisfies Message);
};

/**
 * In a worker: every worker's metrics for /metrics, asked of the primary, and this worker's
 * counts given when the primary asks. Without an answer in time, this worker's own.
 */
export function clusterMetrics(local: PrometheusMetrics): () => Promise<PrometheusMetrics> {
  const pending = new Map<number, (data: MetricsSnapshot[]) => void>();
  let next = 0;
  process.on("message", (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.hp === "snapshot?")
      process.send?.({ hp: "snapshot", id: m.id, data: local.snapshot() } satisfies Message);
    if (m.hp === "metrics") pending.get(m.id)?.(m.data);
  });
  return () =>
    new Promise((resolve) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(local);
      }, 2 * SNAPSHOT_WAIT_MS);
      pending.set(id, (data) => {
        clearTimeout(timer);
        pending.delete(id);
        const merged = new PrometheusMetrics();
        for (const snapshot of data) merged.absorb(snapshot);
        resolve(merged);
      });
      process.send?.({ hp: "metrics?", id } satisfies Message);
    });
}

/** In the primary: asks every worker for its counts and answers `asker` with all it got in time. */
function gatherMetrics(asker: Worker, id: number): void {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const got: MetricsSnapshot[] = [];
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    cluster.off("message", onSnapshot);
    if (!asker.isDead()) asker.send({ hp: "metrics", id, data: got } satisfies Message);
  };
  const onSnapshot = (_worker: Worker, m: unknown) => {
    if (!isMessage(m) || m.hp !== "snapshot" || m.id !== id) return;
    got.push(m.data);
    if (got.length === workers.length) answer();
  };
  cluster.on("message", onSnapshot);
  setTimeout(answer, SNAPSHOT_WAIT_MS).unref();
  for (const w of workers) w.send({ hp: "snapshot?", id } satisfies Message);
}

export interface PrimaryDeps {
  config: Config;
  count: number;
  store: CounterStore;
  localQueue: LocalEventQueue;
  logger: Logger;
}

/** Runs the primary: forks the workers and keeps them, until a signal drains them all. */
export function runPrimary({ config, count, store, localQueue, logger }: PrimaryDeps): void {
  const consumer = startLocalConsumer(store, localQueue, logger);
  const listening = new Set<number>();
  let draining = false;
  let failed = false;
  cluster.on("message", (worker, m: unknown) => {
    if (!isMessage(m)) return;
    if (m.hp === "listening") listening.add(worker.id);
    if (m.hp === "metrics?") gatherMetrics(worker, m.id);
  });
  cluster.on("exit", (worker, code, signal) => {
    if (draining) {
      // A worker stopped by the drain's own SIGTERM before it set its handlers is no failure.
      if (code !== null && code !== 0) failed = true;
      return;
    }
    if (!listening.has(worker.id)) {
      // It could not start (the port taken, say): it said why; another would fail the same way.
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGKILL");
      process.exit(code ?? 1);
    }
    logger.error("highpress worker exited; starting another", { pid: worker.process.pid, code, signal });
    cluster.fork();
  });
  for (let i = 0; i < count; i++) cluster.fork();
  logger.info("highpress primary started", { workers: count, pid: process.pid });

  const stop = (signal: string) => {
    if (draining) return;
    draining = true;
    const started = Date.now();
    const deadline = started + config.shutdownTimeoutMs;
    logger.info("highpress draining", { signal, workers: Object.keys(cluster.workers ?? {}).length });
    setTimeout(() => {
      logger.error("highpress stopped before it drained", { after_ms: Date.now() - started });
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    // Each worker drains itself (SHUTDOWN_TIMEOUT_MS); then the queue, then the store.
    const exited = Object.values(cluster.workers ?? {}).map(
      (w) => new Promise<void>((resolve) => (w?.isDead() ? resolve() : w?.once("exit", () => resolve()))),
    );
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
    Promise.all(exited)
      .then(async () => {
        if (!(await consumer.flush(deadline))) logger.warn("queued events left in the queue at shutdown");
        await store.close();
      })
      .catch((error: unknown) => logger.error("highpress drain failed", { error }))
      .finally(() => {
        logger.info("highpress stopped", { after_ms: Date.now() - started });
        process.exit(failed ? 1 : 0);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
