// What each function must read and reach, derived from the routes it serves: the secrets it
// reads at start (and every few minutes after), and the AWS services it calls. The stack
// grants exactly these, puts them in each function's environment, and in a VPC gives each
// service a path (an interface endpoint); a stack test checks the template agrees.

import { STORELESS_FUNCTION_IDS } from "../shared/domain/functions.ts";
import { ROUTES } from "../shared/http/routes.ts";
import type { FunctionId } from "./bundling.ts";
import type { VpcService } from "./cache.ts";
import type { HighPressStackProps } from "./stack-props.ts";

/** The secrets a function may read, each named by `<VARIABLE>_SECRET` in its environment. */
export type SecretKind = "API_KEYS" | "ADMIN_KEYS" | "UPSTASH_REDIS_REST_TOKEN";

export interface FunctionNeeds {
  secrets: Set<SecretKind>;
  services: Set<VpcService>;
}

const authsOf = (fid: FunctionId) => new Set(ROUTES.filter((r) => r.fn === fid).map((r) => r.auth));

/**
 * API keys: a function serving writes (or admin routes, which tell a write key, 403, from no
 * key, 401), or reads under readAuth. Admin keys: the admin routes' function alone. The
 * Upstash token: every function that reads the store, the consumer included (not the live
 * publisher). The queued-events route's function and the live watcher send to SQS.
 */
export function functionNeeds(
  fid: FunctionId,
  props: HighPressStackProps,
  given: Set<SecretKind>,
): FunctionNeeds {
  const auths = authsOf(fid);
  const wanted = new Set<SecretKind>(
    STORELESS_FUNCTION_IDS.includes(fid) ? [] : ["UPSTASH_REDIS_REST_TOKEN"],
  );
  if (auths.has("write") || auths.has("admin") || (props.readAuth === true && auths.has("read"))) {
    wanted.add("API_KEYS");
  }
  if (auths.has("admin")) wanted.add("ADMIN_KEYS");
  const secrets = new Set([...wanted].filter((kind) => given.has(kind)));
  const services = new Set<VpcService>();
  if (secrets.size > 0) services.add("secretsmanager");
  if (ROUTES.some((r) => r.fn === fid && r.id === "queueEvents")) services.add("sqs");
  // The watcher sends each interval's counts to the live queue.
  if (fid === "WatchFunction") services.add("sqs");
  return { secrets, services };
}
