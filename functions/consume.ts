// Lambda entry point of ConsumerFunction: the SQS event source of the events queue. Each
// batch's events are applied per counter (one store call each), and only the records that
// failed come back (ReportBatchItemFailures).

import { createSqsConsumer } from "../shared/runtime/sqs-consumer.ts";

export const handler = createSqsConsumer();
