// Live counts in the stack: the AppSync Events API (its `counters` namespace, its auth modes
// with and without READ_AUTH), the publisher's one permission, the watcher's schedule, the
// FIFO live queue between them, and who sits in the VPC.

import { describe, expect, it } from "vitest";
import type { HighPressStackProps } from "../../infra/stack.ts";
import {
  API_KEYS_ARN,
  counterFunctions,
  type Json,
  type Resource,
  resourcesOf,
  roleOf,
  statements,
  statementsOf,
  synth,
} from "../support/synth-stack.ts";

const only = <T>(values: T[]): T => {
  expect(values).toHaveLength(1);
  return values[0] as T;
};

function live(props: HighPressStackProps) {
  const { template } = synth(props);
  const functions = counterFunctions(template);
  const fnId = (prefix: string) => Object.keys(functions).find((id) => id.startsWith(prefix)) as string;
  const fn = (prefix: string) => functions[fnId(prefix)] as Resource;
  const api = only(Object.values(resourcesOf(template, "AWS::AppSync::Api"))).Properties;
  return { template, fn, fnId, api };
}

describe.each([
  ["upstash", {}],
  ["elasticache", { store: "elasticache" } as HighPressStackProps],
])("live counts (%s)", (_name, props) => {
  const { template, fn, fnId, api } = live(props);

  it("is an Event API with a counters namespace: subscribers by its API key, publishers by IAM", () => {
    expect(api.Name).toBe("HighPressStack-live");
    const config = api.EventConfig;
    expect(config.AuthProviders.map((p: Json) => p.AuthType).sort()).toEqual(["API_KEY", "AWS_IAM"]);
    expect(config.DefaultSubscribeAuthModes).toEqual([{ AuthType: "API_KEY" }]);
    expect(config.DefaultPublishAuthModes).toEqual([{ AuthType: "AWS_IAM" }]);
    const namespace = only(Object.values(resourcesOf(template, "AWS::AppSync::ChannelNamespace")));
    expect(namespace.Properties.Name).toBe("counters");
    const key = only(Object.values(resourcesOf(template, "AWS::AppSync::ApiKey")));
    // A year from the deploy (AppSync's longest), in seconds since the epoch.
    expect(key.Properties.Expires * 1000 - Date.now()).toBeGreaterThan(360 * 86_400_000);
  });

  it("lets the publisher alone publish, to the counters namespace only", () => {
    const publishers = statements(template).filter((s) => s.actions.some((a) => a.startsWith("appsync:")));
    const statement = only(publishers);
    expect(statement.actions).toEqual(["appsync:EventPublish"]);
    expect(statement.roles).toEqual([roleOf(fn("PublishFunction"))]);
    expect(JSON.stringify(statement.resources)).toMatch(/channelNamespace\/counters"/);
  });

  it("starts the watcher each minute and carries its counts over a FIFO queue to the publisher", () => {
    const rule = only(Object.values(resourcesOf(template, "AWS::Events::Rule"))).Properties;
    expect(rule.ScheduleExpression).toBe("rate(1 minute)");
    expect(JSON.stringify(rule.Targets)).toContain(fnId("WatchFunction"));
    const queues = resourcesOf(template, "AWS::SQS::Queue");
    const liveQueue = Object.keys(queues).find((id) => id.startsWith("LiveQueue")) as string;
    expect(queues[liveQueue]?.Properties).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true });
    const watcher = fn("WatchFunction");
    expect(watcher.Properties.Environment.Variables.LIVE_QUEUE_URL).toEqual({ Ref: liveQueue });
    expect(statementsOf(template, roleOf(watcher)).some((s) => s.actions.includes("sqs:SendMessage"))).toBe(
      true,
    );
    const mapping = only(
      Object.values(resourcesOf(template, "AWS::Lambda::EventSourceMapping")).filter((m) =>
        JSON.stringify(m.Properties.EventSourceArn).includes(liveQueue),
      ),
    ).Properties;
    expect(mapping).toMatchObject({
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      FunctionName: { Ref: fnId("PublishFunction") },
    });
    const endpoint = JSON.stringify(
      fn("PublishFunction").Properties.Environment.Variables.LIVE_EVENTS_ENDPOINT,
    );
    expect(endpoint).toContain("Dns.Http");
    expect(endpoint).toContain("/event");
  });

  it("keeps the publisher out of any VPC and tells it nothing of the store; the watcher sits beside the store", () => {
    const publisher = fn("PublishFunction").Properties;
    expect(publisher.VpcConfig).toBeUndefined();
    expect(
      Object.keys(publisher.Environment.Variables).filter((n) => /^(COUNTER_STORE|REDIS|UPSTASH)/.test(n)),
    ).toEqual([]);
    const watcher = fn("WatchFunction").Properties;
    expect(watcher.Timeout).toBe(70);
    if (props.store === "elasticache") expect(watcher.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    else expect(watcher.Environment.Variables.COUNTER_STORE).toBe("upstash");
  });
});

describe("live counts under READ_AUTH", () => {
  it("has no API key: subscribers sign with IAM", () => {
    const { template, api } = live({ apiKeysSecret: API_KEYS_ARN, readAuth: true });
    expect(api.EventConfig.AuthProviders.map((p: Json) => p.AuthType)).toEqual(["AWS_IAM"]);
    expect(api.EventConfig.DefaultSubscribeAuthModes).toEqual([{ AuthType: "AWS_IAM" }]);
    expect(Object.keys(resourcesOf(template, "AWS::AppSync::ApiKey"))).toEqual([]);
  });
});
