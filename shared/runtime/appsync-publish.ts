// Publishing to AWS AppSync Events over HTTP: `POST https://<http domain>/event` with one
// channel and at most 5 events (each a JSON string), signed with the function's IAM role
// (SigV4, service `appsync`). A publish that fails or times out throws; the caller decides.
// https://docs.aws.amazon.com/appsync/latest/eventapi/publish-http.html

import { type AwsCredentials, signRequest } from "./sigv4.ts";

/** The most events one publish request carries (AppSync Events' limit). */
export const MAX_EVENTS_PER_PUBLISH = 5;

export interface AppSyncPublisherOptions {
  /** The API's HTTP endpoint, `https://<id>.appsync-api.<region>.amazonaws.com/event`. */
  endpoint: string;
  region: string;
  /** Read at each publish: Lambda's credentials are rotated in its environment. */
  credentials: () => AwsCredentials;
  timeoutMs: number;
}

export type Publish = (channel: string, events: readonly string[]) => Promise<void>;

export function createAppSyncPublisher(options: AppSyncPublisherOptions): Publish {
  const url = new URL(options.endpoint);
  return async (channel, events) => {
    for (let at = 0; at < events.length; at += MAX_EVENTS_PER_PUBLISH) {
      const body = JSON.stringify({ channel, events: events.slice(at, at + MAX_EVENTS_PER_PUBLISH) });
      const headers = signRequest(
        { method: "POST", url, headers: { "content-type": "application/json" }, body },
        options.region,
        "appsync",
        options.credentials(),
      );
      const { host: _host, ...sent } = headers;
      const response = await fetch(url, {
        method: "POST",
        headers: sent,
        body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      if (!response.ok)
        throw new Error(`AppSync Events answered ${response.status} to a publish: ${text.slice(0, 200)}`);
      const failed = (JSON.parse(text) as { failed?: unknown[] }).failed ?? [];
      if (failed.length > 0)
        throw new Error(`AppSync Events refused ${failed.length} event(s): ${text.slice(0, 200)}`);
    }
  };
}
