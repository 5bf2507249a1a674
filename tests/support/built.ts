// Invokes a built Lambda bundle in its own Node process, as the Lambda runtime loads it:
// the environment is the function's, the module is imported once, then events are handled.

import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { ApiGatewayEvent as LambdaEvent } from "../../shared/runtime/lambda-adapter.ts";
import { lambdaContext } from "./apigw.ts";

export interface Invocation {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export function invokeBuilt(
  file: string,
  events: LambdaEvent[],
  env: Record<string, string>,
): Promise<Invocation[]> {
  const code = `
    const { handler } = await import(${JSON.stringify(`file://${resolve(file)}`)});
    const events = JSON.parse(process.env.HP_TEST_EVENTS);
    const results = [];
    for (const event of events) results.push(await handler(event, ${JSON.stringify(lambdaContext())}));
    process.stdout.write("\\n@@" + JSON.stringify(results));
    process.exit(0);`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      env: { PATH: process.env.PATH ?? "", ...env, HP_TEST_EVENTS: JSON.stringify(events) },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => {
      out += String(c);
    });
    child.stderr.on("data", (c) => {
      err += String(c);
    });
    child.once("exit", (code) => {
      const marker = out.lastIndexOf("\n@@");
      if (code !== 0 || marker < 0) reject(new Error(`bundle exited ${code}: ${err}${out}`));
      else resolvePromise(JSON.parse(out.slice(marker + 3)) as Invocation[]);
    });
  });
}
