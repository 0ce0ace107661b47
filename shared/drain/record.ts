/**
 * One drain: an instance leaving its group (scale-in, or back to the warm pool) held at its group's
 * drain hook while the bootstrap document's `drain` phase lets its sessions end. Kept in the state table
 * beside the gate records, under a key of its own (see store.ts), so it never touches an instance's
 * launch gate record.
 */
export type DrainPhase = "sending" | "draining" | "done";

/**
 * drained: the drain command succeeded. drain-failed: it ended otherwise (failed, timed out, cancelled,
 * or overran inside the script). overran: still running at the limit. not-sent: SSM refused the command
 * (no agent, instance gone). In every case the hook was completed with CONTINUE.
 */
export type DrainOutcome = "drained" | "drain-failed" | "overran" | "not-sent";

export interface DrainRecord {
  readonly instanceId: string;
  readonly groupName: string;
  readonly hookName: string;
  /**
   * The lifecycle action token of this drain: names it, and completes its hook. A rescued drain has
   * none (`rescue:<instance>@<ms>` names it) and completes by instance id.
   */
  readonly token: string;
  /** Why the reconciler started this drain (its terminate event never came); absent: the event did. */
  readonly rescued?: string;
  readonly phase: DrainPhase;
  /** Where the instance goes: EC2 (terminated) or WarmPool; "unknown" for a rescued drain (no event). */
  readonly destination: string;
  /** Epoch ms: when the instance began to wait at the hook. */
  readonly startedAt: number;
  /** Epoch ms: startedAt + the group's drain.timeoutSeconds. At it, the hook is completed, drained or not. */
  readonly deadline: number;
  readonly commandId?: string;
  /** Epoch ms: when the command was sent (or, in `sending`, when the send was claimed). */
  readonly sentAt?: number;
  readonly lastHeartbeatAt?: number;
  readonly outcome?: DrainOutcome;
  readonly reason?: string;
  readonly finishedAt?: number;
  /** Optimistic concurrency: each save is conditional on the previous version. */
  readonly version: number;
}

/** The next version of `record`, with `changes`. */
export function nextDrain(record: DrainRecord, changes: Partial<DrainRecord>): DrainRecord {
  return { ...record, ...changes, version: record.version + 1 };
}

/**
 * Names the drain's wait in RecordLifecycleActionHeartbeat and CompleteLifecycleAction: by its token,
 * or, for a rescued drain (no token known), by instance id (docs/aws-facts.md, lifecycle hooks).
 */
export function lifecycleAction(record: DrainRecord) {
  return {
    AutoScalingGroupName: record.groupName,
    LifecycleHookName: record.hookName,
    InstanceId: record.instanceId,
    ...(record.rescued === undefined ? { LifecycleActionToken: record.token } : {}),
  };
}
