// A local endpoint that speaks what the AWS SDK's SQS client sends (the AWS JSON 1.0 protocol:
// POST / with `X-Amz-Target: AmazonSQS.<Action>`): SendMessage kept in order per queue, with
// the MD5 of the body the SDK checks; ReceiveMessage (hiding what it hands out for the
// visibility timeout, with SentTimestamp) and DeleteMessage. It can refuse the next requests,
// for fault tests.

import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface QueuedMessage {
  id: string;
  body: string;
  sentAt: number;
  /** Hidden until then (received and not yet deleted). */
  hiddenUntil: number;
  receiptHandle?: string;
}

export interface SqsEndpoint {
  url: string;
  /** The events queue's URL; `deadLetterUrl` another queue beside it. */
  queueUrl: string;
  deadLetterUrl: string;
  /** Message bodies the events queue holds (sent and not deleted), in order. */
  messages: QueuedMessage[];
  /** Every queue by URL. */
  queues: Map<string, QueuedMessage[]>;
  /** The next `n` requests answer a 500 (an SQS outage). */
  failNext(n: number): void;
  /** Environment for the AWS SDK to reach this endpoint with dummy credentials. */
  sdkEnv: Record<string, string>;
  close(): Promise<void>;
}

type Send = (status: number, body: unknown) => void;
// biome-ignore lint/suspicious/noExplicitAny: request bodies are the SDK's JSON, read field by field.
type Input = Record<string, any>;

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

function handle(
  action: string,
  input: Input,
  queueOf: (url: string) => QueuedMessage[],
  send: Send,
): unknown {
  const queue = queueOf(String(input.QueueUrl ?? ""));
  const now = Date.now();
  if (action === "SendMessage") {
    const message: QueuedMessage = {
      id: randomUUID(),
      body: String(input.MessageBody),
      sentAt: now,
      hiddenUntil: 0,
    };
    queue.push(message);
    return send(200, { MessageId: message.id, MD5OfMessageBody: md5(message.body) });
  }
  if (action === "ReceiveMessage") {
    const visible = queue
      .filter((m) => m.hiddenUntil <= now)
      .slice(0, Number(input.MaxNumberOfMessages ?? 1));
    for (const m of visible) {
      m.hiddenUntil = now + Number(input.VisibilityTimeout ?? 30) * 1000;
      m.receiptHandle = randomUUID();
    }
    return send(200, {
      Messages: visible.map((m) => ({
        MessageId: m.id,
        ReceiptHandle: m.receiptHandle,
        Body: m.body,
        MD5OfBody: md5(m.body),
        Attributes: { SentTimestamp: String(m.sentAt) },
      })),
    });
  }
  if (action === "DeleteMessage") {
    const at = queue.findIndex((m) => m.receiptHandle === input.ReceiptHandle);
    if (at >= 0) queue.splice(at, 1);
    return send(200, {});
  }
  return send(400, { __type: "com.amazonaws.sqs#InvalidAction", message: action });
}

export async function startSqsEndpoint(): Promise<SqsEndpoint> {
  let failing = 0;
  const queues = new Map<string, QueuedMessage[]>();
  const queueOf = (url: string) => {
    const path = url.replace(/^https?:\/\/[^/]+/, "");
    const queue = queues.get(path) ?? [];
    queues.set(path, queue);
    return queue;
  };
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => {
      raw += String(chunk);
    });
    req.on("end", () => {
      const send: Send = (status, body) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
        res.end(JSON.stringify(body));
      };
      if (failing > 0) {
        failing--;
        return send(500, { __type: "com.amazonaws.sqs#InternalError", message: "test outage" });
      }
      const action = String(req.headers["x-amz-target"] ?? "").replace("AmazonSQS.", "");
      handle(action, JSON.parse(raw || "{}") as Input, queueOf, send);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const queueUrl = `${url}/123456789012/highpress-events`;
  return {
    url,
    queueUrl,
    deadLetterUrl: `${url}/123456789012/highpress-events-dead-letters`,
    messages: queueOf(queueUrl),
    queues,
    failNext: (n) => {
      failing = n;
    },
    sdkEnv: {
      AWS_ENDPOINT_URL_SQS: url,
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
