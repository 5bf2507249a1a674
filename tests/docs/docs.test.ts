// docs/ says only what the code agrees with: the generated blocks are current (routes,
// functions, alarms, outputs), the context table lists exactly the keys infra/app.ts reads,
// the cost table's alarm count is the template's, teardown names what the template keeps,
// and every link between the documents lands on a file and a heading that exist.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUNDLE_BUDGET_KIB } from "../../infra/bundling.ts";
import { docsDrift } from "../../infra/tools/docs/docs.ts";
import { CONTEXT_SETTINGS } from "../../shared/runtime/settings.ts";
import { resourcesOf, synth } from "../support/synth-stack.ts";

const DEPLOY = readFileSync("docs/deploy.md", "utf8");
const DOCS = ["README.md", ...readdirSync("docs").map((f) => `docs/${f}`)];

const section = (text: string, heading: string) => {
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const next = text.indexOf("\n## ", start + heading.length + 2);
  return text.slice(start, next < 0 ? undefined : next);
};

describe("docs/", () => {
  it("has its generated blocks as the code makes them (npm run docs)", () => {
    expect(docsDrift()).toEqual([]);
  }, 30_000);

  it("lists in its context table exactly the keys infra/app.ts reads", () => {
    const app = readFileSync("infra/app.ts", "utf8");
    // Its own keys, and the app settings it reads as the settings table says.
    const read = new Set([
      ...[...app.matchAll(/\b(?:text|list|integer|flag|oneOf)\("([a-zA-Z]+)"/g)].map((m) => m[1]),
      ...CONTEXT_SETTINGS.map((s) => s.where.context),
    ]);
    const table = section(DEPLOY, "## Every context value");
    const documented = new Set(
      [...table.matchAll(/^\| (`[a-zA-Z]+`(?:(?:,| or) `[a-zA-Z]+`)*) \|/gm)].flatMap((m) =>
        [...(m[1] as string).matchAll(/`([a-zA-Z]+)`/g)].map((k) => k[1]),
      ),
    );
    expect([...documented].sort()).toEqual([...read].sort());
  });

  it("counts in the cost table the alarms the template has", () => {
    const costs = section(DEPLOY, "## What it costs");
    const stated = costs.match(/(\d+) on Upstash, (\d+) with ElastiCache/);
    const count = (props: object) =>
      Object.keys(resourcesOf(synth(props).template, "AWS::CloudWatch::Alarm")).length;
    expect([Number(stated?.[1]), Number(stated?.[2])]).toEqual([count({}), count({ store: "elasticache" })]);
  });

  it("names under Teardown what the template keeps, and keeps nothing else", () => {
    const teardown = section(DEPLOY, "## Teardown");
    const stays = teardown.slice(teardown.indexOf("**Stays:**"));
    for (const props of [
      { alarmEmail: "ops@example.com" },
      { store: "elasticache" as const, alarmEmail: "ops@example.com", cacheRemoval: "snapshot" as const },
    ]) {
      const json = synth(props).template.toJSON().Resources as Record<
        string,
        { Type: string; DeletionPolicy?: string; Properties?: Record<string, unknown> }
      >;
      const kept = Object.entries(json)
        .filter(([, r]) => r.DeletionPolicy === "Retain")
        .map(([id]) => id.replace(/[A-F0-9]{8}$/, ""));
      expect(kept).toEqual(["EventsDeadLetterQueue"]);
      for (const id of kept) expect(stays).toContain(`\`${id}\``);
      const key = Object.values(json).find((r) => r.Type === "AWS::KMS::Key");
      expect(key?.DeletionPolicy).toBe("Delete");
      expect(key?.Properties?.PendingWindowInDays).toBe(7);
      expect(teardown).toContain("7-day");
      for (const r of Object.values(json).filter((r) => r.Type === "AWS::Logs::LogGroup"))
        expect(r.DeletionPolicy).toBe("Delete");
    }
  });

  it("states the bundle budgets infra/bundling.ts enforces", () => {
    const perf = readFileSync("docs/performance.md", "utf8");
    expect(perf).toMatch(
      new RegExp(
        `\\| Upstash \\(\`@upstash/redis\`\\) \\|.*\\| ${BUNDLE_BUDGET_KIB.upstash} KiB, \\+50 ms \\|`,
      ),
    );
    expect(perf).toMatch(
      new RegExp(`\\| ElastiCache \\(\`ioredis\`\\) \\|.*\\| ${BUNDLE_BUDGET_KIB.redis} KiB, \\+50 ms \\|`),
    );
  });

  it("links only to files and headings that exist", () => {
    const slug = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} -]/gu, "")
        .replace(/ /g, "-");
    for (const file of DOCS) {
      const text = readFileSync(file, "utf8");
      for (const [, target] of text.matchAll(/\]\(((?:\.\.\/|docs\/|[a-z-]+\.md)[^)\s]*|#[^)\s]+)\)/g)) {
        const [path, anchor] = (target as string).split("#");
        const linked = path ? join(dirname(file), path) : file;
        const body = readFileSync(linked, "utf8");
        if (anchor) {
          const headings = [...body.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1] as string));
          expect(headings, `${file} -> ${target}`).toContain(anchor);
        }
      }
    }
  });
});
