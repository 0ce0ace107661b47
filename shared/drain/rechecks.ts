import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

/** The drain's own re-check step; its messages go to the launch function's queue. */
export interface DrainRecheckMessage {
  readonly step: "drain";
  readonly instanceId: string;
  readonly token: string;
  /** A failed re-check's retry: how many times it failed (shared/runtime/run-event.ts, retrySoon). */
  readonly attempt?: number;
}

export interface DrainRechecks {
  /**
   * Delivers the drain re-check of `instanceId`'s drain `token` again after about `delaySeconds`;
   * `attempt`: the retry of one that failed that many times.
   */
  schedule(instanceId: string, token: string, delaySeconds: number, attempt?: number): Promise<void>;
}

/** SQS takes whole seconds from 0 to 900 (docs/aws-facts.md); a drain's limit is at most 3600 s. */
export class SqsDrainRechecks implements DrainRechecks {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async schedule(instanceId: string, token: string, delaySeconds: number, attempt?: number): Promise<void> {
    const message: DrainRecheckMessage = {
      step: "drain",
      instanceId,
      token,
      ...(attempt === undefined ? {} : { attempt }),
    };
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.max(0, Math.min(900, Math.ceil(delaySeconds))),
      }),
    );
  }
}
