// Runs once before the suite: fails at once, with the fix, when redis-server is missing.

import { assertRedisInstalled } from "./redis-server.ts";

export default function setup(): void {
  assertRedisInstalled();
}
