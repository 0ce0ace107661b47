import { StaleRecordError } from "../../shared/errors.js";
import type { OperationRecord } from "../../shared/ops/operation.js";
import type { OperationStore } from "../../shared/ops/ports.js";
import type { RemediationHistory } from "../../shared/ops/remediation/policy.js";

/** OperationStore with DynamoOperationStore's conditions: version check, and free/ours/expired locks. */
export class InMemoryOperationStore implements OperationStore {
  readonly operations = new Map<string, OperationRecord>();
  readonly locks = new Map<string, { operationId: string; until: number }>();
  readonly histories = new Map<string, RemediationHistory>();

  readonly replacements = new Map<string, number[]>();

  async takeReplacement(groupName: string, now: number, limit: number): Promise<boolean> {
    const recent = (this.replacements.get(groupName) ?? []).filter((at) => now - at < 3_600_000);
    if (recent.length >= limit) return false;
    this.replacements.set(groupName, [...recent, now]);
    return true;
  }

  async loadHistory(instanceId: string): Promise<RemediationHistory> {
    return structuredClone(this.histories.get(instanceId) ?? { restarts: [] });
  }

  async saveHistory(instanceId: string, history: RemediationHistory): Promise<void> {
    this.histories.set(instanceId, structuredClone(history));
  }

  async load(operationId: string): Promise<OperationRecord | undefined> {
    const op = this.operations.get(operationId);
    return op === undefined ? undefined : structuredClone(op);
  }

  async save(op: OperationRecord): Promise<void> {
    const stored = this.operations.get(op.operationId);
    const allowed = op.version === 1 ? stored === undefined : stored?.version === op.version - 1;
    if (!allowed) throw new StaleRecordError(op.operationId, op.version - 1);
    this.operations.set(op.operationId, structuredClone(op));
  }

  async lock(instanceId: string, operationId: string, now: number, until: number): Promise<boolean> {
    const held = this.locks.get(instanceId);
    if (held && held.operationId !== operationId && held.until >= now) return false;
    this.locks.set(instanceId, { operationId, until });
    return true;
  }

  async unlock(instanceId: string, operationId: string): Promise<void> {
    if (this.locks.get(instanceId)?.operationId === operationId) this.locks.delete(instanceId);
  }

  only(): OperationRecord {
    const [op, ...others] = this.operations.values();
    if (!op || others.length > 0)
      throw new Error(`expected exactly one operation, found ${this.operations.size}`);
    return op;
  }
}
