// Starts real redis-server processes for tests: on free ports, keeping nothing on disk,
// with the controls fault tests need (kill, pause, resume, restart on the same port).

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

const INSTALL_HINT =
  "redis-server was not found on PATH. The tests need a real Redis: install it with " +
  "`sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS).";

export function assertRedisInstalled(): void {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error(INSTALL_HINT);
  }
}

// Every server a test process starts dies with it, whatever happened in between.
const spawned = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of spawned) child.kill("SIGKILL");
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A self-signed certificate for localhost, made with openssl in a temporary folder. */
export function makeTlsCertificate(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), "hp-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
    ].concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]),
    { stdio: "ignore" },
  );
  return { certFile, keyFile };
}

async function waitForPing(port: number, tls?: TlsFiles, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      ...(tls ? { tls: { ca: readFileSync(tls.certFile), servername: "localhost" } } : {}),
    });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not answer: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL: the server dies at once, as a crashed node would. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server holds connections but answers nothing, as a hung node would. */
  pause(): void;
  resume(): void;
  /** Starts a fresh (empty) server on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** With `tls`, the server listens only for TLS on its port (as ElastiCache in transit encryption). */
export async function startRedis(extraArgs: string[] = [], tls?: TlsFiles): Promise<RedisServer> {
  assertRedisInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "hp-redis-"));
  let child: ChildProcess | undefined;

  const launch = async () => {
    // With TLS, plain TCP is off (--port 0) and only the TLS port listens.
    const listen = tls
      ? [
          "--port",
          "0",
          "--tls-port",
          String(port),
          "--tls-cert-file",
          tls.certFile,
          "--tls-key-file",
          tls.keyFile,
        ]
      : ["--port", String(port)];
    const trust = tls ? ["--tls-ca-cert-file", tls.certFile, "--tls-auth-clients", "no"] : [];
    const args = [
      ...listen,
      ...trust,
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ];
    const started = spawn("redis-server", [...args, ...extraArgs], { stdio: "ignore" });
    child = started;
    spawned.add(started);
    started.once("exit", () => spawned.delete(started));
    try {
      await waitForPing(port, tls);
    } catch (error) {
      started.kill("SIGKILL");
      throw error;
    }
  };
  const kill = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  };

  await launch();
  return {
    port,
    url: tls ? `rediss://localhost:${port}` : `redis://127.0.0.1:${port}`,
    kill,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  ports: number[];
  /** Seed URL for REDIS_URL with REDIS_CLUSTER=true. */
  url: string;
  stop(): Promise<void>;
}

/** Three masters, no replicas: enough to spread keys over slots and shards. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), "hp-cluster-"));
    nodes.push(
      await startRedis([
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, "nodes.conf"),
        "--cluster-node-timeout",
        "2000",
      ]),
    );
  }
  const ports = nodes.map((n) => n.port);
  execFileSync(
    "redis-cli",
    [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const states = ports.map((p) =>
      execFileSync("redis-cli", ["-p", String(p), "cluster", "info"]).toString(),
    );
    if (states.every((s) => s.includes("cluster_state:ok"))) break;
    if (Date.now() > deadline) throw new Error("redis cluster did not reach cluster_state:ok");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ports,
    url: `redis://127.0.0.1:${ports[0]}`,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
