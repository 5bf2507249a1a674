// `npm run replay-dead-letters -- --stack NAME` (or --dead-letter-url URL --queue-url URL):
// moves queued events that the consumer gave up on (5 deliveries) from the dead-letter queue
// back to the events queue, once whatever stopped them is fixed. Safe within the event-id
// window (24 h from when the message was sent): the consumer remembers the ids it applied
// that long, so a message whose events were partly applied counts nothing twice. Older
// messages are left where they are and counted, unless --older-too (their events may then
// count twice). --dry-run only counts. Prints one line per 10 messages and a summary.

import { parseArgs } from "node:util";
import { EVENT_DEDUPE_TTL_MS } from "../../../shared/domain/model.ts";
import { loadDotEnv } from "../../../shared/runtime/env-file.ts";
import { stackOutput } from "./aws.ts";

const USAGE =
  "usage: npm run replay-dead-letters -- (--stack NAME | --dead-letter-url URL --queue-url URL) [--older-too] [--dry-run]";

export interface ReplaySummary {
  replayed: number;
  /** Older than the event-id window: left in the dead-letter queue. */
  tooOld: number;
  /** Dry run: what would be replayed. */
  wouldReplay: number;
}

export interface ReplayOptions {
  deadLetterUrl: string;
  queueUrl: string;
  olderToo: boolean;
  dryRun: boolean;
  now?: () => number;
  progress?: (line: string) => void;
}

/** When a dead letter was first sent (SQS keeps the original SentTimestamp; the body says when it was accepted). */
function sentAt(body: string | undefined, attributes: Record<string, string> | undefined): number {
  const sent = Number(attributes?.SentTimestamp ?? Number.NaN);
  let accepted = Number.NaN;
  try {
    accepted = Number((JSON.parse(body ?? "{}") as { at?: unknown }).at);
  } catch {
    // Not our message: its SentTimestamp alone says how old it is.
  }
  const known = [sent, accepted].filter(Number.isFinite);
  return known.length > 0 ? Math.min(...known) : 0;
}

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplaySummary> {
  const { SQSClient, ReceiveMessageCommand, SendMessageCommand, DeleteMessageCommand } = await import(
    "@aws-sdk/client-sqs"
  );
  const sqs = new SQSClient({});
  const now = options.now ?? Date.now;
  const summary: ReplaySummary = { replayed: 0, tooOld: 0, wouldReplay: 0 };
  // Each message is received once: a received one stays hidden (the visibility timeout) while we go on.
  for (;;) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.deadLetterUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 300,
        MessageSystemAttributeNames: ["SentTimestamp"],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      const old = now() - sentAt(m.Body, m.Attributes) >= EVENT_DEDUPE_TTL_MS;
      if (old && !options.olderToo) {
        summary.tooOld++;
        continue;
      }
      if (options.dryRun) {
        summary.wouldReplay++;
        continue;
      }
      await sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: m.Body ?? "" }));
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: options.deadLetterUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      summary.replayed++;
    }
    options.progress?.(`replayed ${summary.replayed}, older than the window ${summary.tooOld}`);
  }
  sqs.destroy();
  return summary;
}

async function main(): Promise<number> {
  loadDotEnv();
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      "dead-letter-url": { type: "string" },
      "queue-url": { type: "string" },
      "older-too": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const stack = values.stack;
  const deadLetterUrl =
    values["dead-letter-url"] ?? (stack && (await stackOutput(stack, "EventsDeadLetterQueueUrl")));
  const queueUrl = values["queue-url"] ?? (stack && (await stackOutput(stack, "EventsQueueUrl")));
  if (!deadLetterUrl || !queueUrl) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const summary = await replayDeadLetters({
    deadLetterUrl,
    queueUrl,
    olderToo: values["older-too"],
    dryRun: values["dry-run"],
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const hours = EVENT_DEDUPE_TTL_MS / 3_600_000;
  process.stdout.write(
    values["dry-run"]
      ? `dry run: ${summary.wouldReplay} would be replayed, ${summary.tooOld} older than ${hours} h would stay\n`
      : `replayed ${summary.replayed} messages; ${summary.tooOld} older than ${hours} h left in the dead-letter queue${summary.tooOld > 0 ? " (--older-too replays them: their events may count twice)" : ""}\n`,
  );
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `replay-dead-letters failed: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
