import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { RecheckMessage, RecheckScheduler, RecheckStep } from "../gate/ports.js";

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
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds))),
      }),
    );
  }

  private queueFor(step: RecheckStep): string {
    if (step === "agent") return this.queueUrls.launch;
    if (step === "operation") return this.queueUrls.operations;
    return this.queueUrls.result;
  }
}
