import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { RecheckMessage, RecheckScheduler, RecheckStep, ScheduledRecheck } from "../gate/ports.js";
import type { WatchMessage, WatchMessages } from "../gate/watch/watch.js";

/** SendMessageBatch's limit of entries per call. */
const BATCH_LIMIT = 10;

/**
 * SQS caps DelaySeconds at 900 (docs/aws-facts.md, Lambda, EventBridge and SQS delivery); longer waits are
 * made of several re-checks.
 */
export const MAX_DELAY_SECONDS = 900;

/**
 * Re-checks travel through SQS delay messages: no Lambda sleeps while an instance boots, and a wait can
 * span any number of invocations. Agent re-checks go to the launch function's queue, command and health
 * re-checks to the command-result function's queue, operation steps to the rebootstrap function's.
 */
export class SqsRecheckScheduler implements RecheckScheduler {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: {
      readonly launch: string;
      readonly result: string;
      readonly operations: string;
    },
  ) {}

  async schedule(message: RecheckMessage, delaySeconds: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueFor(message.step),
        MessageBody: JSON.stringify(message),
        DelaySeconds: sqsDelay(delaySeconds),
      }),
    );
  }

  /**
   * Sends many re-checks in as few SendMessageBatch calls as their queues allow (ten per call); returns
   * the indexes of those SQS did not take. A call that fails outright fails all of its entries.
   */
  async scheduleMany(rechecks: readonly ScheduledRecheck[]): Promise<number[]> {
    const byQueue = new Map<string, number[]>();
    rechecks.forEach(({ message }, index) => {
      const url = this.queueFor(message.step);
      byQueue.set(url, [...(byQueue.get(url) ?? []), index]);
    });
    const failed: number[] = [];
    for (const [url, indexes] of byQueue) {
      for (let start = 0; start < indexes.length; start += BATCH_LIMIT) {
        const chunk = indexes.slice(start, start + BATCH_LIMIT);
        try {
          const { Failed = [] } = await this.client.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: chunk.map((index) => ({
                Id: String(index),
                MessageBody: JSON.stringify(rechecks[index]?.message),
                DelaySeconds: sqsDelay(rechecks[index]?.delaySeconds ?? 0),
              })),
            }),
          );
          failed.push(...Failed.map((entry) => Number(entry.Id)));
        } catch {
          failed.push(...chunk);
        }
      }
    }
    return failed.sort((a, b) => a - b);
  }

  private queueFor(step: RecheckStep): string {
    if (step === "agent") return this.queueUrls.launch;
    if (step === "operation") return this.queueUrls.operations;
    return this.queueUrls.result;
  }
}

/** SQS takes whole seconds from 0 to 900. */
function sqsDelay(delaySeconds: number): number {
  return Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds)));
}

/** Watch messages (gate/watch) go to the queue of the function that runs that watch. */
export class SqsWatchMessages implements WatchMessages {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: { readonly launch: string; readonly result: string },
  ) {}

  async send(message: WatchMessage, delaySeconds: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: message.watch === "agent" ? this.queueUrls.launch : this.queueUrls.result,
        MessageBody: JSON.stringify(message),
        DelaySeconds: sqsDelay(delaySeconds),
      }),
    );
  }
}
