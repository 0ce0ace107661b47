import { StaleRecordError } from "../../shared/errors.js";
import type { GateStore } from "../../shared/gate/ports.js";
import type { GateRecord } from "../../shared/gate/record.js";

/**
 * GateStore with the same conditional semantics as DynamoGateStore (see its ConditionExpression):
 * a version-1 record may replace only a record of another wait; later versions need the stored
 * version to be exactly one less and the same token.
 */
export class InMemoryGateStore implements GateStore {
  readonly records = new Map<string, GateRecord>();
  saves = 0;
  /** How many loadMany calls were made: the reconciler's cost is counted in them. */
  batchLoads = 0;

  async load(instanceId: string): Promise<GateRecord | undefined> {
    const record = this.records.get(instanceId);
    return record === undefined ? undefined : structuredClone(record);
  }

  async loadMany(instanceIds: readonly string[]): Promise<Map<string, GateRecord>> {
    this.batchLoads += 1;
    const found = new Map<string, GateRecord>();
    for (const id of instanceIds) {
      const record = this.records.get(id);
      if (record) found.set(id, structuredClone(record));
    }
    return found;
  }

  async save(record: GateRecord): Promise<void> {
    const stored = this.records.get(record.instanceId);
    const allowed =
      record.version === 1
        ? stored === undefined || stored.token !== record.token
        : stored !== undefined && stored.version === record.version - 1 && stored.token === record.token;
    if (!allowed) throw new StaleRecordError(record.instanceId, record.version - 1);
    this.saves += 1;
    this.records.set(record.instanceId, structuredClone(record));
  }

  get(instanceId: string): GateRecord {
    const record = this.records.get(instanceId);
    if (!record) throw new Error(`no record for ${instanceId}`);
    return record;
  }
}
