// The local server: the same app as the Lambda functions, on @hono/node-server.
// `npm start` runs it on the memory store unless COUNTER_STORE / REDIS_URL / UPSTASH_* say otherwise.

import { serve } from "@hono/node-server";
import { ConfigError } from "../domain/errors.ts";
import { mountDocs } from "../http/docs.ts";
import { addRoute, appSettings, createApp, respond } from "../http/http-app.ts";
import { PrometheusMetrics } from "../http/observe.ts";
import { createStore } from "../stores/create.ts";
import { loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`highpress: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const store = await createStore(config, logger);
  const metrics = new PrometheusMetrics();
  const app = createApp({
    store,
    ...appSettings(config),
    logger,
    observe: (record) => {
      metrics.record(record);
      logger.info("request", record);
    },
  });
  mountDocs(app, config.counterTypes);
  addRoute(app, "GET", "/metrics", "/metrics", (c) =>
    respond(c, metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info("highpress listening", {
      url: `http://${config.host}:${info.port}`,
      docs: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${info.port}/docs`,
      port: info.port,
      store: config.store,
      cluster: config.store === "redis" ? config.redisCluster : undefined,
      counter_types: Object.fromEntries(config.counterTypes),
      writes: config.apiKeys.length > 0 ? "require an API key" : "OPEN: no API_KEYS set, anyone can write",
    });
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("highpress stopping", { signal });
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    server.close(() => {
      store.close().finally(() => process.exit(0));
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await main();
