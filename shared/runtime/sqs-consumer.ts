// The Lambda consumer of the events queue (SQS event source, ReportBatchItemFailures): every
// record's events applied per counter in one store call each; a record is reported failed
// when it is unreadable or one of its counters failed, so SQS delivers only those again (and
// the event ids make a redelivery count nothing twice). Never throws out of the handler.

import { decodeEvents } from "../domain/events.ts";
import type { CounterStore, QueuedEvent } from "../domain/model.ts";
import { createStore } from "../stores/create.ts";
import { loadConfig } from "./config.ts";
import { applyQueuedEvents } from "./events-consumer.ts";
import { createLogger, type Logger } from "./logger.ts";
import { type Env, readSecretFromAws, resolveSecrets, type SecretReader } from "./secrets.ts";

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
}

/** The consumer function: configuration and store made once per execution environment. */
export function createSqsConsumer(options: ConsumerOptions = {}) {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger(env.LOG_LEVEL === "debug" ? "debug" : "info");
  let store: Promise<CounterStore> | undefined;
  const handler = async (event: { Records?: SqsRecord[] }): Promise<SqsBatchResponse> => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    try {
      store ??= resolveSecrets(env, options.readSecret ?? readSecretFromAws).then((resolved) =>
        createStore(loadConfig(resolved), logger),
      );
      return await consumeRecords(await store, records, logger, Date.now());
    } catch (error) {
      // Configuration or store creation failed: every record comes back, nothing is lost.
      store = undefined;
      logger.error("events consumer failed to start", { error });
      return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
  };
  return handler;
}
