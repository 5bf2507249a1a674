// Scripts by name: every script but the ranking helper (RANK_FN) names its keys and arguments
// through declared layouts (ITEM, MANY, WINDOW, EVENTS, EVENT, the operator's SET, ERASE,
// IMPORT...), and
// their call sites build KEYS and ARGV from records of the same names. No hand-counted offset
// is left in those bodies' source.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { layout } from "../../shared/stores/script-layout.ts";

const SOURCE = ["scripts.ts", "admin-scripts.ts"]
  .map((file) => readFileSync(`shared/stores/${file}`, "utf8"))
  .join("\n");

/** The source of a template-literal constant of scripts.ts or admin-scripts.ts, as written (before expansion). */
function written(name: string): string {
  const start = SOURCE.indexOf(`const ${name} = \``);
  expect(start, name).toBeGreaterThanOrEqual(0);
  return SOURCE.slice(start, SOURCE.indexOf("`;\n", start));
}

describe("the scripts", () => {
  it.each([
    "LIMIT_FN",
    "LIMIT_BODY",
    "APPLY_FN",
    "INCREMENT_BODY",
    "INCREMENT_MANY_BODY",
    "EVENTS_BODY",
    "BATCH_RECORD_BODY",
    "CLAIM_BODY",
    "INDEX_BODY",
    "QUEUE_PUSH_BODY",
    "QUEUE_PEEK_BODY",
    "QUEUE_REMOVE_BODY",
    "RANKING_BODY",
    "FORMAT_READ_BODY",
    "FORMAT_RECORD_BODY",
    "READ_BODY",
    "RANK_MANY_BODY",
    "HISTORY_FN",
    "HISTORY_BODY",
    // The operator's scripts (admin-scripts.ts).
    "SET_BODY",
    "SCORE_BODY",
    "RESET_BODY",
    "INDEX_PAGE_BODY",
    "ERASE_BODY",
    "ERASE_ONE_BODY",
    "DUMP_BODY",
    "IMPORT_BODY",
    "IMPORT_HISTORY_BODY",
  ])("%s counts no offset by hand", (name) => {
    // A key or argument read by number, or by an offset plus a number; `KEYS[ix]`, a place
    // the call site passes as an argument, is not counted by hand.
    const body = written(name);
    expect(body.match(/(?:KEYS|ARGV)\[(?:\d|[kae]\b|#)|\b[kae] \+ \d|\* \d/g) ?? []).toEqual([]);
  });
});

describe("a layout", () => {
  const L = layout({ keys: "k", args: "a" }, { keys: ["one", "two", "three"], args: ["x", "y"] });

  it("reads each name where the call site puts it", () => {
    expect(L.key.two).toBe("KEYS[k + 2]");
    expect(L.arg.y).toBe("ARGV[a + 2]");
    expect(L.keyAt("three")).toBe("k + 3");
    expect(L.argBefore("y")).toBe("a + 1");
    expect(L.encode({ three: "c", one: "a", two: "b" }, { y: "2", x: "1" })).toEqual({
      keys: ["a", "b", "c"],
      args: ["1", "2"],
    });
    expect(L.encode({ three: "c", one: "a", two: "b" }, { y: "2", x: "1" }, "three").keys).toEqual([
      "a",
      "b",
    ]);
    expect(L.keysBefore("three")).toBe(2);
  });
});
