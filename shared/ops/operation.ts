import { SkipEventError } from "../errors.js";
import type { BootstrapPhase, RegisteredTarget } from "../gate/record.js";

/**
 * A maintenance operation on serving instances — a manual re-bootstrap or rollout, or alarm-driven
 * remediation — kept as one durable record and advanced by re-checks, like the launch gate, so it can
 * span any number of instances and minutes. Instances are worked on in waves of at most `batchSize`
 * (one by default): each instance of a wave is drained, commanded and verified healthy on its own pace
 * (a lane), and the next wave starts only once every lane of this one has ended. A failed instance stops
 * the operation: no new instance is started, and the lanes still in flight are seen through to the end.
 */

export type OperationStatus = "running" | "succeeded" | "failed";
/** Scaling out by one before anything is touched (`surging`), or working through the instances. */
export type OperationStep = "surging" | "working";
/**
 * Where one instance of the wave is: about to start (checks, lock, target groups), draining out of its
 * target groups, its command running, or its health being verified.
 */
export type LaneStep = "starting" | "draining" | "running" | "verifying";
export type InstanceOutcome = "succeeded" | "failed" | "skipped" | "replaced";

export interface InstanceResult {
  readonly instanceId: string;
  readonly outcome: InstanceOutcome;
  readonly commandId?: string;
  readonly seconds: number;
  readonly reason: string;
}

export interface CurrentInstance {
  readonly instanceId: string;
  readonly startedAt: number;
  readonly commandId?: string;
  /** Past it, the step fails with a reason: the command's execution timeout, or the health budget. */
  readonly stepDeadline?: number;
  /**
   * A restart is only verified by health checks that could have seen it: before this, a `healthy` may
   * be the load balancer's view from before the app went down.
   */
  readonly verifyNotBefore?: number;
  /** Drained first: the instance is out of its target groups until its command succeeded. */
  readonly drained?: boolean;
  /** The drain was ended by the requested limit, not by the load balancer. */
  readonly drainCutShort?: boolean;
  readonly targets: readonly RegisteredTarget[];
}

/** One instance of the current wave and where it is. */
export interface Lane {
  readonly instanceId: string;
  readonly step: LaneStep;
  /** Set once the instance was started (locked, its target groups known). */
  readonly current?: CurrentInstance;
  /** Remediation: this instance's restart just failed, so the ladder's next rung follows at once. */
  readonly retrying?: boolean;
  /** Not looked at before this (epoch ms): each lane keeps its own pace within the shared re-checks. */
  readonly dueAt?: number;
  /** Errors met in a row by this lane's step (it backs off, and fails at shared/ops/wave-pass.ts's limit). */
  readonly errors?: number;
}

export interface OperationRecord {
  readonly operationId: string;
  readonly kind: "rebootstrap" | "remediate";
  /** For remediation: the alarm whose episode this is; every action first checks it is still in ALARM. */
  readonly alarmName?: string;
  readonly groupName: string;
  readonly bootstrapPhase: Extract<BootstrapPhase, "start" | "all">;
  readonly instanceIds: readonly string[];
  /** How many of `instanceIds` were taken into a wave (in order); the rest are still to come. */
  readonly index: number;
  /** At most this many instances are worked on at once. */
  readonly batchSize: number;
  readonly step: OperationStep;
  readonly status: OperationStatus;
  /** The instances being worked on now; empty between waves. */
  readonly wave: readonly Lane[];
  readonly results: readonly InstanceResult[];
  readonly requestedAt: number;
  readonly updatedAt: number;
  readonly version: number;
  /**
   * The re-check chain allowed to drive the operation: every re-check carries its chain, and a save
   * that schedules the next one gives it a new chain, saved with it. A re-check of any other chain — the
   * next re-check of a pass whose save lost, a copy redelivered after its pass saved — is dropped, so an
   * operation never runs two chains (each a pass every few seconds) to its end. Absent in records from
   * before chains: any re-check drives it until its next save.
   */
  readonly chain?: string;
  /** Take each instance out of every target group before its command (re-bootstraps). */
  readonly drainFirst?: boolean;
  /** Accept working on the last healthy target of a target group (downtime). */
  readonly force?: boolean;
  /** Caps the wait for draining (seconds); absent: until the load balancer ends it. */
  readonly drainSeconds?: number;
  /** The bootstrap document version every instance runs; absent: $LATEST. */
  readonly documentVersion?: string;
  /** Scale out by one first, and back when done. */
  readonly surge?: Surge;
  /** Why the operation stopped before reaching an instance (a surge that could not start, …). */
  readonly failure?: string;
}

export interface Surge {
  /** The group's desired capacity before the surge, restored at the end. */
  readonly originalDesired?: number;
  /** When the surge instance must be serving by; past it the operation fails (and restores). */
  readonly deadline?: number;
  /** The desired capacity has been put back. */
  readonly restored?: boolean;
}

/** A new version of the operation with `changes` applied. */
export function nextVersion(
  op: OperationRecord,
  changes: Partial<Omit<OperationRecord, "version">>,
  now: number,
): OperationRecord {
  return { ...op, ...changes, updatedAt: now, version: op.version + 1 };
}

/**
 * The lane's started instance, as every step after `starting` needs it; a lane without one is corrupt
 * (no retry mends it), so the step fails that lane (shared/ops/wave-pass.ts).
 */
export function startedInstance(lane: Lane): CurrentInstance {
  if (lane.current) return lane.current;
  throw new SkipEventError(`operation lane at ${lane.step} has no instance`, { instanceId: lane.instanceId });
}

/** The started instance of a lane whose command was sent (`running`), with that command's id. */
export function commandedInstance(lane: Lane): CurrentInstance & { readonly commandId: string } {
  const current = startedInstance(lane);
  const { commandId } = current;
  if (commandId) return { ...current, commandId };
  throw new SkipEventError(`operation lane at ${lane.step} has no command`, { instanceId: lane.instanceId });
}

/** A failed instance stops the operation: no instance is started after it. */
export function halted(op: OperationRecord): boolean {
  return op.results.some((result) => result.outcome === "failed");
}

/** The next wave: up to `batchSize` of the instances still to come, each at its first step. */
export function takeWave(op: OperationRecord): OperationRecord {
  const ids = op.instanceIds.slice(op.index, op.index + Math.max(1, op.batchSize));
  const wave = ids.map((instanceId): Lane => ({ instanceId, step: "starting" }));
  return { ...op, wave, index: op.index + ids.length };
}

/** How one lane's step ended: still going (re-checked after a delay), over with a result, or put off. */
export type LaneOutcome =
  | { readonly kind: "continue"; readonly lane: Lane; readonly delaySeconds: number }
  | { readonly kind: "finished"; readonly result: Omit<InstanceResult, "seconds"> }
  /** Not started after all: it would take the last healthy target while others of its wave are out. */
  | { readonly kind: "deferred" };

/**
 * The operation after one pass over its wave: finished lanes become results (in the order they ended),
 * deferred ones go back to the instances still to come, and the operation ends once its wave is empty
 * and either an instance failed or none is left.
 */
export function settleWave(
  op: OperationRecord,
  outcomes: readonly { readonly lane: Lane; readonly outcome: LaneOutcome }[],
  now: number,
): OperationRecord {
  const wave: Lane[] = [];
  const results = [...op.results];
  let deferred = 0;
  for (const { lane, outcome } of outcomes) {
    // A lane left as it was keeps its own due time (recomputing it would drift by each pass's length).
    if (outcome.kind === "continue" && outcome.lane === lane && (lane.dueAt ?? 0) > now) wave.push(lane);
    else if (outcome.kind === "continue")
      wave.push({ ...outcome.lane, dueAt: now + outcome.delaySeconds * 1000 });
    else if (outcome.kind === "deferred") deferred += 1;
    else {
      const seconds = Math.round((now - (lane.current?.startedAt ?? now)) / 1000);
      results.push({ ...outcome.result, seconds });
    }
  }
  const settled = { ...op, results, wave, index: op.index - deferred };
  const over = wave.length === 0 && (halted(settled) || settled.index >= op.instanceIds.length);
  const status = !over ? "running" : halted(settled) ? "failed" : "succeeded";
  return nextVersion(op, { results, wave, index: settled.index, status }, now);
}

/** A new operation over `instanceIds`, at its first step. */
export function newOperation(
  fields: Pick<OperationRecord, "kind" | "groupName" | "bootstrapPhase" | "instanceIds"> &
    Partial<
      Pick<
        OperationRecord,
        "alarmName" | "drainFirst" | "force" | "drainSeconds" | "surge" | "documentVersion" | "batchSize"
      >
    >,
  operationId: string,
  now: number,
): OperationRecord {
  return {
    ...fields,
    operationId,
    index: 0,
    batchSize: fields.batchSize ?? 1,
    step: fields.surge ? "surging" : "working",
    wave: [],
    status: "running",
    results: [],
    requestedAt: now,
    updatedAt: now,
    version: 1,
  };
}

/**
 * An operation as stored, read by this version: records written before waves existed (one instance at
 * a time, `step` and `current` at the top, `index` on the current instance) are read as a wave of one,
 * so an operation in flight during an upgrade carries on where it was.
 */
export function fromStored(stored: Record<string, unknown>): OperationRecord {
  if (Array.isArray(stored.wave)) return stored as unknown as OperationRecord;
  const { current, retrying, step, index, ...rest } = stored as {
    current?: CurrentInstance;
    retrying?: string;
    step?: string;
    index?: number;
  } & Record<string, unknown>;
  const at = index ?? 0;
  const instanceId = (rest.instanceIds as string[] | undefined)?.[at];
  const base = { ...rest, batchSize: 1, step: step === "surging" ? "surging" : "working" };
  if (instanceId === undefined || step === "surging" || (step === "starting" && !retrying))
    return { ...base, index: at, wave: [] } as unknown as OperationRecord;
  const lane: Lane = {
    instanceId,
    step: step as LaneStep,
    ...(current ? { current } : {}),
    ...(retrying ? { retrying: true } : {}),
  };
  return { ...base, index: at + 1, wave: [lane] } as unknown as OperationRecord;
}
