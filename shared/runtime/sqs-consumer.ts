// The Lambda consumer of the events queue (SQS event source, ReportBatchItemFailures): every
// record's events applied per counter in one store call each; a record is reported failed
// when it is unreadable or one of its counters failed, so SQS delivers only those again (and
// the event ids make a redelivery count nothing twice). An event that is not SQS's throws:
// the wiring is wrong, and Lambda should say so.

import { decodeEvents } from "../domain/events.ts";
import type { CounterStore, QueuedEvent } from "../domain/model.ts";
import { loadConfig } from "./config.ts";
import { applyQueuedEvents } from "./events-consumer.ts";
import { createLogger, type Logger, logLevelOf } from "./logger.ts";
import { type Env, readSecretFromAws, rebuiltOnRotation, type SecretReader } from "./secrets.ts";
import { createStore } from "./store.ts";

export interface SqsRecord {
  messageId: string;
  body: string;
}
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Applies a batch of SQS records; the failed ones are returned for SQS to deliver again. */
export async function consumeRecords(
  store: CounterStore,
  records: readonly SqsRecord[],
  logger: Logger,
  now: number,
): Promise<SqsBatchResponse> {
  const failed = new Set<string>();
  const owner = new Map<QueuedEvent, string>();
  const events: QueuedEvent[] = [];
  for (const record of records) {
    try {
      for (const e of decodeEvents(record.body)) {
        owner.set(e, record.messageId);
        events.push(e);
      }
    } catch (error) {
      logger.error("unreadable events message", { message_id: record.messageId, error });
      failed.add(record.messageId);
    }
  }
  const result = await applyQueuedEvents(store, events, now);
  for (const { events: group, error } of result.failed) {
    logger.warn("events of a counter not applied; their messages come back", {
      counter: group[0]?.resourceId,
      error,
    });
    for (const e of group) failed.add(owner.get(e) as string);
  }
  logger.info("events applied", {
    records: records.length,
    events: events.length,
    new: result.applied,
    failed: failed.size,
  });
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}

export interface ConsumerOptions {
  env?: Env;
  logger?: Logger;
  /** Default: Secrets Manager, as the HTTP functions read their secrets. */
  readSecret?: SecretReader;
  /** How long secrets are trusted before they are read again. Default SECRETS_TTL_MS (5 minutes). */
  secretsTtlMs?: number;
  /** Default Date.now. */
  clock?: () => number;
}

/**
 * The store of a function behind no route (the consumer, the live watcher): made from the
 * configuration once, and anew when a secret rotates.
 */
export function rotatingStore(env: Env, logger: Logger, options: ConsumerOptions = {}) {
  return rebuiltOnRotation(
    env,
    options.readSecret ?? readSecretFromAws,
    (resolved) => createStore(loadConfig(resolved), logger),
    {
      logger,
      ...(options.secretsTtlMs !== undefined ? { ttlMs: options.secretsTtlMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    },
  );
}

/** The consumer function: configuration and store made once, and anew when a secret rotates. */
export function createSqsConsumer(options: ConsumerOptions = {}) {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger(logLevelOf(env.LOG_LEVEL));
  const store = rotatingStore(env, logger, options);
  const handler = async (event: unknown): Promise<SqsBatchResponse> => {
    const records = sqsRecordsOf(event);
    try {
      return await consumeRecords(await store(), records, logger, Date.now());
    } catch (error) {
      // Configuration or store creation failed: every record comes back, nothing is lost.
      logger.error("events consumer failed to start", { error });
      return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
  };
  return handler;
}

/** An event that is not SQS's (an API Gateway event, `{}`, junk) is a mistake in the wiring: it throws. */
export class NotAnSqsEventError extends Error {
  override name = "NotAnSqsEventError";
}

/** The records of an SQS event; anything else throws NotAnSqsEventError, naming what came. */
export function sqsRecordsOf(event: unknown): SqsRecord[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  const isSqs =
    Array.isArray(records) &&
    records.every(
      (r: unknown) =>
        typeof r === "object" &&
        r !== null &&
        (r as { eventSource?: unknown }).eventSource === "aws:sqs" &&
        typeof (r as { messageId?: unknown }).messageId === "string" &&
        typeof (r as { body?: unknown }).body === "string",
    );
  if (!isSqs) {
    const shape =
      event && typeof event === "object"
        ? `keys ${Object.keys(event).slice(0, 5).join(", ") || "none"}`
        : typeof event;
    throw new NotAnSqsEventError(
      `the consumer takes SQS events (Records of eventSource aws:sqs with messageId and body), got an event with ${shape}`,
    );
  }
  return records as SqsRecord[];
}
