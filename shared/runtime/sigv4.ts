// AWS Signature Version 4 for one HTTPS request (the AppSync Events publish): the canonical
// request, the string to sign and the derived key, with node:crypto, so the publisher's
// bundle carries no AWS SDK. Held to AWS's own signer (@smithy/signature-v4) by a test.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

import { createHash, createHmac } from "node:crypto";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignedRequest {
  method: string;
  url: URL;
  /** Headers to sign besides host and x-amz-*, lower-case names. */
  headers: Record<string, string>;
  body: string;
}

const sha256Hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const hmac = (key: Buffer | string, text: string) => createHmac("sha256", key).update(text, "utf8").digest();

/** `20261206T101500Z` and `20261206`. */
function amzDates(now: number): { stamp: string; day: string } {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return { stamp, day: stamp.slice(0, 8) };
}

/** A URI path as SigV4 wants it: each segment percent-encoded (RFC 3986), `/` kept. */
const canonicalPath = (path: string) =>
  path
    .split("/")
    .map((s) =>
      encodeURIComponent(decodeURIComponent(s)).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join("/");

/** The request's headers with x-amz-date, the session token and Authorization added. */
export function signRequest(
  request: SignedRequest,
  region: string,
  service: string,
  credentials: AwsCredentials,
  now: number = Date.now(),
): Record<string, string> {
  const { stamp, day } = amzDates(now);
  const headers: Record<string, string> = { ...request.headers, host: request.url.host, "x-amz-date": stamp };
  if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
  const names = Object.keys(headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const signedHeaders = names.join(";");
  const query = [...request.url.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join("&");
  const canonical = [
    request.method,
    canonicalPath(request.url.pathname),
    query,
    ...names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, " ")}`),
    "",
    signedHeaders,
    sha256Hex(request.body),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", stamp, scope, sha256Hex(canonical)].join("\n");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service),
    "aws4_request",
  );
  const signature = createHmac("sha256", key).update(toSign, "utf8").digest("hex");
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** The credentials Lambda gives a function in its environment. */
export function credentialsFromEnv(env: Record<string, string | undefined>): AwsCredentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey) throw new Error("no AWS credentials in the environment");
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}
