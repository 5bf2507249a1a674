// A local endpoint speaking the AWS Secrets Manager JSON protocol (GetSecretValue), so the
// real AWS SDK can read secrets here: point it with AWS_ENDPOINT_URL_SECRETS_MANAGER.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SecretsEndpoint {
  url: string;
  /** SecretIds asked for, in order. */
  reads: string[];
  /** Environment that makes the AWS SDK in a child process use this endpoint. */
  sdkEnv: Record<string, string>;
  close(): Promise<void>;
}

export async function startSecretsEndpoint(secrets: Record<string, string>): Promise<SecretsEndpoint> {
  const reads: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(body));
      };
      if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue") {
        return send(400, { __type: "UnknownOperationException", message: "only GetSecretValue" });
      }
      if (!String(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256")) {
        return send(400, { __type: "MissingAuthenticationTokenException", message: "request is not signed" });
      }
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { SecretId: string };
      reads.push(SecretId);
      const name = SecretId.replace(/^arn:aws:secretsmanager:[^:]+:\d+:secret:/, "").replace(
        /-[A-Za-z0-9]{6}$/,
        "",
      );
      const value = secrets[name];
      if (value === undefined) {
        return send(400, {
          __type: "ResourceNotFoundException",
          message: "Secrets Manager can't find the specified secret.",
        });
      }
      send(200, {
        ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`,
        Name: name,
        SecretString: value,
        VersionId: "00000000-0000-4000-8000-000000000000",
        VersionStages: ["AWSCURRENT"],
        CreatedDate: 1795687500,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    reads,
    sdkEnv: {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "test-secret",
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
