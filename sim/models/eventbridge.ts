import { TERMINATE_LIFECYCLE_DETAIL_TYPE } from "../../shared/events/patterns.js";
import { matchesPattern } from "../aws/event-pattern.js";
import type { DeployedPermission, DeployedRule, DeployedRuleTarget } from "../deploy/deployment.js";
import type { WorldContext } from "../world-context.js";
import type { LambdaModel } from "./lambda.js";

/**
 * SIMULATION — EventBridge with the stack's rules (docs/aws-facts.md, events; Lambda, EventBridge and SQS delivery): each enabled rule whose pattern
 * matches delivers to its targets after a delivery latency (usually under a second, with a tail).
 * Invoking a function needs a Lambda permission for this rule; without one every attempt fails, is
 * retried per the target's retry policy, then goes to the target's dead-letter queue (if its queue
 * policy lets EventBridge send) or is lost. Schedules fire every `rate`, at a random phase. Faults: lost, duplicated or
 * late events.
 */

export interface EventFaults {
  /** Probability that an event is delivered twice. */
  readonly duplicateRate?: number;
  /** The first N launch lifecycle events are never delivered (lost, or emitted before launchgate was deployed). */
  readonly lostLaunchEvents?: number;
  /** Probability that a launch lifecycle event is never delivered. */
  readonly lostLaunchEventRate?: number;
  /** The first N terminate lifecycle events (an instance leaving at a drain hook) are never delivered. */
  readonly lostTerminateEvents?: number;
  /**
   * The first N lifecycle events of a warm pool's transition, by "Origin → Destination" (e.g.
   * "WarmPool → AutoScalingGroup"), are never delivered.
   */
  readonly lostLaunchEventsOf?: Readonly<Record<string, number>>;
  /** Probability that an SSM status event is never delivered (best-effort delivery). */
  readonly lostCommandEventRate?: number;
  /** Extra delay, in seconds, for SSM status events (late / out of order). */
  readonly commandEventDelaySeconds?: number;
}

export interface DeadLetters {
  /** Sends to a dead-letter queue as EventBridge (checked against the queue's policy); false if refused. */
  sendAsEventBridge(queueArn: string, ruleArn: string, body: string): boolean;
}

export class EventBridgeModel {
  readonly deadLettered: unknown[] = [];
  readonly lost: unknown[] = [];
  delivered = 0;
  private launchEventsSeen = 0;
  private terminateEventsSeen = 0;
  private readonly transitionsSeen = new Map<string, number>();

  constructor(
    private readonly world: WorldContext,
    private readonly rules: readonly DeployedRule[],
    private readonly permissions: readonly DeployedPermission[],
    private readonly lambda: LambdaModel,
    private readonly deadLetters: DeadLetters,
    private readonly faults: EventFaults,
  ) {}

  put(event: Record<string, unknown>): void {
    const detail = event.detail as Record<string, string> | undefined;
    const instanceId = detail?.["instance-id"] ?? detail?.EC2InstanceId;
    const isTerminate =
      event.source === "aws.autoscaling" && event["detail-type"] === TERMINATE_LIFECYCLE_DETAIL_TYPE;
    const isLaunch = event.source === "aws.autoscaling" && !isTerminate;
    const isCommand = event.source === "aws.ssm";
    if (
      isLaunch &&
      (++this.launchEventsSeen <= (this.faults.lostLaunchEvents ?? 0) ||
        this.lostByTransition(detail) ||
        this.world.random.chance(this.faults.lostLaunchEventRate ?? 0))
    ) {
      this.world.note("fault", "lifecycle event lost (never delivered)", instanceId);
      return;
    }
    if (isTerminate && ++this.terminateEventsSeen <= (this.faults.lostTerminateEvents ?? 0)) {
      this.world.note("fault", "terminate lifecycle event lost (never delivered)", instanceId);
      return;
    }
    for (const rule of this.rules) {
      if (!rule.enabled || !rule.pattern || !matchesPattern(rule.pattern, event)) continue;
      if (isCommand && this.world.random.chance(this.faults.lostCommandEventRate ?? 0)) {
        this.world.note("fault", "SSM status event lost", instanceId);
        continue;
      }
      const late = isCommand ? (this.faults.commandEventDelaySeconds ?? 0) * 1000 : 0;
      for (const target of rule.targets) {
        const delay = late + this.latencyMs();
        this.world.clock.after(delay, () => this.deliver(rule, target, event, 0));
        if (this.world.random.chance(this.faults.duplicateRate ?? 0)) {
          this.world.clock.after(delay + this.latencyMs() + 1000, () => this.deliver(rule, target, event, 0));
        }
      }
    }
  }

  /** A lifecycle event of a transition whose first events are to be lost (lostLaunchEventsOf). */
  private lostByTransition(detail: Record<string, string> | undefined): boolean {
    if (!this.faults.lostLaunchEventsOf || !detail?.Origin) return false;
    const transition = `${detail.Origin} → ${detail.Destination}`;
    const seen = (this.transitionsSeen.get(transition) ?? 0) + 1;
    this.transitionsSeen.set(transition, seen);
    return seen <= (this.faults.lostLaunchEventsOf[transition] ?? 0);
  }

  /** Starts every scheduled rule; `keepGoing` decides, at each tick, whether the schedule continues. */
  startSchedules(keepGoing: () => boolean): void {
    for (const rule of this.rules) {
      if (!rule.enabled || rule.rateSeconds === undefined) continue;
      const interval = rule.rateSeconds * 1000;
      const tick = () => {
        // Asked before this tick's own invocation queues work, or the schedule would keep itself going.
        const more = keepGoing();
        for (const target of rule.targets) this.deliver(rule, target, this.scheduledEvent(rule), 0);
        if (more) this.world.clock.after(interval, tick, { background: true });
      };
      // A rate schedule counts from when the rule was created: its phase is anyone's guess.
      this.world.clock.after(Math.floor(this.world.random.uniform(0, interval)), tick, { background: true });
    }
  }

  private deliver(rule: DeployedRule, target: DeployedRuleTarget, event: unknown, attempt: number): void {
    const payload = target.input === undefined ? event : JSON.parse(target.input);
    const fn = this.lambda.byArnOrName(target.arn);
    if (fn && this.permitted(fn.deployed.arn, fn.deployed.name, rule.arn)) {
      this.delivered += 1;
      this.lambda.invokeAsync(fn.deployed.name, payload);
      return;
    }
    const why = fn ? "no permission for this rule to invoke the function" : `unknown target ${target.arn}`;
    if (attempt < target.retryAttempts) {
      this.world.clock.after(Math.min(60_000 * 2 ** attempt, 3_600_000), () =>
        this.deliver(rule, target, event, attempt + 1),
      );
      return;
    }
    const body = JSON.stringify(payload);
    if (target.deadLetterArn && this.deadLetters.sendAsEventBridge(target.deadLetterArn, rule.arn, body)) {
      this.deadLettered.push(payload);
      this.world.note("events", `rule ${rule.name}: event sent to its dead-letter queue (${why})`);
    } else {
      this.lost.push(payload);
      this.world.note("events", `rule ${rule.name}: event lost (${why})`);
    }
  }

  private permitted(functionArn: string, functionName: string, ruleArn: string): boolean {
    return this.permissions.some(
      (p) =>
        (p.functionRef === functionArn || p.functionRef === functionName) &&
        p.action === "lambda:InvokeFunction" &&
        p.principal === "events.amazonaws.com" &&
        (p.sourceArn === undefined || p.sourceArn === ruleArn),
    );
  }

  /** EventBridge delivers within about a second, with an occasional tail of several seconds. */
  private latencyMs(): number {
    return Math.round(this.world.random.logNormal(400, 0.8, 50, 15_000));
  }

  private scheduledEvent(rule: DeployedRule): Record<string, unknown> {
    return {
      version: "0",
      id: `${this.world.random.hex(8)}-schedule`,
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "123456789012",
      time: new Date(this.world.clock.now()).toISOString(),
      region: "eu-west-2",
      resources: [rule.arn],
      detail: {},
    };
  }
}
