// The local server: the same app as the Lambda functions, on @hono/node-server.
// `npm start` runs it on the memory store unless COUNTER_STORE / REDIS_URL / UPSTASH_* say otherwise.
// This adapter hands the app what only it knows: the client's address and whether the
// client went away. Slow clients are cut off (REQUEST_TIMEOUT_MS, MAX_CONNECTIONS).

import cluster from "node:cluster";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { DataFormatError } from "../domain/data-format.ts";
import { ConfigError } from "../domain/errors.ts";
import { createApp } from "../http/app.ts";
import { mountDemo } from "../http/demo.ts";
import { mountDocs } from "../http/docs.ts";
import { addRoute, type Platform, respond, sendingTo } from "../http/http-app.ts";
import { LiveStreams } from "../http/live-streams.ts";
import { emfLine, PrometheusMetrics } from "../http/observe.ts";
import { CLIENT_CLOSED } from "../http/pipeline.ts";
import { appSettings } from "./app-settings.ts";
import { type Config, loadConfig } from "./config.ts";
import { loadDotEnv } from "./env-file.ts";
import { startLocalConsumer } from "./events-consumer.ts";
import { createLogger, type Logger } from "./logger.ts";
import { secretValuesAsGiven } from "./secrets.ts";
import { type OpenedStore, openStore } from "./store.ts";
import { announceListening, clusterMetrics, runPrimary, workerCount } from "./workers.ts";

const nodePlatform: Platform = {
  clientAddress: (c: Context) => getConnInfo(c).remote.address,
  clientGone: (c: Context) => {
    const incoming = (c.env as { incoming?: { destroyed?: boolean; aborted?: boolean } }).incoming;
    return incoming?.destroyed === true || incoming?.aborted === true;
  },
};

function configOrExit(): Config {
  try {
    loadDotEnv();
    // On ECS, the keys and the token arrive as their secrets' strings (a JSON array is allowed).
    return loadConfig(secretValuesAsGiven(process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`highpress: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Bounds slow clients: the whole request, body included (Node answers 408 and closes), its
 * headers below that, and open connections. Node checks the deadlines every
 * connectionsCheckingInterval (30 s by default), so that is kept well below the deadline.
 */
function serverOptions(config: Config) {
  return {
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: Math.min(60_000, config.requestTimeoutMs),
    connectionsCheckingInterval: Math.min(1000, Math.floor(config.requestTimeoutMs / 4)),
  };
}

/**
 * Drains on SIGTERM or SIGINT, as a container's stop or a scale-in sends them: stops accepting
 * connections, answers what is in flight (each answer with `Connection: close`, so keep-alive
 * clients go; idle connections are closed at once; live streams end), then `finish` (the queued events still
 * waiting applied, the store closed) and exit 0, all within SHUTDOWN_TIMEOUT_MS; past it, exit
 * 1 with a line saying so.
 */
function drainOnSignals(
  server: Server,
  state: { draining: boolean; live: LiveStreams },
  finish: (deadline: number) => Promise<void>,
  timeoutMs: number,
  logger: Logger,
) {
  const stop = (signal: string) => {
    if (state.draining) return;
    state.draining = true;
    const started = Date.now();
    logger.info("highpress draining", { signal, timeout_ms: timeoutMs });
    const force = setTimeout(() => {
      logger.error("highpress stopped before it drained", { after_ms: Date.now() - started });
      process.exit(1);
    }, timeoutMs);
    force.unref();
    server.close(() => {
      finish(started + timeoutMs)
        .catch((error: unknown) => logger.error("highpress drain failed", { error }))
        .finally(() => {
          logger.info("highpress stopped", { after_ms: Date.now() - started });
          process.exit(0);
        });
    });
    server.closeIdleConnections();
    // Live streams end (their clients reconnect to another server) so their connections close.
    state.live.endAll();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** The store, or one line and exit 1 when it holds a data format this release does not read. */
async function storeOrExit(config: Config, logger: Logger) {
  try {
    return await openStore(config, logger);
  } catch (error) {
    if (error instanceof DataFormatError) {
      process.stderr.write(`highpress: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** The app with the local server's own routes: /docs, and /metrics (a worker's: every worker's counts). */
function localApp(config: Config, logger: Logger, opened: OpenedStore, live: LiveStreams, worker: boolean) {
  const { store, localQueue } = opened;
  const metrics = new PrometheusMetrics(() => live.holdings().streams);
  const metricsNow = worker ? clusterMetrics(metrics) : async () => metrics;
  const app = createApp({
    store,
    eventQueue: sendingTo(localQueue),
    ...appSettings(config),
    logger,
    platform: nodePlatform,
    live,
    observe: (record) => {
      metrics.record(record);
      // EMF: the line and its metrics together, every request (CloudWatch extracts them on ECS).
      if (config.requestLog === "emf") process.stdout.write(`${emfLine(record, "Service")}\n`);
      else if (record.status === CLIENT_CLOSED) logger.warn("request", record);
      else logger.info("request", record);
    },
  });
  mountDocs(app, config.counterTypes);
  mountDemo(app, config.counterTypes);
  addRoute(
    app,
    "/metrics",
    "/metrics",
    // The queue depth is read at each scrape; a store that does not answer leaves it out.
    async (c) => {
      const [counted, queueDepth] = await Promise.all([
        metricsNow(),
        localQueue.length().catch(() => undefined),
      ]);
      return respond(c, counted.render(queueDepth === undefined ? {} : { queueDepth }), 200, {
        "content-type": "text/plain; version=0.0.4",
      });
    },
    { auth: "read" },
  );
  return app;
}

/** The start line: where it listens, who can reach it, what it counts in, who may write. */
function startLine(config: Config, port: number) {
  return {
    url: `http://${config.host}:${port}`,
    reachable: reachableFrom(config.host),
    docs: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}/docs`,
    port,
    pid: process.pid,
    store: config.store,
    cluster: config.store === "redis" ? config.redisCluster : undefined,
    counter_types: Object.fromEntries(config.counterTypes),
    writes:
      config.apiKeys.length > 0
        ? "require an API key"
        : `OPEN: no API_KEYS set, anyone who can reach ${config.host} can write`,
    admin:
      config.adminKeys.length > 0
        ? "on: admin routes need an admin key"
        : "off: no ADMIN_KEYS, no admin routes",
  };
}

/** One server on the port: the whole service alone, or one worker of several (`worker`). */
function serveApp(config: Config, logger: Logger, opened: OpenedStore, worker: boolean): void {
  const live = new LiveStreams(opened.store.changes, {
    intervalMs: config.liveIntervalMs,
    maxConnections: config.liveMaxConnections,
    maxPerAddress: config.liveMaxPerAddress,
  });
  const app = localApp(config, logger, opened, live, worker);
  const state = { draining: false, live };
  const options = {
    // While draining, every answer closes its connection: a keep-alive client goes after it.
    fetch: async (request: Request, env: unknown) => {
      const response = await app.fetch(request, env);
      if (state.draining) response.headers.set("connection", "close");
      return response;
    },
    port: config.port,
    hostname: config.host,
    serverOptions: serverOptions(config),
  };
  const server = serve(options, (info) => {
    logger.info("highpress listening", startLine(config, info.port));
    if (worker) announceListening();
  }) as Server;
  server.maxConnections = config.maxConnections;
  server.on("error", (error: NodeJS.ErrnoException) => {
    const why =
      error.code === "EADDRINUSE"
        ? `port ${config.port} is already in use (another HighPress? set PORT to another port)`
        : error.code === "EACCES"
          ? `port ${config.port} needs privileges (use a port above 1023)`
          : `could not listen on ${config.host}:${config.port}: ${error.message}`;
    process.stderr.write(`highpress: ${why}\n`);
    process.exit(1);
  });
  // Queued events (POST /api/v1/counter/events) wait in the local event queue: counted here,
  // or by the primary when there are workers.
  const consumer = worker ? undefined : startLocalConsumer(opened.store, opened.localQueue, logger);
  drainOnSignals(
    server,
    state,
    async (deadline) => {
      if (consumer && !(await consumer.flush(deadline)))
        logger.warn("queued events left in the queue at shutdown");
      await opened.store.close();
    },
    config.shutdownTimeoutMs,
    logger,
  );
  // A worker whose primary is gone (killed outright) drains and goes, rather than linger.
  if (worker) process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
}

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel);
  const count = workerCount(config);
  const opened = await storeOrExit(config, logger);
  if (count > 1 && cluster.isPrimary) runPrimary({ config, count, ...opened, logger });
  else serveApp(config, logger, opened, cluster.isWorker);
}

await main();

/** Who can reach a server listening on this host, for the start line. */
export function reachableFrom(host: string): string {
  if (host === "127.0.0.1" || host === "::1" || host === "localhost") {
    return "this machine only (HOST=0.0.0.0 to listen on every interface)";
  }
  if (host === "0.0.0.0" || host === "::") return "every interface: the network can reach it";
  return `the network of ${host}`;
}
