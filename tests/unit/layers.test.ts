// Imports run one way: domain at the bottom, http and stores on it (neither imports runtime),
// runtime composing them, the client on http. A file that imports against the layers fails
// here with its name and the import.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const LAYERS: Record<string, readonly string[]> = {
  domain: ["domain"],
  http: ["domain", "http"],
  stores: ["domain", "stores"],
  runtime: ["domain", "http", "stores", "runtime"],
  client: ["domain", "http", "client"],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("shared/", () => {
  it("imports only from its own layer and the ones below it", () => {
    const wrong: string[] = [];
    for (const file of files("shared")) {
      const layer = relative("shared", file).split("/")[0] as string;
      const allowed = LAYERS[layer];
      expect(allowed, `${file}: a layer the test does not know`).toBeDefined();
      const source = readFileSync(file, "utf8");
      for (const m of source.matchAll(
        /(?:import|export)[^"']*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
      )) {
        const spec = m[1] ?? m[2];
        if (!spec?.startsWith(".")) continue;
        const target = relative(resolve("shared"), resolve(join(file, "..", spec))).split("/")[0] as string;
        if (!allowed?.includes(target)) wrong.push(`${file} imports ${spec} (${layer} -> ${target})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
