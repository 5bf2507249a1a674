// Scripts by name: every script and helper names its keys and arguments through declared
// layouts (ITEM, MANY, WINDOW, EVENTS, EVENT, the operator's SET, ERASE,
// IMPORT...), and
// their call sites build KEYS and ARGV from records of the same names. No hand-counted offset
// is left in those bodies' source.

import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { layout } from "../../shared/stores/script-layout.ts";

const LUA = "shared/stores/lua";
const SOURCE = readdirSync(LUA)
  .map((file) => readFileSync(`${LUA}/${file}`, "utf8"))
  .join("\n");

/** The source of a template-literal constant of a module in shared/stores/lua/, as written (before expansion). */
function written(name: string): string {
  const start = SOURCE.indexOf(`const ${name} = \``);
  expect(start, name).toBeGreaterThanOrEqual(0);
  return SOURCE.slice(start, SOURCE.indexOf("`;\n", start));
}

/** Every script body and shared Lua function, by the constant that holds it. */
const SCRIPTS = [
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
  "QUEUE_LENGTH_BODY",
  "RANKING_BODY",
  "FORMAT_READ_BODY",
  "FORMAT_RECORD_BODY",
  "READ_BODY",
  "RANK_MANY_BODY",
  "RANK_FN",
  "HISTORY_FN",
  "HISTORY_BODY",
  "TOP_FN",
  "WEEK_BODY",
  "WEEK_READ_BODY",
  "PROBE_BODY",
  // The operator's scripts (lua/admin.ts).
  "SET_BODY",
  "SCORE_BODY",
  "RESET_BODY",
  "INDEX_PAGE_BODY",
  "ERASE_BODY",
  "ERASE_ONE_BODY",
  "DUMP_BODY",
  "IMPORT_BODY",
  "IMPORT_HISTORY_BODY",
];

describe("the scripts", () => {
  it("are all checked here: every body and function of shared/stores/lua/", () => {
    const declared = [...SOURCE.matchAll(/const (\w+_(?:BODY|FN)) = `/g)].map((m) => m[1]);
    expect([...declared].sort()).toEqual([...SCRIPTS].sort());
  });

  it.each(SCRIPTS)("%s counts no offset by hand", (name) => {
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
