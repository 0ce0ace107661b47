import type {
  SendMessageBatchCommandInput,
  SendMessageBatchCommandOutput,
  SendMessageCommandInput,
  SendMessageCommandOutput,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { awsError } from "../aws/sdk-errors.js";
import type { QueuedMessage } from "../chain-audit.js";
import type { DeployedMapping, DeployedQueue } from "../deploy/deployment.js";
import { isAllowed } from "../deploy/policy.js";
import type { WorldContext } from "../world-context.js";
import type { LambdaModel } from "./lambda.js";

/**
 * SIMULATION — SQS queues and Lambda event-source mappings as the stack deploys them (docs/aws-facts.md, Lambda, EventBridge and SQS delivery):
 * a message is visible after its delay; a mapping's pollers (five at once) share out what is visible and
 * each invokes the function with up to BatchSize messages; a received message is hidden for the queue's visibility timeout and
 * deleted when the function succeeds (with ReportBatchItemFailures, all but the reported ones);
 * otherwise it reappears, and after maxReceiveCount receives moves to the dead-letter queue. A mapping
 * with a maximum concurrency has at most that many batches in flight. A queue
 * with no mapping is read by nobody: its messages wait until their retention ends.
 */

/**
 * Pollers a Lambda SQS event-source mapping runs at once: it starts with five concurrent batches
 * (docs/aws-facts.md, batch sends and batching windows), so messages due together are split among
 * up to five batches rather than handed over in one.
 */
const ESM_POLLERS = 5;

interface Message {
  readonly id: string;
  readonly body: string;
  readonly sentAt: number;
  visibleAt: number;
  receives: number;
  /** A function is handling it now (received, not yet settled). */
  handling: boolean;
}

interface Queue {
  readonly deployed: DeployedQueue;
  readonly messages: Map<string, Message>;
  readonly mapping?: DeployedMapping;
  /** Batches the mapping has in flight (bounded by its maximum concurrency, when it has one). */
  inFlight: number;
}

export class SqsModel {
  private readonly queues = new Map<string, Queue>();
  private nextId = 0;
  /**
   * Called as a function sends a message, with what its queue holds just before (the world audits the
   * reconciler's restarts of re-check chains against it: sim/chain-audit.ts).
   */
  onSend?: (body: string, queued: Iterable<QueuedMessage>) => void;
  /** Called as a message moves to its queue's dead-letter queue. */
  onDeadLetter?: (body: string) => void;

  constructor(
    private readonly world: WorldContext,
    deployedQueues: readonly DeployedQueue[],
    mappings: readonly DeployedMapping[],
    private readonly lambda: LambdaModel,
  ) {
    for (const deployed of deployedQueues) {
      const mapping = mappings.find((m) => m.queueArn === deployed.arn && m.enabled);
      this.queues.set(deployed.url, { deployed, messages: new Map(), mapping, inFlight: 0 });
    }
  }

  /** Messages still in a queue (never consumed, or waiting to be): by queue's logical id. */
  backlog(): Record<string, number> {
    return Object.fromEntries([...this.queues.values()].map((q) => [q.deployed.logicalId, q.messages.size]));
  }

  /** Every message in a queue some function reads (a mapping's), received or not. */
  *readMessages(): Iterable<QueuedMessage> {
    for (const queue of this.queues.values()) if (queue.mapping) yield* queue.messages.values();
  }

  /**
   * Loses every message `match` picks, wherever it is: a fault no real queue has, with which the chain
   * audit's tests end a re-check chain (sim/chain-audit.ts). Returns how many were lost.
   */
  loseMessages(match: (body: string) => boolean): number {
    let lost = 0;
    for (const queue of this.queues.values()) {
      for (const [id, message] of queue.messages) {
        if (!match(message.body)) continue;
        queue.messages.delete(id);
        lost += 1;
      }
    }
    return lost;
  }

  /** Bodies of the messages in a queue (the failure queue, for the report). */
  bodies(logicalIdPart: string): string[] {
    return [...this.queues.values()]
      .filter((q) => q.deployed.logicalId.includes(logicalIdPart))
      .flatMap((q) => [...q.messages.values()].map((m) => m.body));
  }

  urlOfArn(arn: string): string | undefined {
    return [...this.queues.values()].find((q) => q.deployed.arn === arn)?.deployed.url;
  }

  arnOfUrl(url: string): string | undefined {
    return this.queues.get(url)?.deployed.arn;
  }

  sendMessage(input: SendMessageCommandInput): SendMessageCommandOutput {
    const queue = this.queues.get(input.QueueUrl ?? "");
    if (!queue)
      throw awsError("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
    const delay = input.DelaySeconds ?? queue.deployed.delaySeconds;
    this.onSend?.(input.MessageBody ?? "", queue.messages.values());
    return { $metadata: {}, MessageId: this.enqueue(queue, input.MessageBody ?? "", delay) };
  }

  /** Up to 10 messages in one call, each with its own delay (all succeed here; faults hit the call). */
  sendMessageBatch(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
    const queue = this.queues.get(input.QueueUrl ?? "");
    if (!queue)
      throw awsError("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
    const entries = input.Entries ?? [];
    if (entries.length === 0 || entries.length > 10)
      throw awsError("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "1 to 10 entries per batch");
    if (new Set(entries.map((entry) => entry.Id)).size !== entries.length)
      throw awsError("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "entry ids must be distinct");
    for (const entry of entries) this.onSend?.(entry.MessageBody ?? "", queue.messages.values());
    return {
      $metadata: {},
      Successful: entries.map((entry) => ({
        Id: entry.Id ?? "",
        MessageId: this.enqueue(
          queue,
          entry.MessageBody ?? "",
          entry.DelaySeconds ?? queue.deployed.delaySeconds,
        ),
        MD5OfMessageBody: "",
      })),
      Failed: [],
    };
  }

  /** EventBridge sending to a dead-letter queue: allowed only by the queue's resource policy. */
  sendAsEventBridge(queueArn: string, ruleArn: string, body: string): boolean {
    const queue = [...this.queues.values()].find((q) => q.deployed.arn === queueArn);
    if (!queue) return false;
    const allowed = isAllowed(queue.deployed.policy, {
      action: "sqs:SendMessage",
      resource: queueArn,
      context: { "aws:SourceArn": ruleArn, "aws:SecureTransport": "true" },
      servicePrincipal: "events.amazonaws.com",
    });
    if (allowed) this.enqueue(queue, body, 0);
    return allowed;
  }

  /** Lambda sending to an on-failure destination (its role was checked at deploy). */
  sendAsLambda(queueArn: string, body: string): void {
    const queue = [...this.queues.values()].find((q) => q.deployed.arn === queueArn);
    if (queue) this.enqueue(queue, body, 0);
  }

  private enqueue(queue: Queue, body: string, delaySeconds: number): string {
    const id = `msg-${++this.nextId}`;
    const now = this.world.clock.now();
    const message = {
      id,
      body,
      sentAt: now,
      visibleAt: now + delaySeconds * 1000,
      receives: 0,
      handling: false,
    };
    queue.messages.set(id, message);
    this.schedulePoll(queue, message.visibleAt);
    return id;
  }

  /**
   * The mapping's pollers long-poll: a message is picked up within a fraction of a second of becoming
   * visible, together with whatever else is visible then (up to the batch size).
   */
  private schedulePoll(queue: Queue, visibleAt: number): void {
    if (!queue.mapping) return;
    const latency = this.world.random.uniform(20, 500) + queue.mapping.batchingWindowSeconds * 1000;
    this.world.clock.after(visibleAt + Math.round(latency) - this.world.clock.now(), () => this.poll(queue));
  }

  private async poll(queue: Queue): Promise<void> {
    const mapping = queue.mapping;
    if (!mapping) return;
    if (mapping.maxConcurrency !== undefined && queue.inFlight >= mapping.maxConcurrency) {
      // At its maximum concurrency the mapping stops polling until a batch finishes.
      this.schedulePoll(queue, this.world.clock.now() + 1000);
      return;
    }
    const now = this.world.clock.now();
    const retention = queue.deployed.retentionSeconds * 1000;
    const visible: Message[] = [];
    for (const message of queue.messages.values()) {
      if (now - message.sentAt > retention) {
        queue.messages.delete(message.id);
        continue;
      }
      if (message.visibleAt > now) continue;
      if (this.redrive(queue, message)) continue;
      visible.push(message);
    }
    // Several pollers receive at once, each a share of what is visible: the messages are dealt out at
    // random, and each poller's share is a batch of its own (see ESM_POLLERS).
    const pollers =
      mapping.maxConcurrency === undefined
        ? ESM_POLLERS
        : Math.max(1, Math.min(ESM_POLLERS, mapping.maxConcurrency - queue.inFlight));
    const shares = new Map<number, Message[]>();
    for (const message of visible) {
      const poller = Math.floor(this.world.random.next() * pollers);
      shares.set(poller, [...(shares.get(poller) ?? []), message]);
    }
    const [first, ...others] = [...shares.values()].map((share) => share.slice(0, mapping.batchSize));
    const taken = [first ?? [], ...others].reduce((sum, batch) => sum + batch.length, 0);
    if (visible.length > taken) this.schedulePoll(queue, now);
    if (!first) return;
    for (const share of others) void this.deliver(queue, share, now);
    await this.deliver(queue, first, now);
  }

  /** Invokes the mapping's function with one batch and settles its messages by the outcome. */
  private async deliver(queue: Queue, batch: Message[], now: number): Promise<void> {
    const mapping = queue.mapping;
    if (!mapping) return;
    const hiddenUntil = now + queue.deployed.visibilityTimeoutSeconds * 1000;
    for (const message of batch) {
      message.receives += 1;
      message.visibleAt = hiddenUntil;
      message.handling = true;
    }
    queue.inFlight += 1;
    const outcome = await this.lambda.invoke(mapping.functionName, this.event(queue, batch));
    queue.inFlight -= 1;
    const failed = new Set(
      !outcome.ok
        ? batch.map((m) => m.id)
        : mapping.reportBatchItemFailures
          ? ((outcome.result as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map(
              (f) => f.itemIdentifier,
            )
          : [],
    );
    for (const message of batch) {
      message.handling = false;
      if (!failed.has(message.id)) queue.messages.delete(message.id);
      else this.schedulePoll(queue, message.visibleAt);
    }
  }

  /** Past maxReceiveCount, a message moves to the dead-letter queue instead of being received again. */
  private redrive(queue: Queue, message: Message): boolean {
    const redrive = queue.deployed.redrive;
    if (!redrive || message.receives < redrive.maxReceiveCount) return false;
    queue.messages.delete(message.id);
    const target = [...this.queues.values()].find((q) => q.deployed.arn === redrive.deadLetterArn);
    if (target) target.messages.set(message.id, { ...message, visibleAt: Number.POSITIVE_INFINITY });
    this.onDeadLetter?.(message.body);
    this.world.note(
      "events",
      `re-check moved to the dead-letter queue after ${message.receives} receives: ${message.body}`,
    );
    return true;
  }

  private event(queue: Queue, batch: readonly Message[]): SQSEvent {
    return {
      Records: batch.map((message) => ({
        messageId: message.id,
        receiptHandle: `${message.id}-${message.receives}`,
        body: message.body,
        attributes: {
          ApproximateReceiveCount: String(message.receives),
          SentTimestamp: String(message.sentAt),
          SenderId: "launchgate",
          ApproximateFirstReceiveTimestamp: String(this.world.clock.now()),
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: queue.deployed.arn,
        awsRegion: "eu-west-2",
      })),
    };
  }
}
