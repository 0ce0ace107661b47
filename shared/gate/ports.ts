import type { GatePhase, GateRecord } from "./record.js";

/**
 * The gate's collaborators that are not AWS service clients. Domain code depends on these interfaces;
 * handlers wire in the DynamoDB/SQS implementations, tests wire in in-memory ones.
 */

export interface GateStore {
  load(instanceId: string): Promise<GateRecord | undefined>;
  /**
   * The records of many instances at once (strongly consistent), keyed by instance id; instances
   * without a record are absent. The reconciler reads a whole group's waits with it, so its cost grows
   * by one request per hundred waits rather than one per wait.
   */
  loadMany(instanceIds: readonly string[]): Promise<Map<string, GateRecord>>;
  /**
   * Saves `record` only if the store still holds what the writer based it on; throws StaleRecordError
   * when another writer got there first:
   * - `options.replacing` given: the stored record is exactly that one (same token and version) — a
   *   record the writer read and means to replace, of another wait or under another id;
   * - otherwise, version 1 (a new record): there is no record for the instance at all;
   * - otherwise: the stored record is this wait's (same token) at `record.version - 1`.
   * A new record never replaces one it was not shown: a stale read or a late event cannot overwrite
   * a wait that began, or moved on, since.
   */
  save(record: GateRecord, options?: SaveOptions): Promise<void>;
  /**
   * Notes a heartbeat sent at `lastHeartbeatAt` on the wait's record as stored at `wait` (same token and
   * version), changing nothing else — not its version: the note of a keeper that is not the wait's
   * chain (the reconciler, the watch), which must not turn a step that read the record into a stale
   * writer — a step that loses a save takes it that the newer writer carries the wait on, and those
   * keepers do not. A later save of the next version simply writes over the note (the next keeper
   * heartbeats a little sooner). False when the record changed since it was read.
   */
  noteHeartbeat(wait: WaitVersion, lastHeartbeatAt: number): Promise<boolean>;
}

/** One stored version of one instance's wait. */
export interface WaitVersion extends RecordVersion {
  readonly instanceId: string;
}

/** What a save was based on, when it is not the previous version of the same wait's record; who saves. */
export interface SaveOptions {
  readonly replacing?: RecordVersion;
  /** Saved by a step the group's watch ran (GateRecord.savedBy); absent: by anyone else. */
  readonly by?: "watch";
}

/** One stored version of a wait's record: enough to make a write conditional on it. */
export interface RecordVersion {
  readonly token: string;
  readonly version: number;
}

/**
 * The re-check that drives each live phase: what kicks a chain that must (re)start — a stalled one
 * (the reconciler) or one whose wait changed its id (startGate).
 */
export const CHAIN_STEP_FOR_PHASE: Partial<Record<GatePhase, RecheckStep>> = {
  "awaiting-agent": "agent",
  "sending-command": "agent",
  bootstrapping: "command",
  "awaiting-health": "health",
};

/**
 * The steps that wait: each re-check message names one and the instance it is about. `operation`
 * advances a maintenance operation (shared/ops); its `token` is the operation id.
 */
export type RecheckStep = "agent" | "command" | "health" | "operation";

export interface RecheckMessage {
  readonly step: RecheckStep;
  readonly instanceId: string;
  /** The wait (or, for `operation`, the operation) this re-check belongs to; an older wait's is dropped. */
  readonly token: string;
  /** For command re-checks: the command sent, so it can be adopted if saving its id failed. */
  readonly commandId?: string;
  /**
   * The version of the wait's record this re-check was scheduled with: the version about to be saved
   * (a round is scheduled before the save it is for) or just saved. A re-check that finds an older
   * version came ahead of that save (active-wait.ts). Absent: written before this field, or not a
   * gate re-check.
   */
  readonly forVersion?: number;
  /** How many times this re-check already failed and was retried (absent: a fresh one). */
  readonly attempt?: number;
  /** The wait as it was when this polling re-check was scheduled (seen.ts); absent: read the record. */
  readonly seen?: WaitSeen;
  /** For `operation`: the re-check chain it belongs to (OperationRecord.chain); absent: any. */
  readonly chain?: string;
  /** For `operation`: the record version its chain was saved with (its pass schedules before saving). */
  readonly chainSince?: number;
}

/** A target group as a polling round needs it: where to look, and the pace of its checks. */
export interface SeenTarget {
  readonly targetGroupArn: string;
  readonly name: string;
  readonly port: number;
  readonly intervalSeconds: number;
}

/** What a polling re-check carries of its wait (see seen.ts). */
export interface WaitSeen {
  /** The record's version when the re-check was scheduled. */
  readonly version: number;
  readonly phase: "awaiting-agent" | "awaiting-health";
  readonly groupName: string;
  /** Epoch ms from which the record must be read: the chain's next heartbeat, or a deadline, is due. */
  readonly readBy: number;
  readonly startedAt: number;
  readonly bootstrapPhase: "all" | "prepare" | "start";
  readonly registeredAt?: number;
  readonly targets?: readonly SeenTarget[];
}

export interface RecheckScheduler {
  /** Delivers `message` to the gate again after about `delaySeconds` (0–900). */
  schedule(message: RecheckMessage, delaySeconds: number): Promise<void>;
  /**
   * Schedules many at once, in fewer calls where the transport allows; returns the indexes of those
   * that could not be scheduled. Absent: one `schedule` each.
   */
  scheduleMany?(rechecks: readonly ScheduledRecheck[]): Promise<number[]>;
}

export interface ScheduledRecheck {
  readonly message: RecheckMessage;
  readonly delaySeconds: number;
}

/** Epoch milliseconds; injected so tests and the simulation control time. */
export type Clock = () => number;
