import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import {
  WATCH_KEY_PREFIX,
  type WatchKind,
  type WatchLease,
  type WatchMember,
  type WatchState,
  type WatchStore,
} from "../gate/watch/watch.js";

/** Members are top-level attributes named by this prefix and the instance id: joins never collide. */
const MEMBER_PREFIX = "m:";

/**
 * The groups' watches on DynamoDB: one item per group and kind in the state table, holding the lease (`chain`, `hop`, `leaseUntil`) and one attribute per member. Every write is an
 * UpdateItem of exactly what it changes, so joins, which touch only their own member, never conflict
 * with each other or with the holder's renewals; the lease's writes are conditional on who holds it.
 */
export class DynamoWatchStore implements WatchStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async join(kind: WatchKind, groupName: string, member: WatchMember): Promise<WatchState> {
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        ...this.key(kind, groupName),
        UpdateExpression: "SET #member = :member",
        ExpressionAttributeNames: { "#member": MEMBER_PREFIX + member.instanceId },
        ExpressionAttributeValues: { ":member": { M: marshall(member, { removeUndefinedValues: true }) } },
        ReturnValues: "ALL_NEW",
      }),
    );
    return toState(Attributes);
  }

  async claim(
    kind: WatchKind,
    groupName: string,
    lease: WatchLease,
    now: number,
    leaseUntil: number,
  ): Promise<boolean> {
    return this.conditional({
      ...this.key(kind, groupName),
      UpdateExpression: "SET #chain = :chain, #hop = :hop, #leaseUntil = :until",
      ConditionExpression: "attribute_not_exists(#leaseUntil) OR #leaseUntil < :now",
      ExpressionAttributeNames: LEASE_NAMES,
      ExpressionAttributeValues: {
        ":chain": { S: lease.chain },
        ":hop": { N: String(lease.hop) },
        ":until": { N: String(leaseUntil) },
        ":now": { N: String(now) },
      },
    }).then((attributes) => attributes !== undefined);
  }

  async renew(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    nextHop: number,
    leaseUntil: number,
    leaving: readonly string[],
  ): Promise<WatchState | undefined> {
    return this.holderUpdate(kind, groupName, held, { ":next": nextHop, ":until": leaseUntil }, leaving);
  }

  async release(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    leaving: readonly string[],
  ): Promise<WatchState | undefined> {
    return this.holderUpdate(kind, groupName, held, { ":next": held.hop, ":until": 0 }, leaving);
  }

  /** Sets the hop and lease, drops `leaving`: only while `held` holds the watch. */
  private async holderUpdate(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    set: { readonly ":next": number; readonly ":until": number },
    leaving: readonly string[],
  ): Promise<WatchState | undefined> {
    const removals = Object.fromEntries(leaving.map((id, index) => [`#leaving${index}`, MEMBER_PREFIX + id]));
    const remove = leaving.length > 0 ? ` REMOVE ${Object.keys(removals).join(", ")}` : "";
    const attributes = await this.conditional({
      ...this.key(kind, groupName),
      UpdateExpression: `SET #hop = :next, #leaseUntil = :until${remove}`,
      ConditionExpression: "#chain = :chain AND #hop = :hop",
      ExpressionAttributeNames: { ...LEASE_NAMES, ...removals },
      ExpressionAttributeValues: {
        ":chain": { S: held.chain },
        ":hop": { N: String(held.hop) },
        ":next": { N: String(set[":next"]) },
        ":until": { N: String(set[":until"]) },
      },
    });
    return attributes === undefined ? undefined : toState(attributes);
  }

  private key(kind: WatchKind, groupName: string) {
    return {
      TableName: this.tableName,
      Key: { instanceId: { S: `${WATCH_KEY_PREFIX}${kind}#${groupName}` } },
    };
  }

  /** The update's new item, or undefined when its condition failed (it changed nothing). */
  private async conditional(
    input: UpdateItemCommandInput,
  ): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({ ReturnValues: "ALL_NEW", ...input }),
      );
      return Attributes ?? {};
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}

const LEASE_NAMES = { "#chain": "chain", "#hop": "hop", "#leaseUntil": "leaseUntil" };

/** An item (or its absence) as the watch it holds. */
function toState(item: Record<string, AttributeValue> | undefined): WatchState {
  if (!item) return { members: [], leaseUntil: 0 };
  const { instanceId: _key, chain, hop, leaseUntil, ...rest } = unmarshall(item) as Record<string, unknown>;
  const members = Object.entries(rest)
    .filter(([name]) => name.startsWith(MEMBER_PREFIX))
    .map(([, member]) => member as WatchMember);
  return {
    members,
    leaseUntil: typeof leaseUntil === "number" ? leaseUntil : 0,
    ...(typeof chain === "string" && typeof hop === "number" ? { lease: { chain, hop } } : {}),
  };
}
