import type { SendMessageCommandInput, SendMessageCommandOutput } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { EventPattern } from "../../shared/events/patterns.js";
import { matchesPattern } from "../aws/event-pattern.js";
import type { WorldContext } from "../world-context.js";

/**
 * SIMULATION — how events and messages reach the functions (AWS-FACTS §3, §6):
 * - EventBridge routes by the rules' patterns (the stack's own, from shared/events/patterns.ts) and
 *   invokes asynchronously; a function error is retried twice (after 1 and 2 minutes), then the event
 *   goes to the failure destination. Faults: duplicated, late or lost events.
 * - SQS delivers after DelaySeconds; a failed record comes back after the visibility timeout (180 s),
 *   and after 5 receives goes to the failure queue.
 */

export type LambdaHandler = (event: unknown) => Promise<unknown>;

export interface DeliveryFaults {
  /** Probability that an event is delivered twice. */
  readonly duplicateRate?: number;
  /** The first N lifecycle events are never delivered (lost, or emitted before launchgate was deployed). */
  readonly lostLaunchEvents?: number;
  /** Probability that an SSM status event is never delivered (best-effort delivery). */
  readonly lostCommandEventRate?: number;
  /** Extra delay, in seconds, for SSM status events (late / out of order). */
  readonly commandEventDelaySeconds?: number;
  /** Function invocations that crash before running the handler: the Nth invocation of a function. */
  readonly crashInvocations?: readonly { readonly functionName: string; readonly nth: number }[];
}

export class LambdaModel {
  readonly invocations = new Map<string, number>();
  readonly errors = new Map<string, number>();

  constructor(
    private readonly world: WorldContext,
    private readonly functions: ReadonlyMap<string, LambdaHandler>,
    private readonly faults: DeliveryFaults,
  ) {}

  async invoke(
    functionName: string,
    event: unknown,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: Error }> {
    const handler = this.functions.get(functionName);
    if (!handler) throw new Error(`simulation: no function ${functionName}`);
    const nth = (this.invocations.get(functionName) ?? 0) + 1;
    this.invocations.set(functionName, nth);
    try {
      if (this.faults.crashInvocations?.some((c) => c.functionName === functionName && c.nth === nth)) {
        throw new Error(`simulated crash of ${functionName} invocation #${nth}`);
      }
      return { ok: true, result: await handler(event) };
    } catch (error) {
      this.errors.set(functionName, (this.errors.get(functionName) ?? 0) + 1);
      const instanceId = /i-0[0-9a-f]{16}/.exec(JSON.stringify(event))?.[0];
      this.world.note(
        "lambda",
        `${functionName} failed (will be retried): ${(error as Error).message}`,
        instanceId,
      );
      return { ok: false, error: error as Error };
    }
  }
}

export class EventBridgeModel {
  private readonly rules: { readonly pattern: EventPattern; readonly functionName: string }[] = [];
  readonly failed: unknown[] = [];
  delivered = 0;
  private launchEventsSeen = 0;

  constructor(
    private readonly world: WorldContext,
    private readonly lambda: LambdaModel,
    private readonly faults: DeliveryFaults,
  ) {}

  addRule(pattern: EventPattern, functionName: string): void {
    this.rules.push({ pattern, functionName });
  }

  put(event: Record<string, unknown>): void {
    const isCommandEvent = event.source === "aws.ssm";
    const detail = event.detail as Record<string, string> | undefined;
    const instanceId = detail?.["instance-id"] ?? detail?.EC2InstanceId;
    if (
      event.source === "aws.autoscaling" &&
      ++this.launchEventsSeen <= (this.faults.lostLaunchEvents ?? 0)
    ) {
      this.world.note("fault", "lifecycle event lost (never delivered)", instanceId);
      return;
    }
    for (const rule of this.rules) {
      if (!matchesPattern(rule.pattern, event)) continue;
      if (isCommandEvent && this.world.random.chance(this.faults.lostCommandEventRate ?? 0)) {
        this.world.note("fault", "SSM status event lost", instanceId);
        continue;
      }
      const delay = 500 + (isCommandEvent ? (this.faults.commandEventDelaySeconds ?? 0) * 1000 : 0);
      this.world.clock.after(delay, () => this.deliver(rule.functionName, event, 0));
      if (this.world.random.chance(this.faults.duplicateRate ?? 0)) {
        this.world.clock.after(delay + 1500, () => this.deliver(rule.functionName, event, 0));
      }
    }
  }

  private async deliver(functionName: string, event: unknown, attempt: number): Promise<void> {
    this.delivered += 1;
    const outcome = await this.lambda.invoke(functionName, event);
    if (outcome.ok) return;
    if (attempt < 2) {
      this.world.clock.after((attempt + 1) * 60_000, () => this.deliver(functionName, event, attempt + 1));
      return;
    }
    this.failed.push(event);
    this.world.note("events", `event sent to the failure destination after 3 attempts (${functionName})`);
  }
}

/** The stack sets 6 × the 30 s function timeout. */
const VISIBILITY_TIMEOUT_MS = 180_000;
const MAX_RECEIVES = 5;

export class SqsModel {
  private readonly consumers = new Map<string, string>();
  readonly failed: string[] = [];
  private nextId = 0;

  constructor(
    private readonly world: WorldContext,
    private readonly lambda: LambdaModel,
  ) {}

  addQueue(url: string, functionName: string): void {
    this.consumers.set(url, functionName);
  }

  sendMessage(input: SendMessageCommandInput): SendMessageCommandOutput {
    const functionName = this.consumers.get(input.QueueUrl ?? "");
    if (!functionName) throw new Error(`simulation: no queue ${input.QueueUrl}`);
    const messageId = `msg-${++this.nextId}`;
    const body = input.MessageBody ?? "";
    this.world.clock.after((input.DelaySeconds ?? 0) * 1000, () =>
      this.deliver(functionName, messageId, body, 1),
    );
    return { $metadata: {}, MessageId: messageId };
  }

  private async deliver(
    functionName: string,
    messageId: string,
    body: string,
    receive: number,
  ): Promise<void> {
    const event: SQSEvent = {
      Records: [
        {
          messageId,
          receiptHandle: `${messageId}-${receive}`,
          body,
          attributes: {
            ApproximateReceiveCount: String(receive),
            SentTimestamp: String(this.world.clock.now()),
            SenderId: "launchgate",
            ApproximateFirstReceiveTimestamp: String(this.world.clock.now()),
          },
          messageAttributes: {},
          md5OfBody: "",
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:eu-west-2:123456789012:rechecks",
          awsRegion: "eu-west-2",
        },
      ],
    };
    const outcome = await this.lambda.invoke(functionName, event);
    const failed =
      !outcome.ok || ((outcome.result as SQSBatchResponse | undefined)?.batchItemFailures ?? []).length > 0;
    if (!failed) return;
    if (receive >= MAX_RECEIVES) {
      this.failed.push(body);
      this.world.note("events", `re-check sent to the failure queue after ${receive} receives: ${body}`);
      return;
    }
    this.world.clock.after(VISIBILITY_TIMEOUT_MS, () =>
      this.deliver(functionName, messageId, body, receive + 1),
    );
  }
}
