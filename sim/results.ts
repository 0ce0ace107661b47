import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { GateRecord } from "../shared/gate/record.js";
import type { OperationRecord } from "../shared/ops/operation.js";
import { collectDrains, type DrainResult, drainViolations } from "./drain-results.js";
import { checkInvariants } from "./invariants.js";
import type { SimInstance } from "./models/auto-scaling.js";
import type { EmittedMetric } from "./models/embedded-metrics.js";
import type { World } from "./world.js";
import type { TimelineEntry } from "./world-context.js";

/** SIMULATION — what a run produced, per instance and overall: the report and the tests read this. */

export interface PhaseTimes {
  /** Seconds after launch (for an instance out of a warm pool: after it left the pool), to a tenth. */
  readonly waitBegan?: number;
  readonly agentOnline?: number;
  readonly bootstrapSent?: number;
  readonly bootstrapFinished?: number;
  readonly registered?: number;
  /** The load balancer's first passing check after the gate's registration (every target group). */
  readonly firstHealthyCheck?: number;
  readonly completed?: number;
  readonly inService?: number;
}

export interface InstanceResult {
  readonly id: string;
  readonly group: string;
  readonly launchIndex: number;
  readonly zone: string;
  readonly finalState: string;
  readonly hookResult?: string;
  readonly gate?: Pick<GateRecord, "phase" | "outcome" | "reason" | "history">;
  readonly phases: PhaseTimes;
  readonly calls: Readonly<Record<string, number>>;
  /** A scale-out took it out of a warm pool: its phases count from then, not from its launch. */
  readonly fromWarmPool?: boolean;
  /** The state it was kept in there (with fromWarmPool). */
  readonly poolState?: "Stopped" | "Running";
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  readonly simulatedSeconds: number;
  readonly instances: readonly InstanceResult[];
  /** Instances that left a draining group: held at the drain hook, drained, terminated. */
  readonly drains: readonly DrainResult[];
  readonly calls: Readonly<Record<string, number>>;
  readonly invocations: Readonly<Record<string, number>>;
  readonly functionErrors: Readonly<Record<string, number>>;
  /** Invocations Lambda stopped at their timeout, and throttled for reserved concurrency, per function. */
  readonly functionTimeouts: Readonly<Record<string, number>>;
  readonly functionThrottles: Readonly<Record<string, number>>;
  readonly throttledAttempts: number;
  readonly eventsToFailureDestination: number;
  /** Events no target received and no dead-letter queue took. */
  readonly eventsLost: number;
  readonly rechecksToFailureQueue: number;
  /** Messages left in each queue when the run ended. */
  readonly queueBacklog: Readonly<Record<string, number>>;
  /** Every call IAM refused (function: action on resource). */
  readonly accessDenied: readonly string[];
  readonly violations: readonly string[];
  readonly timeline: readonly TimelineEntry[];
  /** Maintenance operations (re-bootstrap), as their records ended. */
  readonly operations: readonly OperationRecord[];
  /** The functions' embedded metrics (name, dimensions, value), in order. */
  readonly metrics: readonly EmittedMetric[];
  /** What operators' direct invocations returned. */
  readonly operatorResults: readonly {
    readonly at: number;
    readonly request: unknown;
    readonly response: unknown;
  }[];
  /** Fewest healthy serving targets per target group, when the scenario tracked capacity. */
  readonly minHealthy: Readonly<Record<string, number>>;
}

/** Seconds after `from` of the load balancer's first passing check in every target group, if any. */
/**
 * For an instance out of a Running pool, whose agent came Online in the pool and never went away: 0 (it
 * was Online when the move began; no new "Online" note comes, as nothing restarted it). Else undefined.
 */
function agentOnlineThroughout(
  timeline: readonly TimelineEntry[],
  instance: SimInstance,
): number | undefined {
  if (instance.leftPoolState !== "Running" || instance.leftPoolAt === undefined) return undefined;
  const last = timeline
    .filter(
      (e) => e.instanceId === instance.id && e.at <= (instance.leftPoolAt ?? 0) && /^SSM agent /.test(e.what),
    )
    .at(-1);
  return last?.what === "SSM agent Online" ? 0 : undefined;
}

function firstHealthyCheck(world: World, instance: SimInstance, from: number): number | undefined {
  const now = world.context.clock.now();
  const passes = instance.group.targetGroupArns.map((arn) =>
    world.elb.firstHealthyCheckAt(arn, instance.id, now),
  );
  if (passes.length === 0 || passes.some((pass) => pass === undefined)) return undefined;
  return Math.round((Math.max(...(passes as number[])) - from) / 100) / 10;
}

export function collectResults(world: World): ScenarioResult {
  const records = new Map<string, GateRecord>();
  for (const item of world.dynamodb.items(world.tableFromOutput("GateStateTable"))) {
    const record = unmarshall(item) as GateRecord;
    records.set(record.instanceId, record);
  }
  const timeline = world.context.timeline;
  const launched = [...world.asg.instances.values()].filter((instance) => instance.launchIndex >= 0);
  const instances: InstanceResult[] = launched.map((instance) => {
    const record = records.get(instance.id);
    // An instance out of a warm pool was launched (and prepared) long before: what counts is its move.
    const from = instance.leftPoolAt ?? instance.launchedAt;
    const since = (match: RegExp) => {
      const entry = timeline.find((e) => e.instanceId === instance.id && e.at >= from && match.test(e.what));
      return entry === undefined ? undefined : Math.round((entry.at - from) / 100) / 10;
    };
    return {
      id: instance.id,
      group: instance.group.name,
      launchIndex: instance.launchIndex,
      zone: instance.behaviour.zone,
      finalState: instance.state,
      hookResult: instance.completions.at(-1)?.result,
      gate: record && {
        phase: record.phase,
        outcome: record.outcome,
        reason: record.reason,
        history: record.history,
      },
      phases: {
        waitBegan: since(/^Pending:Wait/),
        agentOnline: since(/^SSM agent Online/) ?? agentOnlineThroughout(timeline, instance),
        bootstrapSent: since(/^bootstrap command .* received/),
        bootstrapFinished: since(/^bootstrap (Success|Failed|TimedOut)/),
        registered: since(/^registered with .* by the gate/),
        firstHealthyCheck: firstHealthyCheck(world, instance, from),
        completed: since(/^hook completed|^hook heartbeat timeout/),
        inService: since(/^InService/),
      },
      calls: Object.fromEntries(world.router.callsByInstance.get(instance.id) ?? []),
      ...(instance.leftPoolAt === undefined
        ? {}
        : { fromWarmPool: true, poolState: instance.leftPoolState ?? "Stopped" }),
    };
  });
  const result: Omit<ScenarioResult, "violations"> = {
    scenario: world.scenario.name,
    title: world.scenario.title,
    simulatedSeconds: Math.round((world.context.clock.now() - world.startedAt) / 1000),
    instances,
    drains: collectDrains(world),
    calls: Object.fromEntries(world.router.calls),
    invocations: Object.fromEntries(world.lambda.invocations),
    functionErrors: Object.fromEntries(
      [...new Set([...world.lambda.errors.keys(), ...world.lambda.timeouts.keys()])].map((fn) => [
        fn,
        (world.lambda.errors.get(fn) ?? 0) + (world.lambda.timeouts.get(fn) ?? 0),
      ]),
    ),
    functionTimeouts: Object.fromEntries(world.lambda.timeouts),
    functionThrottles: Object.fromEntries(world.lambda.throttles),
    throttledAttempts: world.router.throttled,
    eventsToFailureDestination: world.events.deadLettered.length + world.lambda.failedAsync.length,
    eventsLost: world.events.lost.length,
    rechecksToFailureQueue: world.sqs.bodies("Failures").length - world.lambda.failedAsync.length,
    queueBacklog: world.sqs.backlog(),
    accessDenied: world.router.denied,
    timeline,
    operations: world.dynamodb
      .items(world.tableFromOutput("OperationsTable"))
      .map((item) => unmarshall(item))
      .filter((item) => String(item.id).startsWith("operation#")) as OperationRecord[],
    operatorResults: world.operatorResults,
    metrics: world.metrics,
    minHealthy: Object.fromEntries(world.minHealthy),
  };
  return {
    ...result,
    violations: [
      ...world.context.violations,
      ...checkInvariants(world, instances, result.operations),
      ...drainViolations(result.drains),
    ],
  };
}
