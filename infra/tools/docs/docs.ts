// `npm run docs`: writes the parts of docs/ that the code knows, between
// `<!-- name:start -->` and `<!-- name:end -->` markers: the settings (from the settings
// table, which also writes .env.example), the routes (from the route table), the functions
// and what each serves, the alarms of both store modes (from the synthesised template), the
// stack's outputs and the cost of each target (costs.ts). `--check` compares instead, and a test runs it, so a
// sentence the code could contradict cannot drift.

import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { ROUTES } from "../../../shared/http/routes.ts";
import { SETTINGS, type Setting } from "../../../shared/runtime/settings.ts";
import { FUNCTION_IDS } from "../../bundling.ts";
import { HighPressStack, type HighPressStackProps } from "../../stack.ts";
import { targetsTable } from "./costs.ts";
import { liveCostsTable } from "./live-costs.ts";

interface Block {
  file: string;
  name: string;
  content: () => string;
}

function template(props: HighPressStackProps): Record<string, Record<string, unknown>> {
  const context = JSON.parse(readFileSync("cdk.json", "utf8")).context as Record<string, unknown>;
  const app = new App({ context: { ...context, "aws:cdk:bundling-stacks": [] } });
  return Template.fromStack(new HighPressStack(app, "HighPressStack", props)).toJSON();
}

function routesTable(): string {
  const rows = ROUTES.map((r) => `| \`${r.method} ${r.path}\` | ${r.fn} | ${r.auth} | ${r.summary} |`);
  return ["| route | function | key | what it does |", "|---|---|---|---|", ...rows].join("\n");
}

function functionsTable(): string {
  const rows = FUNCTION_IDS.map((fid) => {
    const served = ROUTES.filter((r) => r.fn === fid).map((r) => `\`${r.method} ${r.path}\``);
    return `| \`${fid}\` | ${served.length > 0 ? served.join(", ") : "the events queue (an SQS event source): applies queued events per counter"} |`;
  });
  return ["| function | serves |", "|---|---|", ...rows].join("\n");
}

// biome-ignore lint/suspicious/noExplicitAny: template JSON, read field by field.
type Json = Record<string, any>;

function alarmRows(resources: Json): Map<string, string> {
  const rows = new Map<string, string>();
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== "AWS::CloudWatch::Alarm") continue;
    const p = r.Properties;
    const name = id.replace(/[A-F0-9]{8}$/, "");
    const op = p.ComparisonOperator === "GreaterThanThreshold" ? ">" : "≥";
    const of = p.DatapointsToAlarm
      ? `${p.DatapointsToAlarm} of ${p.EvaluationPeriods}`
      : `${p.EvaluationPeriods} of ${p.EvaluationPeriods}`;
    const what = p.MetricName
      ? `${p.MetricName} (${p.ExtendedStatistic ?? p.Statistic})`
      : "a metric expression";
    rows.set(
      name,
      `| ${name} | ${what} ${op} ${p.Threshold} | ${of} periods | ${p.AlarmDescription ?? ""} |`,
    );
  }
  return rows;
}

function alarmsTable(): string {
  const upstash = alarmRows(template({}).Resources as Json);
  const elasticache = alarmRows(template({ store: "elasticache" }).Resources as Json);
  const only = [...elasticache.keys()].filter((k) => !upstash.has(k));
  return [
    `${upstash.size} alarms on Upstash, ${elasticache.size} with ElastiCache (the last ${only.length} below):`,
    "",
    "| alarm | fires when | for | why |",
    "|---|---|---|---|",
    ...upstash.values(),
    ...only.map((k) => elasticache.get(k) as string),
  ].join("\n");
}

function outputsList(): string {
  const outputs = template({}).Outputs as Json;
  return Object.entries(outputs)
    .map(([name, o]) => `- \`${name}\`: ${o.Description}`)
    .join("\n");
}

const plain = (text: string) => text.replace(/`/g, "");
const defaultOf = (s: Setting) => s.fallbackText ?? (s.fallback !== undefined ? `\`${s.fallback}\`` : "—");
const whereOf = (s: Setting) =>
  typeof s.where === "object"
    ? `\`-c ${s.where.context}=\``
    : s.where === "local"
      ? "local server only"
      : "set by the stack";

function settingsTable(): string {
  const rows = SETTINGS.map((s) => `| \`${s.variable}\` | ${s.meaning} | ${defaultOf(s)} | ${whereOf(s)} |`);
  return ["| variable | meaning | default | on Lambda |", "|---|---|---|---|", ...rows].join("\n");
}

/** .env.example, whole: every setting, commented out, with its default or an example. */
export function envExample(): string {
  const head = [
    "# HighPress configuration, written by `npm run docs` from shared/runtime/settings.ts.",
    "# Every variable is optional: with none set, `npm start` serves on http://127.0.0.1:8080",
    "# with the in-memory store. Copy what you need into .env or your environment.",
  ];
  const entries = SETTINGS.map((s) => {
    const meaning = plain(s.meaning);
    const shown = s.fallback === undefined && s.fallbackText ? ` Default: ${plain(s.fallbackText)}.` : "";
    return `# ${meaning.charAt(0).toUpperCase()}${meaning.slice(1)}.${shown}\n# ${s.variable}=${s.fallback ?? s.example ?? ""}`;
  });
  return `${[head.join("\n"), ...entries].join("\n\n")}\n`;
}

export const BLOCKS: Block[] = [
  { file: "docs/operations.md", name: "settings", content: settingsTable },
  { file: "docs/api.md", name: "routes", content: routesTable },
  { file: "docs/deploy.md", name: "functions", content: functionsTable },
  { file: "docs/deploy.md", name: "alarms", content: alarmsTable },
  { file: "docs/deploy.md", name: "outputs", content: outputsList },
  { file: "docs/deploy.md", name: "targets", content: targetsTable },
  { file: "docs/deploy.md", name: "live-costs", content: liveCostsTable },
];

function replaced(text: string, block: Block, content: string): string {
  const start = `<!-- ${block.name}:start -->\n`;
  const end = `<!-- ${block.name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${block.file}: no ${block.name} markers`);
  return `${text.slice(0, a + start.length)}${content}\n${text.slice(b)}`;
}

/** The blocks that differ from what the code says (empty when docs/ is current). */
export function docsDrift(): string[] {
  const stale = BLOCKS.filter((b) => {
    const text = readFileSync(b.file, "utf8");
    return replaced(text, b, b.content()) !== text;
  }).map((b) => `${b.file}: ${b.name} is stale (npm run docs)`);
  if (readFileSync(".env.example", "utf8") !== envExample())
    stale.push(".env.example is stale (npm run docs)");
  return stale;
}

function main(): number {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  if (values.check) {
    const drift = docsDrift();
    for (const line of drift) process.stderr.write(`${line}\n`);
    return drift.length > 0 ? 1 : 0;
  }
  for (const block of BLOCKS)
    writeFileSync(block.file, replaced(readFileSync(block.file, "utf8"), block, block.content()));
  writeFileSync(".env.example", envExample());
  process.stdout.write(`wrote ${BLOCKS.length} generated blocks in docs/\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main());
