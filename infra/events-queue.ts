// The queued-events path on AWS: an encrypted SQS queue with a dead-letter queue, the
// consumer function fed by it (batches of up to 1,000 events' messages, a batching window of
// a few seconds, ReportBatchItemFailures), and alarms on the dead letters and on the age of
// the oldest message. API Gateway cannot validate a body, so the EventsFunction validates and
// sends (it alone may): an SQS-SendMessage integration would queue junk.

import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { CounterFunction } from "./counter-function.ts";

/** The consumer's timeout; SQS hides a message six times as long while it is being handled. */
export const CONSUMER_TIMEOUT = Duration.seconds(30);
/** Deliveries of a message before it goes to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;
/** SQS hides a message this long while the consumer handles it (six times its timeout, as AWS advises). */
export const VISIBILITY_TIMEOUT = Duration.seconds(CONSUMER_TIMEOUT.toSeconds() * 6);
/**
 * The age of the oldest waiting message that alarms: the consumer is behind or failing. Longer
 * than a message that keeps failing stays (MAX_RECEIVE_COUNT deliveries, each hidden for the
 * visibility timeout) plus five minutes, so such a message pages once, as a dead letter, not
 * first as a backlog.
 */
export const OLDEST_MESSAGE_ALARM_SECONDS = MAX_RECEIVE_COUNT * VISIBILITY_TIMEOUT.toSeconds() + 300;

export interface EventsQueue {
  queue: sqs.Queue;
  deadLetters: sqs.Queue;
  alarms: cloudwatch.Alarm[];
}

export interface EventsQueueOptions {
  /** The most batches the consumer applies at once (the event source's maximum concurrency). */
  maxConcurrency: number;
}

export function eventsQueue(
  scope: Construct,
  sender: CounterFunction,
  consumer: CounterFunction,
  options: EventsQueueOptions,
): EventsQueue {
  // Dead letters are counts not yet applied: deleting the stack leaves this queue (and what
  // it holds, for its 14 days) for a replay into the next stack; delete it by hand when done.
  const deadLetters = new sqs.Queue(scope, "EventsDeadLetterQueue", {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const queue = new sqs.Queue(scope, "EventsQueue", {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(4),
    visibilityTimeout: VISIBILITY_TIMEOUT,
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
  });
  queue.grantSendMessages(sender);
  sender.addEnvironment("EVENTS_QUEUE_URL", queue.queueUrl);
  consumer.addEventSource(
    new SqsEventSource(queue, {
      batchSize: 1000,
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
      maxConcurrency: options.maxConcurrency,
    }),
  );
  const alarms = [
    deadLetters
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) })
      .createAlarm(scope, "EventsDeadLettersAlarm", {
        alarmDescription:
          "Queued events could not be applied after 5 deliveries: they wait in the dead-letter queue",
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    queue
      .metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1) })
      .createAlarm(scope, "EventsBacklogAlarm", {
        alarmDescription: `The oldest queued event has waited more than ${OLDEST_MESSAGE_ALARM_SECONDS} s (longer than a failing message stays before it is dead-lettered): the consumer is behind`,
        threshold: OLDEST_MESSAGE_ALARM_SECONDS,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
  ];
  return { queue, deadLetters, alarms };
}
