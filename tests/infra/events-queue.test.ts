// The queued-events path in the synthesised template, in both store modes: an encrypted queue
// with a dead-letter queue, the EventsFunction behind POST /events alone allowed to send to
// it, the consumer fed by an SQS event source (big batches, a batching window, partial batch
// failures), and alarms on dead letters and on the oldest message's age.

import { describe, expect, it } from "vitest";
import {
  API_KEYS_ARN,
  counterFunctions,
  resourcesOf,
  roleOf,
  statementsOf,
  synth,
} from "../support/synth-stack.ts";

describe.each([
  ["upstash", {}],
  ["elasticache", { store: "elasticache" as const, apiKeysSecret: API_KEYS_ARN }],
])("the events queue (%s)", (_name, props) => {
  const { template } = synth(props);
  const functions = counterFunctions(template);
  const idOf = (prefix: string) => Object.keys(functions).find((id) => id.startsWith(prefix)) as string;
  const queues = resourcesOf(template, "AWS::SQS::Queue");
  const mainId = Object.keys(queues).find((id) => id.startsWith("EventsQueue")) as string;
  const deadId = Object.keys(queues).find((id) => id.startsWith("EventsDeadLetterQueue")) as string;

  it("is encrypted, and sends a message to its dead-letter queue after 5 deliveries", () => {
    const main = queues[mainId]?.Properties ?? {};
    expect(main.SqsManagedSseEnabled).toBe(true);
    expect(main.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [deadId, "Arn"] },
      maxReceiveCount: 5,
    });
    expect(main.VisibilityTimeout).toBe(180);
    expect(queues[deadId]?.Properties.SqsManagedSseEnabled).toBe(true);
    // enforceSSL on both, and on the live queue (tests/infra/live.test.ts).
    const policies = Object.values(resourcesOf(template, "AWS::SQS::QueuePolicy"));
    expect(policies).toHaveLength(3);
    for (const p of policies)
      expect(JSON.stringify(p.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it("is fed by the EventsFunction alone, which is told its URL", () => {
    const events = functions[idOf("EventsFunction")];
    expect(events?.Properties.Environment.Variables.EVENTS_QUEUE_URL).toEqual({ Ref: mainId });
    for (const [id, fn] of Object.entries(functions)) {
      const sends = statementsOf(template, roleOf(fn)).some((s) => s.actions.includes("sqs:SendMessage"));
      const sendsHere = statementsOf(template, roleOf(fn)).some(
        (s) => s.actions.includes("sqs:SendMessage") && JSON.stringify(s.resources).includes(mainId),
      );
      expect(sendsHere, id).toBe(id.startsWith("EventsFunction"));
      // The live watcher sends too, to the live queue only.
      expect(sends, id).toBe(id.startsWith("EventsFunction") || id.startsWith("WatchFunction"));
    }
  });

  it("feeds the consumer in batches of up to 1,000 with a 5 s window, reporting failed records only", () => {
    const mappings = Object.values(resourcesOf(template, "AWS::Lambda::EventSourceMapping")).filter((m) =>
      JSON.stringify(m.Properties.EventSourceArn).includes(mainId),
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: { "Fn::GetAtt": [mainId, "Arn"] },
      FunctionName: { Ref: idOf("ConsumerFunction") },
    });
    expect(functions[idOf("ConsumerFunction")]?.Properties.Timeout).toBe(30);
    // The other queue consumer (the live publisher) and the live watcher have their own timeouts.
    const own: Record<string, number> = { ConsumerFunction: 30, PublishFunction: 30, WatchFunction: 70 };
    for (const [id, fn] of Object.entries(functions)) {
      const fid = Object.keys(own).find((f) => id.startsWith(f));
      expect(fn.Properties.Timeout, id).toBe(fid ? own[fid] : 10);
    }
  });

  it("alarms on a dead letter, and on a backlog older than a failing message stays (so it pages once)", () => {
    const alarms = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const dead = alarms.find((a) => a.MetricName === "ApproximateNumberOfMessagesVisible");
    expect(dead).toMatchObject({ Threshold: 1, Namespace: "AWS/SQS" });
    expect(JSON.stringify(dead?.Dimensions)).toContain(deadId);
    const age = alarms.find((a) => a.MetricName === "ApproximateAgeOfOldestMessage");
    // 5 deliveries, each hidden 180 s (6 x the 30 s timeout), plus 5 minutes.
    expect(age).toMatchObject({ Threshold: 5 * 180 + 300, Namespace: "AWS/SQS" });
    const queue = resourcesOf(template, "AWS::SQS::Queue")[mainId]?.Properties;
    expect(age?.Threshold).toBeGreaterThan(queue?.VisibilityTimeout * queue?.RedrivePolicy.maxReceiveCount);
    expect(JSON.stringify(age?.Dimensions)).toContain(mainId);
  });
});
