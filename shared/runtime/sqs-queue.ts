// The events queue on AWS: each accepted POST becomes one SQS message (SendMessage, through
// the Lambda runtime's own AWS SDK). A send that fails or times out is a 503 that says the
// events may have been queued: a retry carries the same event ids, which count once.

import { StoreUnavailableError } from "../domain/errors.ts";
import { encodeEvents } from "../domain/events.ts";
import type { EventQueue } from "../domain/model.ts";

type SqsClient = import("@aws-sdk/client-sqs").SQSClient;

export function sqsEventQueue(
  queueUrl: string,
  options: { timeoutMs: number; now?: () => number },
): EventQueue {
  const now = options.now ?? Date.now;
  let client: SqsClient | undefined;
  return {
    async send(events) {
      const { SQSClient, SendMessageCommand } = await import("@aws-sdk/client-sqs");
      client ??= new SQSClient({ maxAttempts: 2 });
      try {
        await client.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeEvents(events, now()) }),
          {
            abortSignal: AbortSignal.timeout(options.timeoutMs),
          },
        );
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new StoreUnavailableError(`events queue: ${why}: the events may have been queued`, {
          mayHaveApplied: true,
          cause: error,
        });
      }
    },
  };
}
