// Live counts on AWS: an AppSync Events API with the `counters` channel namespace (subscribers
// authorised by its API key, or by IAM under READ_AUTH; publishers by IAM only), the
// watcher run each minute by a schedule, the FIFO live queue between it and the publisher,
// and the publisher that alone may publish (live-relay.ts says why there are two).

import { CfnOutput, Duration, Expiration, Validations } from "aws-cdk-lib";
import * as appsync from "aws-cdk-lib/aws-appsync";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { LIVE_NAMESPACE } from "../shared/domain/live-channel.ts";
import type { CounterFunction } from "./counter-function.ts";

/** The watcher runs a minute (less a margin) and the schedule starts one each minute. */
export const WATCH_TIMEOUT = Duration.seconds(70);
/** The API key browsers subscribe with lasts a year from each deploy (AppSync's longest). */
export const LIVE_API_KEY_DAYS = 365;

export interface LiveCounts {
  api: appsync.EventApi;
  queue: sqs.Queue;
}

export function liveCounts(
  scope: Construct,
  functions: { watcher: CounterFunction; publisher: CounterFunction },
  options: { readAuth: boolean; stackName: string },
): LiveCounts {
  const subscriberAuth = options.readAuth
    ? appsync.AppSyncAuthorizationType.IAM
    : appsync.AppSyncAuthorizationType.API_KEY;
  const api = new appsync.EventApi(scope, "LiveApi", {
    // AppSync takes at most 50 characters.
    apiName: `${options.stackName.slice(0, 45)}-live`,
    authorizationConfig: {
      authProviders: [
        { authorizationType: appsync.AppSyncAuthorizationType.IAM },
        ...(options.readAuth
          ? []
          : [
              {
                authorizationType: appsync.AppSyncAuthorizationType.API_KEY,
                apiKeyConfig: {
                  name: "Subscribers",
                  description: "Subscribe-only key for browsers following live counts",
                  expires: Expiration.after(Duration.days(LIVE_API_KEY_DAYS)),
                },
              },
            ]),
      ],
      connectionAuthModeTypes: [subscriberAuth, appsync.AppSyncAuthorizationType.IAM],
      defaultSubscribeAuthModeTypes: [subscriberAuth],
      defaultPublishAuthModeTypes: [appsync.AppSyncAuthorizationType.IAM],
    },
  });
  api.addChannelNamespace(LIVE_NAMESPACE);
  // Publish to this namespace only (grantPublish would allow every namespace of the API).
  api.grant(
    functions.publisher,
    appsync.AppSyncEventResource.ofChannelNamespace(LIVE_NAMESPACE),
    "appsync:EventPublish",
  );
  const queue = new sqs.Queue(scope, "LiveQueue", {
    fifo: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // A count a minute old is worth nothing: the next one replaces it.
    retentionPeriod: Duration.minutes(5),
    visibilityTimeout: Duration.seconds(30),
  });
  Validations.of(queue).acknowledge({
    id: "AwsSolutions-SQS3",
    reason:
      "A live count that could not be published is stale a second later and replaced by the counter's next one: there is nothing to keep in a dead-letter queue.",
  });
  queue.grantSendMessages(functions.watcher);
  functions.watcher.addEnvironment("LIVE_QUEUE_URL", queue.queueUrl);
  functions.publisher.addEnvironment("LIVE_EVENTS_ENDPOINT", `https://${api.httpDns}/event`);
  functions.publisher.addEventSource(
    new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }),
  );
  new events.Rule(scope, "LiveWatchSchedule", {
    description: "Starts the live counts watcher each minute (each runs about a minute)",
    schedule: events.Schedule.rate(Duration.minutes(1)),
    targets: [new targets.LambdaFunction(functions.watcher, { retryAttempts: 0 })],
  });
  new CfnOutput(scope, "LiveRealtimeUrl", {
    value: `wss://${api.realtimeDns}/event/realtime`,
    description: "Live counts: AppSync Events' WebSocket endpoint (channels /counters/{type}/{resource_id})",
  });
  new CfnOutput(scope, "LiveHttpHost", {
    value: api.httpDns,
    description: "Live counts: the Event API's HTTP host, which a subscriber's authorization names",
  });
  return { api, queue };
}
