import { describe, expect, it } from "vitest";
import { bucketOf, daysOfWeek } from "../../shared/domain/buckets.ts";

const at = (iso: string) => Date.parse(iso);

describe("bucketOf", () => {
  it("names UTC hour and day buckets", () => {
    expect(bucketOf("hour", at("2026-11-26T00:34:00Z")).id).toBe("h2026112600");
    expect(bucketOf("hour", at("2026-11-26T23:59:59.999Z")).id).toBe("h2026112623");
    expect(bucketOf("day", at("2026-11-26T23:59:59.999Z")).id).toBe("d20261126");
    expect(bucketOf("day", at("2026-11-27T00:00:00Z")).id).toBe("d20261127");
  });

  it("names ISO weeks, Monday to Sunday, across year ends", () => {
    const cases: [string, string][] = [
      ["2026-11-23T00:00:00Z", "w2026W48"], // Monday
      ["2026-11-29T23:59:59Z", "w2026W48"], // Sunday
      ["2026-11-30T00:00:00Z", "w2026W49"],
      ["2021-01-03T12:00:00Z", "w2020W53"], // Sunday of 2020's last week
      ["2021-01-04T00:00:00Z", "w2021W01"],
      ["2026-12-31T10:00:00Z", "w2026W53"],
      ["2027-01-01T00:00:00Z", "w2026W53"],
      ["2024-12-30T00:00:00Z", "w2025W01"],
    ];
    for (const [iso, id] of cases) expect(bucketOf("week", at(iso)).id, iso).toBe(id);
  });

  it("lists a week's days, Monday to the day, across a year's end", () => {
    expect(daysOfWeek(at("2026-11-26T10:20:00Z"))).toEqual([
      "d20261123",
      "d20261124",
      "d20261125",
      "d20261126",
    ]);
    expect(daysOfWeek(at("2026-11-23T00:00:00Z"))).toEqual(["d20261123"]);
    expect(daysOfWeek(at("2027-01-03T23:59:59Z"))).toEqual([
      "d20261228",
      "d20261229",
      "d20261230",
      "d20261231",
      "d20270101",
      "d20270102",
      "d20270103",
    ]);
  });

  it("expires each bucket a little after its window closes", () => {
    const now = at("2026-11-26T10:20:00Z");
    expect(bucketOf("hour", now).expiresAt).toBe(at("2026-11-26T11:10:00Z"));
    // A day is kept while its week is summed from it.
    expect(bucketOf("day", now).expiresAt).toBe(at("2026-11-30T01:00:00Z"));
    expect(bucketOf("week", now).expiresAt).toBe(at("2026-11-30T01:00:00Z"));
  });
});
