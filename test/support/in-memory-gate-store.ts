import { StaleRecordError } from "../../shared/errors.js";
import type { GateStore, SaveOptions, WaitVersion } from "../../shared/gate/ports.js";
import type { GateRecord } from "../../shared/gate/record.js";
import { savedAs } from "../../shared/store/dynamo-gate-store.js";

/**
 * Whether DynamoGateStore's condition (saveCondition) lets `record` overwrite `stored`: a replacement
 * needs exactly the record it names; a new record (version 1) needs none at all; an update needs the
 * same wait's previous version.
 */
export function saveAllowed(
  stored: GateRecord | undefined,
  record: GateRecord,
  options: SaveOptions = {},
): boolean {
  const { replacing } = options;
  if (replacing) {
    return stored !== undefined && stored.token === replacing.token && stored.version === replacing.version;
  }
  if (record.version === 1) return stored === undefined;
  return stored !== undefined && stored.version === record.version - 1 && stored.token === record.token;
}

/** GateStore with the same conditional semantics as DynamoGateStore (see saveAllowed). */
export class InMemoryGateStore implements GateStore {
  readonly records = new Map<string, GateRecord>();
  saves = 0;
  /** How many heartbeats were noted without a new version (noteHeartbeat). */
  notes = 0;
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

  async save(record: GateRecord, options: SaveOptions = {}): Promise<void> {
    if (!saveAllowed(this.records.get(record.instanceId), record, options)) {
      throw new StaleRecordError(record.instanceId, options.replacing?.version ?? record.version - 1);
    }
    this.saves += 1;
    this.records.set(record.instanceId, structuredClone(savedAs(record, options)));
  }

  async noteHeartbeat(wait: WaitVersion, lastHeartbeatAt: number): Promise<boolean> {
    const stored = this.records.get(wait.instanceId);
    if (!stored || stored.token !== wait.token || stored.version !== wait.version) return false;
    this.notes += 1;
    this.records.set(wait.instanceId, { ...stored, lastHeartbeatAt });
    return true;
  }

  get(instanceId: string): GateRecord {
    const record = this.records.get(instanceId);
    if (!record) throw new Error(`no record for ${instanceId}`);
    return record;
  }
}
