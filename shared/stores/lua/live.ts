// Live counts: every write script tells subscribers a counter's new count in the same script
// (one PUBLISH, no extra round trip). The channel is named as the counter's key
// (KeyLayout.counter), so a subscriber finds it from the counter and the AWS publisher's
// pattern is the counters' own (KeyLayout.counterPattern); the message is the exact count.
// PUBLISH touches no key: allowed in a Cluster script, and Redis Cluster carries it to every node.

/** The Lua statement that announces `count` (a string expression) on the channel of `counterKey` (a key expression). */
export const announce = (counterKey: string, count: string): string =>
  `redis.call('PUBLISH', ${counterKey}, ${count})`;
