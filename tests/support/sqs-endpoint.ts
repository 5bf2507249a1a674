// A local endpoint that speaks what the AWS SDK's SQS client sends (the AWS JSON 1.0 protocol:
// POST / with `X-Amz-Target: AmazonSQS.<Action>`): SendMessage is kept in order, with the
// MD5 of the body the SDK checks; it can refuse the next requests, for fault tests.

import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SqsEndpoint {
  url: string;
  queueUrl: string;
  /** Message bodies received, in order. */
  messages: { id: string; body: string }[];
  /** The next `n` requests answer a 500 (an SQS outage). */
  failNext(n: number): void;
  /** Environment for the AWS SDK to reach this endpoint with dummy credentials. */
  sdkEnv: Record<string, string>;
  close(): Promise<void>;
}

export async function startSqsEndpoint(): Promise<SqsEndpoint> {
  let failing = 0;
  const messages: SqsEndpoint["messages"] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => {
      raw += String(chunk);
    });
    req.on("end", () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
        res.end(JSON.stringify(body));
      };
      if (failing > 0) {
        failing--;
        return send(500, { __type: "com.amazonaws.sqs#InternalError", message: "test outage" });
      }
      const action = String(req.headers["x-amz-target"] ?? "").replace("AmazonSQS.", "");
      if (action !== "SendMessage")
        return send(400, { __type: "com.amazonaws.sqs#InvalidAction", message: action });
      const { MessageBody } = JSON.parse(raw) as { MessageBody: string };
      const id = randomUUID();
      messages.push({ id, body: MessageBody });
      send(200, { MessageId: id, MD5OfMessageBody: createHash("md5").update(MessageBody).digest("hex") });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    queueUrl: `${url}/123456789012/highpress-events`,
    messages,
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
