// A local endpoint that speaks AWS AppSync Events as the docs describe it, so that the
// publisher and the typed client are tested against the protocol, not a mock of our code:
// - HTTP publish: `POST /event` with `{channel, events}` (1 to 5 JSON strings), signed with
//   SigV4 (service `appsync`): the signature is checked by AWS's own signer
//   (@smithy/signature-v4) against the credentials given; a bad one is a 401.
// - WebSocket subscribe: `/event/realtime` with the `aws-appsync-event-ws` subprotocol and
//   the authorization in a `header-<base64url JSON>` subprotocol; `connection_init` ->
//   `connection_ack`, `subscribe` (id, channel, authorization) -> `subscribe_success` or
//   `subscribe_error`, then `data` messages (`event` a JSON string) for each event
//   published on the channel; `unsubscribe` -> `unsubscribe_success`; `ka` keep-alives.
// The WebSocket framing (RFC 6455: text frames, masking, close, ping) is written here: the
// project has no WebSocket server dependency.

import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentials } from "../../shared/runtime/sigv4.ts";

const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === "string"
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** SHA-256 (or its HMAC) in the shape @smithy/signature-v4 takes. */
class Sha256 {
  private hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac("sha256", bytes(secret)) : createHash("sha256");
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

export const referenceSigner = (credentials: AwsCredentials, region: string) =>
  new SignatureV4({ credentials, region, service: "appsync", sha256: Sha256, applyChecksum: false });

export interface Published {
  channel: string;
  events: string[];
}

export interface AppSyncEndpoint {
  /** `http://127.0.0.1:<port>/event`. */
  httpUrl: string;
  /** `ws://127.0.0.1:<port>/event/realtime`. */
  realtimeUrl: string;
  /** The host the authorization names. */
  host: string;
  apiKey: string;
  published: Published[];
  /** Publish requests refused for their signature. */
  refused: number;
  /** Subscriptions open now, by channel. */
  subscriptions(): string[];
  /** Delivers events to the channel's subscribers, as a publish does. */
  deliver(channel: string, events: string[]): void;
  close(): Promise<void>;
}

/** One WebSocket text frame, unmasked (server to client). */
function frame(text: string, opcode = 0x1): Buffer {
  const payload = Buffer.from(text, "utf8");
  const head =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : payload.length < 65_536
        ? Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff])
        : (() => {
            const h = Buffer.alloc(10);
            h[0] = 0x80 | opcode;
            h[1] = 127;
            h.writeBigUInt64BE(BigInt(payload.length), 2);
            return h;
          })();
  return Buffer.concat([head, payload]);
}

/** Reads masked client frames from a socket: each complete one's opcode and text. */
function frameReader(onFrame: (opcode: number, text: string) => void) {
  let buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = (buffer[0] as number) & 0x0f;
      let length = (buffer[1] as number) & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + 4 + length) return;
      const mask = buffer.subarray(at, at + 4);
      const payload = Buffer.from(buffer.subarray(at + 4, at + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
      buffer = buffer.subarray(at + 4 + length);
      onFrame(opcode, payload.toString("utf8"));
    }
  };
}

/** The authorization a WebSocket's `header-` subprotocol carries. */
function headerProtocol(req: IncomingMessage): Record<string, string> | undefined {
  const protocols = String(req.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim());
  const header = protocols.find((p) => p.startsWith("header-"));
  if (!protocols.includes("aws-appsync-event-ws") || !header) return undefined;
  return JSON.parse(Buffer.from(header.slice(7), "base64url").toString("utf8")) as Record<string, string>;
}

export async function startAppSyncEndpoint(options: {
  credentials: AwsCredentials;
  region: string;
  apiKey?: string;
}): Promise<AppSyncEndpoint> {
  const apiKey = options.apiKey ?? "da2-localtestkey";
  const signer = referenceSigner(options.credentials, options.region);
  const published: Published[] = [];
  /** Subscribers by channel: the socket and the subscription id. */
  const subscribers = new Map<string, Map<string, Socket>>();
  const sockets = new Set<Socket>();
  let refused = 0;
  let host = "";

  const deliver = (channel: string, events: string[]) => {
    for (const [id, socket] of subscribers.get(channel) ?? []) {
      for (const event of events) socket.write(frame(JSON.stringify({ type: "data", id, event })));
    }
  };

  async function verified(req: IncomingMessage, body: string): Promise<boolean> {
    const date = String(req.headers["x-amz-date"] ?? "");
    const at = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    const signedNames =
      /SignedHeaders=([^,]+)/.exec(String(req.headers.authorization ?? ""))?.[1]?.split(";") ?? [];
    const headers = Object.fromEntries(signedNames.map((n) => [n, String(req.headers[n] ?? "")]));
    const expected = await signer.sign(
      {
        method: req.method ?? "",
        protocol: "http:",
        hostname: host.split(":")[0] as string,
        port: Number(host.split(":")[1]),
        path: "/event",
        headers,
        body,
      },
      { signingDate: at },
    );
    return expected.headers.authorization === req.headers.authorization;
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const send = (status: number, answer: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      };
      if (req.method !== "POST" || req.url !== "/event")
        return send(404, { errors: [{ errorType: "NotFound" }] });
      if (!(await verified(req, body))) {
        refused++;
        return send(401, { errors: [{ errorType: "UnauthorizedException", message: "signature mismatch" }] });
      }
      const { channel, events } = JSON.parse(body) as Published;
      const valid =
        /^\/[A-Za-z0-9-]{1,50}(\/[A-Za-z0-9-]{1,50}){0,4}$/.test(channel) &&
        Array.isArray(events) &&
        events.length >= 1 &&
        events.length <= 5 &&
        events.every((e) => typeof e === "string");
      if (!valid) return send(400, { errors: [{ errorType: "BadRequestException" }] });
      published.push({ channel, events });
      deliver(channel, events);
      send(200, {
        failed: [],
        successful: events.map((_, index) => ({ identifier: `${published.length}-${index}`, index })),
      });
    });
  });

  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    const auth = headerProtocol(req);
    if (req.url !== "/event/realtime" || !auth || auth["x-api-key"] !== apiKey || auth.host !== host) {
      socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
      return;
    }
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: aws-appsync-event-ws\r\n\r\n`,
    );
    sockets.add(socket);
    const mine = new Set<string>();
    const drop = () => {
      sockets.delete(socket);
      for (const channel of subscribers.keys()) for (const id of mine) subscribers.get(channel)?.delete(id);
    };
    socket.on("close", drop);
    socket.on("error", drop);
    socket.on(
      "data",
      frameReader((opcode, text) => {
        if (opcode === 0x8) return socket.end(frame("", 0x8));
        if (opcode === 0x9) return socket.write(frame(text, 0xa));
        const message = JSON.parse(text) as {
          type: string;
          id?: string;
          channel?: string;
          authorization?: Record<string, string>;
        };
        const reply = (m: unknown) => socket.write(frame(JSON.stringify(m)));
        if (message.type === "connection_init")
          return reply({ type: "connection_ack", connectionTimeoutMs: 300_000 });
        if (message.type === "subscribe" && message.id && message.channel) {
          if (message.authorization?.["x-api-key"] !== apiKey) {
            return reply({
              type: "subscribe_error",
              id: message.id,
              errors: [{ errorType: "UnauthorizedException" }],
            });
          }
          if (!subscribers.has(message.channel)) subscribers.set(message.channel, new Map());
          subscribers.get(message.channel)?.set(message.id, socket);
          mine.add(message.id);
          return reply({ type: "subscribe_success", id: message.id });
        }
        if (message.type === "unsubscribe" && message.id) {
          for (const subs of subscribers.values()) subs.delete(message.id);
          mine.delete(message.id);
          return reply({ type: "unsubscribe_success", id: message.id });
        }
        reply({ type: "error", errors: [{ errorType: "UnsupportedOperation", message: message.type }] });
      }),
    );
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
  return {
    httpUrl: `http://${host}/event`,
    realtimeUrl: `ws://${host}/event/realtime`,
    host,
    apiKey,
    published,
    get refused() {
      return refused;
    },
    subscriptions: () => [...subscribers].filter(([, s]) => s.size > 0).map(([c]) => c),
    deliver,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
