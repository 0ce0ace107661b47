import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
} from "@aws-sdk/client-dynamodb";

/** Where a conditional write keeps its own id: storage detail, never part of what a store returns. */
export const WRITE_ID_ATTRIBUTE = "writeId";

/**
 * A conditional PutItem that knows its own write when it meets it. DynamoDB can apply a write whose
 * answer is lost (a timeout, a 5xx after the commit); the SDK then sends it again, and the retry fails
 * its condition against the very item the first attempt put — which, taken as "another writer got
 * there first", would end a wait's chain with nobody carrying it on. Each write carries an id of its
 * own and asks for the item that failed the condition (ReturnValuesOnConditionCheckFailure): when that
 * item is the one this write put, the write is done (docs/aws-facts.md, DynamoDB). True: written;
 * false: the condition failed against another writer's item.
 */
export async function putConditionally(
  client: DynamoDBClient,
  input: PutItemCommandInput & { readonly Item: Record<string, AttributeValue> },
): Promise<boolean> {
  const writeId = randomUUID();
  try {
    await client.send(
      new PutItemCommand({
        ...input,
        Item: { ...input.Item, [WRITE_ID_ATTRIBUTE]: { S: writeId } },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return true;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return error.Item?.[WRITE_ID_ATTRIBUTE]?.S === writeId;
  }
}
