import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { StaleRecordError } from "../errors.js";
import { putConditionally, WRITE_ID_ATTRIBUTE } from "../store/own-write.js";
import type { DrainRecord } from "./record.js";

export interface DrainStore {
  load(instanceId: string): Promise<DrainRecord | undefined>;
  /**
   * Saves `record` only if the stored one is at `record.version - 1` (version 1: none stored), or, given
   * `replacing`, exactly at that version (a new drain of the same instance replacing an older one).
   * Throws StaleRecordError when another writer got there first.
   */
  save(record: DrainRecord, replacing?: number): Promise<void>;
}

/** Drain records live in the state table under `drain#<instance id>`: never a launch gate record's key. */
export const DRAIN_KEY_PREFIX = "drain#";
/** Kept for a post-mortem, then removed by the table's TTL (as the gate records). */
const RETENTION_DAYS = 14;

export class DynamoDrainStore implements DrainStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async load(instanceId: string): Promise<DrainRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { instanceId: { S: `${DRAIN_KEY_PREFIX}${instanceId}` } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const {
      instanceId: _key,
      expiresAt: _ttl,
      [WRITE_ID_ATTRIBUTE]: _write,
      drainedInstanceId,
      ...rest
    } = unmarshall(Item);
    return { ...rest, instanceId: drainedInstanceId } as DrainRecord;
  }

  async save(record: DrainRecord, replacing?: number): Promise<void> {
    const expected = replacing ?? record.version - 1;
    const { instanceId, ...rest } = record;
    const written = await putConditionally(this.client, {
      TableName: this.tableName,
      Item: marshall(
        {
          ...rest,
          instanceId: `${DRAIN_KEY_PREFIX}${instanceId}`,
          drainedInstanceId: instanceId,
          expiresAt: Math.floor(record.startedAt / 1000) + RETENTION_DAYS * 86400,
        },
        { removeUndefinedValues: true },
      ),
      ...(expected < 1
        ? { ConditionExpression: "attribute_not_exists(instanceId)" }
        : {
            ConditionExpression: "#version = :expected",
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":expected": { N: String(expected) } },
          }),
    });
    if (!written) throw new StaleRecordError(instanceId, expected);
  }
}
