// A TCP proxy between a client and a live server, to play network faults: `blackhole`
// swallows traffic both ways (a partition), `cut` drops every client connection.

import { createConnection, createServer, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** true: bytes are read and dropped in both directions. */
  blackhole(on: boolean): void;
  /** Destroys every open client connection (the server side stays up). */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let holed = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ port: targetPort, host: "127.0.0.1" });
    sockets.add(client);
    sockets.add(upstream);
    client.on("data", (chunk) => {
      if (!holed) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!holed) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("proxy has no port");
  return {
    port: address.port,
    blackhole: (on) => {
      holed = on;
    },
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
