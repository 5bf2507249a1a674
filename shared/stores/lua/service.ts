// The service's own scripts: the deep health probe and the recorded data format.

import { layout } from "../script-layout.ts";

// A write-flagged script that writes nothing: refused exactly where a write would be (out of
// memory, read-only replica), so it tells a deep health check whether writes would go through.
export const PROBE_BODY = `
return 1
`;

/** The recorded data format (KEYS[1]), or false. */
export const FORMAT = layout({ keys: "", args: "" }, { keys: ["format"], args: ["value"] });
export const FORMAT_READ_BODY = `
return redis.call('GET', ${FORMAT.key.format})
`;

/** Records ARGV[1] as the data format unless one is (KEYS[1]); answers the one recorded. */
export const FORMAT_RECORD_BODY = `
redis.call('SET', ${FORMAT.key.format}, ${FORMAT.arg.value}, 'NX')
return redis.call('GET', ${FORMAT.key.format})
`;
