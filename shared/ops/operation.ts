import type { BootstrapPhase, RegisteredTarget } from "../gate/record.js";

/**
 * A maintenance operation on serving instances — a manual re-bootstrap today, alarm-driven
 * remediation next — kept as one durable record and advanced by re-checks, like the launch gate, so it
 * can span any number of instances and minutes. Instances are handled one at a time, in place: each
 * one's bootstrap must succeed and its targets report healthy before the next one starts.
 */

export type OperationStatus = "running" | "succeeded" | "failed";
/**
 * Where the operation is: scaling out by one before anything is touched (`surging`), about to start an
 * instance, draining it out of its target groups, its command running, or its health being verified.
 */
export type OperationStep = "surging" | "starting" | "draining" | "running" | "verifying";
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

export interface OperationRecord {
  readonly operationId: string;
  readonly kind: "rebootstrap" | "remediate";
  /** For remediation: the alarm whose episode this is; every action first checks it is still in ALARM. */
  readonly alarmName?: string;
  /** For remediation: the instance whose restart just failed, so the ladder's next rung follows at once. */
  readonly retrying?: string;
  readonly groupName: string;
  readonly bootstrapPhase: Extract<BootstrapPhase, "start" | "all">;
  readonly instanceIds: readonly string[];
  readonly index: number;
  readonly step: OperationStep;
  readonly status: OperationStatus;
  readonly current?: CurrentInstance;
  readonly results: readonly InstanceResult[];
  readonly requestedAt: number;
  readonly updatedAt: number;
  readonly version: number;
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

/** Moves on to the next instance, recording how the current one ended. */
export function finishInstance(
  op: OperationRecord,
  result: Omit<InstanceResult, "seconds">,
  now: number,
): OperationRecord {
  const seconds = Math.round((now - (op.current?.startedAt ?? now)) / 1000);
  const results = [...op.results, { ...result, seconds }];
  const failed = result.outcome === "failed";
  const done = failed || op.index + 1 >= op.instanceIds.length;
  return nextVersion(
    op,
    {
      results,
      index: op.index + 1,
      step: "starting",
      current: undefined,
      // A failure stops the sequence: the next instance is not touched while one is broken.
      status: failed ? "failed" : done ? "succeeded" : "running",
    },
    now,
  );
}

/** A new operation over `instanceIds`, at its first step. */
export function newOperation(
  fields: Pick<OperationRecord, "kind" | "groupName" | "bootstrapPhase" | "instanceIds"> &
    Partial<
      Pick<
        OperationRecord,
        "alarmName" | "drainFirst" | "force" | "drainSeconds" | "surge" | "documentVersion"
      >
    >,
  operationId: string,
  now: number,
): OperationRecord {
  return {
    ...fields,
    operationId,
    index: 0,
    step: fields.surge ? "surging" : "starting",
    status: "running",
    results: [],
    requestedAt: now,
    updatedAt: now,
    version: 1,
  };
}
