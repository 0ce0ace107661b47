import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { StaleRecordError } from "../errors.js";
import type { GateStore } from "../gate/ports.js";
import type { GateRecord } from "../gate/record.js";

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
  ) {}

  async load(instanceId: string): Promise<GateRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { instanceId: { S: instanceId } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const { expiresAt: _ttl, ...record } = unmarshall(Item);
    return record as GateRecord;
  }

  async save(record: GateRecord): Promise<void> {
    const expiresAt = Math.floor(record.startedAt / 1000) + RECORD_RETENTION_DAYS * 86400;
    const isNew = record.version === 1;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...record, expiresAt }, { removeUndefinedValues: true }),
          // A new wait (version 1) may replace the record of an earlier wait of the same instance,
          // never the record of this very wait.
          ConditionExpression: isNew
            ? "attribute_not_exists(instanceId) OR #token <> :token"
            : "#version = :expected AND #token = :token",
          ExpressionAttributeNames: isNew
            ? { "#token": "token" }
            : { "#version": "version", "#token": "token" },
          ExpressionAttributeValues: isNew
            ? { ":token": { S: record.token } }
            : { ":expected": { N: String(record.version - 1) }, ":token": { S: record.token } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StaleRecordError(record.instanceId, record.version - 1);
      }
      throw error;
    }
  }
}
