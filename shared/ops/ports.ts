import type { OperationRecord } from "./operation.js";
import type { RemediationHistory } from "./remediation/policy.js";

export interface OperationStore {
  load(operationId: string): Promise<OperationRecord | undefined>;
  /** Saves if the stored version is `op.version - 1` (absent for version 1); else StaleRecordError. */
  save(op: OperationRecord): Promise<void>;
  /**
   * Takes the per-instance maintenance lock for `operationId` until `until` (epoch ms); true if taken
   * (or already held by the same operation). A lock past its expiry may be taken over.
   */
  lock(instanceId: string, operationId: string, now: number, until: number): Promise<boolean>;
  unlock(instanceId: string, operationId: string): Promise<void>;
  /** What remediation did to an instance recently (restarts, last action), for the ladder and cooldown. */
  loadHistory(instanceId: string): Promise<RemediationHistory>;
  saveHistory(instanceId: string, history: RemediationHistory): Promise<void>;
  /**
   * Takes one of the group's `limit` replacements per hour at `now`: true if taken (recorded), false
   * when `limit` were already taken in the hour before `now`. Atomic across concurrent operations.
   */
  takeReplacement(groupName: string, now: number, limit: number): Promise<boolean>;
}
