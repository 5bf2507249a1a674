// The Lambda handlers of live counts on AWS (live-relay.ts says why there are two):
// WatchFunction, run each minute by a schedule, relays changes for the minute to the live
// queue; PublishFunction, fed by that queue, publishes them to AppSync Events.

import { randomUUID } from "node:crypto";
import { createAppSyncPublisher, type Publish } from "./appsync-publish.ts";
import { loadConfig } from "./config.ts";
import {
  decodeLiveMessage,
  type LiveMessage,
  latestByChannel,
  publishLatest,
  relayChanges,
} from "./live-relay.ts";
import { createLogger, type Logger, logLevelOf } from "./logger.ts";
import type { Env, SecretReader } from "./secrets.ts";
import { credentialsFromEnv } from "./sigv4.ts";
import { rotatingStore, type SqsBatchResponse, sqsRecordsOf } from "./sqs-consumer.ts";

/** A watch stops this long before its function's deadline (the last message and the close). */
const WATCH_MARGIN_MS = 5000;
/** A watch lasts at most this long: the schedule starts the next one each minute. */
const WATCH_MS = 60_000;

export interface WatcherOptions {
  env?: Env;
  logger?: Logger;
  readSecret?: SecretReader;
  /** Where each interval's message goes. Default: the FIFO queue at LIVE_QUEUE_URL. */
  send?: (message: LiveMessage) => Promise<void>;
}

/** Sends to the live queue: one message group, so PublishFunction sees intervals in order. */
function liveQueueSender(queueUrl: string): (message: LiveMessage) => Promise<void> {
  let client: import("@aws-sdk/client-sqs").SQSClient | undefined;
  return async (message) => {
    const { SQSClient, SendMessageCommand } = await import("@aws-sdk/client-sqs");
    client ??= new SQSClient({ maxAttempts: 2 });
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: "live",
        MessageDeduplicationId: randomUUID(),
      }),
      { abortSignal: AbortSignal.timeout(2000) },
    );
  };
}

/** WatchFunction: hears the store's changes until shortly before its deadline. */
export function createLiveWatcher(options: WatcherOptions = {}) {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger(logLevelOf(env.LOG_LEVEL));
  const store = rotatingStore(env, logger, options.readSecret ? { readSecret: options.readSecret } : {});
  const send = options.send ?? liveQueueSender(String(env.LIVE_QUEUE_URL));
  return async (_event: unknown, context?: { getRemainingTimeInMillis?: () => number }) => {
    const left = context?.getRemainingTimeInMillis?.() ?? WATCH_MS + WATCH_MARGIN_MS;
    const config = loadConfig(env);
    const sent = await relayChanges((await store()).changes, {
      intervalMs: config.liveIntervalMs,
      until: Date.now() + Math.min(WATCH_MS, left - WATCH_MARGIN_MS),
      send,
      logger,
    });
    logger.info("live counts relayed", sent);
    return sent;
  };
}

export interface PublisherOptions {
  env?: Env;
  logger?: Logger;
  /** Default: AppSync Events at LIVE_EVENTS_ENDPOINT, signed with the function's role. */
  publish?: Publish;
}

/** PublishFunction: each batch's latest count per counter, published; failed records come back. */
export function createLivePublisher(options: PublisherOptions = {}) {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger(logLevelOf(env.LOG_LEVEL));
  // Made at the first batch: a function without its endpoint fails there, naming it.
  let publish = options.publish;
  const publisher = (): Publish => {
    if (!env.LIVE_EVENTS_ENDPOINT || !env.AWS_REGION)
      throw new Error("LIVE_EVENTS_ENDPOINT and AWS_REGION must be set");
    publish ??= createAppSyncPublisher({
      endpoint: env.LIVE_EVENTS_ENDPOINT,
      region: env.AWS_REGION,
      credentials: () => credentialsFromEnv(env),
      timeoutMs: 2000,
    });
    return publish;
  };
  return async (event: unknown): Promise<SqsBatchResponse> => {
    const records = sqsRecordsOf(event);
    const send = publisher();
    const messages: LiveMessage[] = [];
    for (const record of records) {
      try {
        messages.push(decodeLiveMessage(record.body));
      } catch (error) {
        // A message that can never be read is dropped (a retry reads it no better), and said.
        logger.error("unreadable live counts message", { message_id: record.messageId, error });
      }
    }
    const failed = await publishLatest(await latestByChannel(messages), send);
    for (const { channel, error } of failed) logger.warn("live count not published", { channel, error });
    logger.info("live counts published", { records: records.length, failed: failed.length });
    // A later message carries each counter's next count: a failed publish is not retried.
    return { batchItemFailures: [] };
  };
}
