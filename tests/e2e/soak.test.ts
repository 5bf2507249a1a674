// The soak tool, briefly: mixed traffic against a real server and Redis, a row per interval
// with the server's and the store's memory, and no failed request.

import { expect, it } from "vitest";
import { soak } from "../../infra/tools/performance/soak.ts";

it("reports the server's and the store's memory per interval under mixed traffic, every request answered 2xx", async () => {
  const rows = await soak({ seconds: 4, every: 2, connections: 10 });
  expect(rows).toHaveLength(2);
  for (const row of rows) {
    expect(row.requests).toBeGreaterThan(50);
    expect(row.non2xx).toBe(0);
    expect(row.serverRssMiB).toBeGreaterThan(20);
    expect(row.storeMiB).toBeGreaterThan(0);
  }
  // Keyed requests leave records, queued events ids: the store grows while traffic runs.
  expect((rows[1] as (typeof rows)[number]).storeKeys).toBeGreaterThan(
    (rows[0] as (typeof rows)[number]).storeKeys,
  );
}, 60_000);
