// The toolchain: every npm script runs on the Node that package.json's engines asks for
// (Lambda's nodejs24.x), also on a machine whose own Node is older.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const engines = (JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } }).engines
  .node;

describe("the toolchain", () => {
  it("runs the tests on the Node that engines asks for", () => {
    const wanted = Number(engines.match(/^>=(\d+)/)?.[1]);
    expect(wanted).toBeGreaterThanOrEqual(24);
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(wanted);
  });
});
