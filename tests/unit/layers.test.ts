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

/** A file's relative imports, as paths from the repository root. */
function importsOf(file: string): { spec: string; path: string }[] {
  const source = readFileSync(file, "utf8");
  const found: { spec: string; path: string }[] = [];
  for (const m of source.matchAll(
    /(?:import|export)[^"']*?from\s+["']([^"']+)["']|import\s*\(?\s*["']([^"']+)["']/g,
  )) {
    const spec = m[1] ?? m[2];
    if (spec?.startsWith("."))
      found.push({ spec, path: relative(resolve("."), resolve(join(file, "..", spec))) });
  }
  return found;
}

/** The first import circle found from `file`, as the files around it, or undefined. */
function circleFrom(file: string, trail: string[] = [], done = new Set<string>()): string[] | undefined {
  const at = trail.indexOf(file);
  if (at >= 0) return [...trail.slice(at), file];
  if (done.has(file)) return undefined;
  for (const { path } of importsOf(file)) {
    const circle = circleFrom(path, [...trail, file], done);
    if (circle) return circle;
  }
  done.add(file);
  return undefined;
}

describe("shared/", () => {
  it("has no import circle: each module stands on the ones it imports", () => {
    const done = new Set<string>();
    const circles = files("shared").flatMap((file) => circleFrom(file, [], done) ?? []);
    expect(circles).toEqual([]);
  });

  it("imports only from its own layer and the ones below it", () => {
    const wrong: string[] = [];
    for (const file of files("shared")) {
      const layer = relative("shared", file).split("/")[0] as string;
      const allowed = LAYERS[layer];
      expect(allowed, `${file}: a layer the test does not know`).toBeDefined();
      for (const { spec, path } of importsOf(file)) {
        const target = relative("shared", path).split("/")[0] as string;
        if (!allowed?.includes(target)) wrong.push(`${file} imports ${spec} (${layer} -> ${target})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
