import type { GateRecord } from "./record.js";

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
   * Saves `record` only if the stored version is `record.version - 1` (or absent when the record is
   * new, version 1). Throws StaleRecordError when another writer got there first.
   */
  save(record: GateRecord): Promise<void>;
}

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
  /** How many times this re-check already failed and was retried (absent: a fresh one). */
  readonly attempt?: number;
}

export interface RecheckScheduler {
  /** Delivers `message` to the gate again after about `delaySeconds` (0–900). */
  schedule(message: RecheckMessage, delaySeconds: number): Promise<void>;
}

/** Epoch milliseconds; injected so tests and the simulation control time. */
export type Clock = () => number;
