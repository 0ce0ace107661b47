import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { StaleRecordError } from "../errors.js";
import type { GateStore, RecordVersion, SaveOptions, WaitVersion } from "../gate/ports.js";
import type { GateRecord } from "../gate/record.js";
import { putConditionally, WRITE_ID_ATTRIBUTE } from "./own-write.js";

/** BatchGetItem's limit of keys per request. */
export const BATCH_GET_LIMIT = 100;
/** Rounds for keys DynamoDB left unprocessed (throttling, 16 MB limit) before giving up. */
export const UNPROCESSED_RETRIES = 4;
/** First pause before re-asking for unprocessed keys; doubles each round (AWS's advice: back off). */
const UNPROCESSED_BACKOFF_MS = 50;

type Key = Record<string, AttributeValue>;

/** Records outlive their instance long enough for a post-mortem, then DynamoDB's TTL removes them. */
export const RECORD_RETENTION_DAYS = 14;

/**
 * The gate store on DynamoDB: one item per instance (partition key `instanceId`), written whole with an
 * optimistic `version` condition. DynamoDB rather than Parameter Store because Parameter Store's default
 * 40 TPS is shared with the application's own parameter reads (the bootstrap reads its secrets there),
 * and a launch burst must not throttle them; DynamoDB also gives conditional writes and TTL.
 */
export class DynamoGateStore implements GateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    /** Injected so tests need not wait out the backoff. */
    private readonly pause: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async load(instanceId: string): Promise<GateRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { instanceId: { S: instanceId } },
        ConsistentRead: true,
      }),
    );
    return Item ? toRecord(Item) : undefined;
  }

  async loadMany(instanceIds: readonly string[]): Promise<Map<string, GateRecord>> {
    const found = new Map<string, GateRecord>();
    const ids = [...new Set(instanceIds)]; // BatchGetItem refuses duplicate keys
    for (let start = 0; start < ids.length; start += BATCH_GET_LIMIT) {
      const keys = ids.slice(start, start + BATCH_GET_LIMIT).map((id) => ({ instanceId: { S: id } }));
      for (const item of await this.batchGet(keys)) {
        const record = toRecord(item);
        found.set(record.instanceId, record);
      }
    }
    return found;
  }

  /** One BatchGetItem of at most 100 keys, re-asking for unprocessed keys with a doubling pause. */
  private async batchGet(keys: Key[]): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let pending = keys;
    for (let round = 0; pending.length > 0; round += 1) {
      if (round > UNPROCESSED_RETRIES) {
        throw new Error(`DynamoDB left ${pending.length} gate record reads unprocessed after ${round} tries`);
      }
      if (round > 0) await this.pause(UNPROCESSED_BACKOFF_MS * 2 ** (round - 1));
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetItemCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      items.push(...(Responses?.[this.tableName] ?? []));
      pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return items;
  }

  async save(record: GateRecord, options: SaveOptions = {}): Promise<void> {
    const written = await putConditionally(this.client, {
      TableName: this.tableName,
      Item: marshall(
        { ...savedAs(record, options), expiresAt: expiresAt(record) },
        { removeUndefinedValues: true },
      ),
      ...saveCondition(record, options),
    });
    if (!written)
      throw new StaleRecordError(record.instanceId, options.replacing?.version ?? record.version - 1);
  }
  /**
   * One attribute updated in place: the rest of the item — its version, and the write id a step's save
   * retried after a lost answer recognises itself by (own-write.ts) — stays as that step wrote it. An
   * update retried after a lost answer meets its own condition unchanged, and is simply done again.
   */
  async noteHeartbeat(wait: WaitVersion, lastHeartbeatAt: number): Promise<boolean> {
    const condition = conditionOn(wait);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { instanceId: { S: wait.instanceId } },
          UpdateExpression: "SET #lastHeartbeatAt = :at",
          ConditionExpression: condition.ConditionExpression,
          ExpressionAttributeNames: {
            ...condition.ExpressionAttributeNames,
            "#lastHeartbeatAt": "lastHeartbeatAt",
          },
          ExpressionAttributeValues: {
            ...condition.ExpressionAttributeValues,
            ":at": { N: String(lastHeartbeatAt) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

type PutCondition = Pick<
  PutItemCommandInput,
  "ConditionExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues"
>;

/**
 * The write's condition (see GateStore.save): a replacement names the exact item it replaces; a new
 * record wants no item at all — never "any item of another token", which would let a stale read or a
 * late event overwrite a wait that began or moved on since; an update wants the previous version of
 * the same wait.
 */
export function saveCondition(record: GateRecord, options: SaveOptions = {}): PutCondition {
  const base =
    options.replacing ??
    (record.version === 1 ? undefined : { token: record.token, version: record.version - 1 });
  if (!base) return { ConditionExpression: "attribute_not_exists(instanceId)" };
  return conditionOn(base);
}

/** The condition that the stored item is exactly `base`: that wait (token), at that version. */
function conditionOn(base: RecordVersion): Required<PutCondition> {
  return {
    ConditionExpression: "#version = :expected AND #token = :token",
    ExpressionAttributeNames: { "#version": "version", "#token": "token" },
    ExpressionAttributeValues: { ":expected": { N: String(base.version) }, ":token": { S: base.token } },
  };
}

/** The record as this save writes it: who saved it is the save's, not carried over from a read. */
export function savedAs(record: GateRecord, options: SaveOptions): GateRecord {
  const { savedBy: _read, ...rest } = record;
  return options.by ? { ...rest, savedBy: options.by } : rest;
}

/** When DynamoDB's TTL may remove a record: RECORD_RETENTION_DAYS after its wait began. */
function expiresAt(record: GateRecord): number {
  return Math.floor(record.startedAt / 1000) + RECORD_RETENTION_DAYS * 86400;
}

/** A stored item as a record: the TTL attribute is storage detail, not part of the record. */
function toRecord(item: Record<string, AttributeValue>): GateRecord {
  const { expiresAt: _ttl, [WRITE_ID_ATTRIBUTE]: _write, ...record } = unmarshall(item);
  return record as GateRecord;
}
