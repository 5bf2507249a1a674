// The NDJSON counters file of `npm run export` and `npm run import`: one line per counter,
// `{"resource_id","counter_type","count","users"?,"history"?}` (history: each kept day's net
// change, `{"2026-12-06": 7}`; files of 0.1.0 have none, and import keeps what the store has). Both directions stream: a page of
// counters at a time out of the store, a batch of lines at a time into it, so memory stays
// flat however long the file is.

import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { dateOf, dayFromDate } from "../../../shared/domain/history.ts";
import {
  type CounterRecord,
  type CounterStore,
  type CounterTypes,
  MAX_EXACT_COUNT,
} from "../../../shared/domain/model.ts";
import { IDENTIFIER, IDENTIFIER_RULE } from "../../../shared/http/schemas.ts";

const IMPORT_BATCH = 200;
const PROGRESS_EVERY_MS = 1000;

export type Progress = (line: string) => void;

/** Reports counts at most once a second, and once at the end. */
function progressReporter(report: Progress, verb: string) {
  let last = 0;
  return (done: number, final = false) => {
    const now = Date.now();
    if (!final && now - last < PROGRESS_EVERY_MS) return;
    last = now;
    report(
      `${verb} ${done.toLocaleString("en")} ${done === 1 ? "counter" : "counters"}${final ? ", done" : ""}`,
    );
  };
}

export function recordLine(record: CounterRecord): string {
  const line: Record<string, unknown> = {
    resource_id: record.resourceId,
    counter_type: record.type,
    count: record.count,
  };
  if (record.users) line.users = record.users;
  if (record.history) {
    const days = [...record.history].sort(([a], [b]) => a - b);
    line.history = Object.fromEntries(days.map(([day, delta]) => [dateOf(day), delta]));
  }
  return `${JSON.stringify(line)}\n`;
}

/** Writes every counter of the store as NDJSON; returns how many. */
export async function exportCounters(
  store: CounterStore,
  out: Writable,
  options: { members: boolean; progress?: Progress },
): Promise<number> {
  const tick = progressReporter(options.progress ?? (() => {}), "exported");
  let written = 0;
  for await (const page of store.exportCounters({ members: options.members })) {
    const chunk = page.map(recordLine).join("");
    written += page.length;
    if (!out.write(chunk)) await once(out, "drain");
    tick(written);
  }
  tick(written, true);
  return written;
}

/** A line's `history` as days, or what is wrong with it. */
function historyOfLine(history: unknown): Map<number, number> | string {
  const rule = 'history: must be an object of dates to integer changes, {"2026-12-06": 7}';
  if (typeof history !== "object" || history === null || Array.isArray(history)) return rule;
  const days = new Map<number, number>();
  for (const [date, delta] of Object.entries(history)) {
    const day = dayFromDate(date);
    if (day === undefined || !Number.isSafeInteger(delta)) return `${rule}: ${date}`;
    days.set(day, delta as number);
  }
  return days;
}

/** One line as a record, or what is wrong with it. */
export function parseLine(text: string, types: CounterTypes): CounterRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const { resource_id, counter_type, count, users, history } = value as Record<string, unknown>;
  if (typeof resource_id !== "string" || !IDENTIFIER.test(resource_id))
    return `resource_id: ${IDENTIFIER_RULE}`;
  const kind = typeof counter_type === "string" ? types.get(counter_type) : undefined;
  if (kind === undefined) return `counter_type: must be one of ${[...types.keys()].join(", ")}`;
  if (!Number.isSafeInteger(count) || (count as number) < 0)
    return `count: must be an integer from 0 to ${MAX_EXACT_COUNT}`;
  const days = history === undefined ? undefined : historyOfLine(history);
  if (typeof days === "string") return days;
  const record: CounterRecord = {
    resourceId: resource_id,
    type: counter_type as string,
    kind,
    count: count as number,
    ...(days ? { history: days } : {}),
  };
  if (kind === "total") return users === undefined ? record : `users: only unique types have users`;
  if (!Array.isArray(users))
    return `users: required for the unique type ${counter_type} (exported without --no-members?)`;
  if (!users.every((u) => typeof u === "string" && IDENTIFIER.test(u)))
    return `users: each ${IDENTIFIER_RULE}`;
  if (new Set(users).size !== count) return `count: ${count}, but ${new Set(users).size} distinct users`;
  return { ...record, users: users as string[] };
}

/** A record of a counter an earlier line already gave is a problem, naming that line. */
function againOrParsed(
  parsed: CounterRecord | string,
  lineOf: Map<string, number>,
  lineNumber: number,
): CounterRecord | string {
  if (typeof parsed === "string") return parsed;
  const counter = `${parsed.resourceId}\n${parsed.type}`;
  const first = lineOf.get(counter);
  if (first !== undefined) {
    return `resource_id ${parsed.resourceId}, counter_type ${parsed.type}: already on line ${first} (one line per counter)`;
  }
  lineOf.set(counter, lineNumber);
  return parsed;
}

export interface ImportResult {
  imported: number;
  /** Bad lines, each reported on its own as it is met (line number and problem), then skipped. */
  rejected: number;
}

/**
 * Loads an NDJSON counters file into the store, set semantics; bad lines are skipped and
 * reported, and so is a second line for a counter (the first stands).
 */
export async function importCounters(
  store: CounterStore,
  input: Readable,
  types: CounterTypes,
  options: { progress?: Progress; now?: () => number } = {},
): Promise<ImportResult> {
  const report = options.progress ?? (() => {});
  const tick = progressReporter(report, "imported");
  const now = options.now ?? Date.now;
  const result: ImportResult = { imported: 0, rejected: 0 };
  let batch: CounterRecord[] = [];
  const flush = async () => {
    await store.importCounters(batch, now());
    result.imported += batch.length;
    batch = [];
    tick(result.imported);
  };
  let lineNumber = 0;
  // Each counter's line, so a second line for it is refused, never merged into the first.
  const lineOf = new Map<string, number>();
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNumber++;
    if (text.trim() === "") continue;
    const parsed = againOrParsed(parseLine(text, types), lineOf, lineNumber);
    if (typeof parsed === "string") {
      result.rejected++;
      report(`line ${lineNumber}: ${parsed}; skipped`);
      continue;
    }
    batch.push(parsed);
    if (batch.length === IMPORT_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  tick(result.imported, true);
  return result;
}
