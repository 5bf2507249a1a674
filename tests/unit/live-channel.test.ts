// Channel names on AppSync Events: every counter's is valid there (segments of letters,
// digits and `-`, at most 50 each, at most 5), and two counters never share one.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LIVE_NAMESPACE, liveChannel } from "../../shared/domain/live-channel.ts";

const VALID = /^\/[A-Za-z0-9-]{1,50}(\/[A-Za-z0-9-]{1,50}){0,4}$/;
const idChar = fc.constantFrom(..."ABCXYZabcxyz0189_.:@-".split(""));
const resourceId = fc.array(idChar, { minLength: 1, maxLength: 128 }).map((cs) => cs.join(""));
const type = fc.stringMatching(/^[a-z][a-z0-9_]{0,31}$/);

describe("liveChannel", () => {
  it("names a plain counter readably", async () => {
    expect(await liveChannel("view", "article001")).toBe(`/${LIVE_NAMESPACE}/view/article001`);
    expect(await liveChannel("page_view", "article_001")).toBe(
      `/${LIVE_NAMESPACE}/page-5fview/article-5f001`,
    );
  });

  it("is valid on AppSync Events for every resource id and type", async () => {
    await fc.assert(
      fc.asyncProperty(type, resourceId, async (t, id) => {
        expect(await liveChannel(t, id)).toMatch(VALID);
      }),
    );
  });

  it("never gives two counters one channel (long ids by their digest)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(resourceId, { minLength: 2, maxLength: 30 }), async (ids) => {
        const channels = await Promise.all(ids.map((id) => liveChannel("like", id)));
        expect(new Set(channels).size).toBe(ids.length);
      }),
    );
    const long = "_".repeat(128);
    expect(await liveChannel("like", long)).toMatch(/^\/counters\/like\/-h[0-9a-f]{40}$/);
    expect(await liveChannel("like", long)).not.toBe(await liveChannel("like", `${"_".repeat(127)}.`));
  });
});
