import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { NotYetError, StaleRecordError } from "../errors.js";
import { fromStored, type OperationRecord } from "../ops/operation.js";
import type { OperationStore } from "../ops/ports.js";
import type { RemediationHistory } from "../ops/remediation/policy.js";
import { putConditionally, WRITE_ID_ATTRIBUTE } from "./own-write.js";

const RETENTION_DAYS = 30;
const HOUR_MS = 3_600_000;

/**
 * Operations, per-instance maintenance locks and remediation history in one DynamoDB table, partition
 * key `id`: `operation#<id>` (optimistic `version` check), `lock#<instance-id>` (conditional on being
 * free, ours, or expired), `remediation#<instance-id>` (written under the instance's lock),
 * `replacements#<group>` (the hour's replacements, optimistic `version` check). TTL removes
 * them eventually.
 */
export class DynamoOperationStore implements OperationStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async load(operationId: string): Promise<OperationRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { id: { S: `operation#${operationId}` } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const { id: _id, expiresAt: _ttl, [WRITE_ID_ATTRIBUTE]: _write, ...op } = unmarshall(Item);
    return fromStored(op);
  }

  async save(op: OperationRecord): Promise<void> {
    const isNew = op.version === 1;
    const written = await putConditionally(this.client, {
      TableName: this.tableName,
      Item: marshall(
        {
          ...op,
          id: `operation#${op.operationId}`,
          expiresAt: Math.floor(op.requestedAt / 1000) + RETENTION_DAYS * 86400,
        },
        { removeUndefinedValues: true },
      ),
      ConditionExpression: isNew ? "attribute_not_exists(id)" : "#version = :expected",
      ExpressionAttributeNames: isNew ? undefined : { "#version": "version" },
      ExpressionAttributeValues: isNew ? undefined : { ":expected": { N: String(op.version - 1) } },
    });
    if (!written) throw new StaleRecordError(op.operationId, op.version - 1);
  }

  async lock(instanceId: string, operationId: string, now: number, until: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({
            id: `lock#${instanceId}`,
            operationId,
            until,
            expiresAt: Math.floor(until / 1000) + 86400,
          }),
          ConditionExpression: "attribute_not_exists(id) OR #op = :op OR #until < :now",
          ExpressionAttributeNames: { "#op": "operationId", "#until": "until" },
          ExpressionAttributeValues: { ":op": { S: operationId }, ":now": { N: String(now) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async unlock(instanceId: string, operationId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { id: { S: `lock#${instanceId}` } },
          ConditionExpression: "#op = :op",
          ExpressionAttributeNames: { "#op": "operationId" },
          ExpressionAttributeValues: { ":op": { S: operationId } },
        }),
      );
    } catch (error) {
      // Someone else's lock (ours expired and was taken over): not ours to remove.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async loadHistory(instanceId: string): Promise<RemediationHistory> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { id: { S: `remediation#${instanceId}` } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return { restarts: [] };
    const { restarts = [], lastActionAt, lastOperationId } = unmarshall(Item);
    return { restarts, lastActionAt, lastOperationId };
  }

  async takeReplacement(groupName: string, now: number, limit: number): Promise<boolean> {
    const id = `replacements#${groupName}`;
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { id: { S: id } }, ConsistentRead: true }),
    );
    const stored = Item ? unmarshall(Item) : undefined;
    const recent = ((stored?.at as number[] | undefined) ?? []).filter((at) => now - at < HOUR_MS);
    if (recent.length >= limit) return false;
    // Conditional on the version read: two operations taking the last one at once cannot both win.
    const taken = await putConditionally(this.client, {
      TableName: this.tableName,
      Item: marshall({
        id,
        at: [...recent, now],
        version: (stored?.version ?? 0) + 1,
        expiresAt: Math.floor(now / 1000) + RETENTION_DAYS * 86400,
      }),
      ConditionExpression: "attribute_not_exists(id) OR #v = :v",
      ExpressionAttributeNames: { "#v": "version" },
      ExpressionAttributeValues: { ":v": { N: String(stored?.version ?? 0) } },
    });
    // Another operation took one meanwhile: the step runs again and reads the budget afresh.
    if (!taken) throw new NotYetError("the group's replacement budget changed meanwhile", { groupName });
    return true;
  }

  async saveHistory(instanceId: string, history: RemediationHistory): Promise<void> {
    const expiresAt = Math.floor((history.lastActionAt ?? 0) / 1000) + RETENTION_DAYS * 86400;
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall(
          { id: `remediation#${instanceId}`, ...history, expiresAt },
          { removeUndefinedValues: true },
        ),
      }),
    );
  }
}
