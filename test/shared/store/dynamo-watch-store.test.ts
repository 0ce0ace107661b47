import {
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { WatchMember } from "../../../shared/gate/watch/watch.js";
import { DynamoWatchStore } from "../../../shared/store/dynamo-watch-store.js";
import { DynamoDbModel } from "../../../sim/models/dynamodb.js";
import { GROUP, T0, TG_ARN } from "../../support/gate-harness.js";

const TABLE = "state";
const KEY = `watch#agent#${GROUP}`;

/** A DynamoDBClient answering from the simulated DynamoDB: its conditions, its errors, its expression subset. */
function modelClient(model: DynamoDbModel): { client: DynamoDBClient; calls: UpdateItemCommandInput[] } {
  const calls: UpdateItemCommandInput[] = [];
  const send = async (command: unknown) => {
    if (command instanceof UpdateItemCommand) {
      calls.push(command.input);
      return model.updateItem(command.input);
    }
    if (command instanceof GetItemCommand) return model.getItem(command.input as GetItemCommandInput);
    throw new Error(`unexpected command ${String((command as object).constructor.name)}`);
  };
  return { client: { send } as unknown as DynamoDBClient, calls };
}

function member(instanceId: string, extra: Partial<WatchMember> = {}): WatchMember {
  return { instanceId, token: `tok-${instanceId}`, from: T0, until: T0 + 150_000, ...extra };
}

let model: DynamoDbModel;
let store: DynamoWatchStore;
let calls: UpdateItemCommandInput[];

/** The stored item, unmarshalled (undefined when absent). */
function item(key = KEY): Record<string, unknown> | undefined {
  const stored = model.getItem({ TableName: TABLE, Key: { instanceId: { S: key } } }).Item;
  return stored === undefined ? undefined : unmarshall(stored);
}

beforeEach(() => {
  model = new DynamoDbModel();
  model.addTable(TABLE, "instanceId");
  const wired = modelClient(model);
  store = new DynamoWatchStore(wired.client, TABLE);
  calls = wired.calls;
});

const lease = { chain: "chain-a", hop: 0 };

describe("DynamoWatchStore on simulated DynamoDB", () => {
  it("join on an absent item creates it; the member is there, with no lease and leaseUntil 0", async () => {
    const state = await store.join("agent", GROUP, member("i-0aaa"));
    expect(state).toEqual({ members: [member("i-0aaa")], leaseUntil: 0 });
    expect(state.lease).toBeUndefined();
    expect(item()).toEqual({ instanceId: KEY, "m:i-0aaa": member("i-0aaa") });
  });

  it("two joins of different members never conflict: both are members", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    const state = await store.join("agent", GROUP, member("i-0bbb"));
    expect(state.members).toHaveLength(2);
    expect(state.members).toEqual(expect.arrayContaining([member("i-0aaa"), member("i-0bbb")]));
  });

  it("a re-join replaces the member's fields (one member, the new token and times)", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    const again = member("i-0aaa", { token: "tok-new", from: T0 + 5_000, until: T0 + 300_000 });
    const state = await store.join("agent", GROUP, again);
    expect(state.members).toEqual([again]);
  });

  it("a re-join without targets drops the old targets (the member is replaced whole)", async () => {
    const targets = [{ targetGroupArn: TG_ARN, port: 8080, name: "cnt-backend-tg" }];
    await store.join("health", GROUP, member("i-0aaa", { targets }));
    const state = await store.join("health", GROUP, member("i-0aaa"));
    expect(state.members).toEqual([member("i-0aaa")]);
  });

  it("kinds and groups are separate items", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    const health = await store.join("health", GROUP, member("i-0bbb"));
    const other = await store.join("agent", "other-asg", member("i-0ccc"));
    expect(health.members.map((m) => m.instanceId)).toEqual(["i-0bbb"]);
    expect(other.members.map((m) => m.instanceId)).toEqual(["i-0ccc"]);
    expect(item(`watch#health#${GROUP}`)).toBeDefined();
    expect(item("watch#agent#other-asg")).toBeDefined();
  });

  it("claim succeeds on an absent item, and the lease is then seen by a join", async () => {
    expect(await store.claim("agent", GROUP, lease, T0, T0 + 60_000)).toBe(true);
    const state = await store.join("agent", GROUP, member("i-0aaa"));
    expect(state).toEqual({ members: [member("i-0aaa")], leaseUntil: T0 + 60_000, lease });
  });

  it("claim succeeds on a joined item with no lease", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    expect(await store.claim("agent", GROUP, lease, T0, T0 + 60_000)).toBe(true);
    expect(item()).toMatchObject({ chain: "chain-a", hop: 0, leaseUntil: T0 + 60_000 });
  });

  it("claim fails while the lease runs (leaseUntil >= now, boundary included), succeeds once it is past", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    expect(await store.claim("agent", GROUP, lease, T0, T0 + 60_000)).toBe(true);
    const other = { chain: "chain-b", hop: 0 };
    expect(await store.claim("agent", GROUP, other, T0 + 1_000, T0 + 120_000)).toBe(false);
    // leaseUntil < :now is strict: at exactly leaseUntil the lease still holds.
    expect(await store.claim("agent", GROUP, other, T0 + 60_000, T0 + 120_000)).toBe(false);
    expect(item()).toMatchObject({ chain: "chain-a", hop: 0, leaseUntil: T0 + 60_000 });
    expect(await store.claim("agent", GROUP, other, T0 + 60_001, T0 + 120_000)).toBe(true);
    expect(item()).toMatchObject({ chain: "chain-b", hop: 0, leaseUntil: T0 + 120_000 });
    // The member survives every lease write.
    expect(item()?.["m:i-0aaa"]).toEqual(member("i-0aaa"));
  });

  it("renew by the holder moves to nextHop, sets leaseUntil, drops the leaving members, returns the watch", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    await store.join("agent", GROUP, member("i-0bbb"));
    await store.join("agent", GROUP, member("i-0ccc"));
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    const state = await store.renew("agent", GROUP, lease, 1, T0 + 75_000, ["i-0aaa", "i-0ccc"]);
    expect(state).toEqual({
      members: [member("i-0bbb")],
      leaseUntil: T0 + 75_000,
      lease: { chain: "chain-a", hop: 1 },
    });
    expect(item()).toEqual({
      instanceId: KEY,
      chain: "chain-a",
      hop: 1,
      leaseUntil: T0 + 75_000,
      "m:i-0bbb": member("i-0bbb"),
    });
  });

  it("renew to the same hop (a refresh within one invocation) keeps the hop", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    await store.claim("agent", GROUP, { chain: "chain-a", hop: 1 }, T0, T0 + 60_000);
    const state = await store.renew("agent", GROUP, { chain: "chain-a", hop: 1 }, 1, T0 + 90_000, []);
    expect(state?.lease).toEqual({ chain: "chain-a", hop: 1 });
    expect(state?.leaseUntil).toBe(T0 + 90_000);
    // And again: the holder is still the holder.
    expect(await store.renew("agent", GROUP, { chain: "chain-a", hop: 1 }, 2, T0 + 95_000, [])).toBeDefined();
  });

  it("renew dropping a member that is not there is harmless", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    const state = await store.renew("agent", GROUP, lease, 1, T0 + 60_000, ["i-0zzz"]);
    expect(state?.members).toEqual([member("i-0aaa")]);
  });

  it("renew with a wrong chain or a stale hop returns undefined and changes nothing", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    await store.renew("agent", GROUP, lease, 1, T0 + 60_000, []);
    const before = item();
    expect(await store.renew("agent", GROUP, { chain: "chain-b", hop: 1 }, 2, T0 + 99_000, ["i-0aaa"])).toBe(
      undefined,
    );
    // A redelivered message: its hop was already taken.
    expect(await store.renew("agent", GROUP, { chain: "chain-a", hop: 0 }, 1, T0 + 99_000, ["i-0aaa"])).toBe(
      undefined,
    );
    expect(item()).toEqual(before);
  });

  it("renew or release on an absent item returns undefined and creates nothing", async () => {
    expect(await store.renew("agent", GROUP, lease, 1, T0 + 60_000, [])).toBeUndefined();
    expect(await store.release("agent", GROUP, lease, ["i-0aaa"])).toBeUndefined();
    expect(item()).toBeUndefined();
  });

  it("release returns the watch after (a member that joined meanwhile is there) and frees it for a claim", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    await store.join("agent", GROUP, member("i-0bbb"));
    const after = await store.release("agent", GROUP, lease, ["i-0aaa"]);
    expect(after).toEqual({ members: [member("i-0bbb")], leaseUntil: 0, lease });
    expect(item()?.leaseUntil).toBe(0);
    // Well before the old lease's end, a new chain can take it.
    expect(await store.claim("agent", GROUP, { chain: "chain-b", hop: 1 }, T0 + 1_000, T0 + 61_000)).toBe(
      true,
    );
    expect(item()).toMatchObject({ chain: "chain-b", hop: 1, leaseUntil: T0 + 61_000 });
  });

  it("release by a non-holder returns undefined and changes nothing", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    const before = item();
    expect(await store.release("agent", GROUP, { chain: "chain-b", hop: 0 }, ["i-0aaa"])).toBeUndefined();
    expect(await store.release("agent", GROUP, { chain: "chain-a", hop: 3 }, ["i-0aaa"])).toBeUndefined();
    expect(item()).toEqual(before);
    expect(await store.claim("agent", GROUP, { chain: "chain-b", hop: 0 }, T0 + 1_000, T0 + 2_000)).toBe(
      false,
    );
  });

  it("members with targets round-trip intact (targetGroupArn, port, name)", async () => {
    const targets = [
      { targetGroupArn: TG_ARN, port: 8080, name: "cnt-backend-tg" },
      { targetGroupArn: `${TG_ARN}-admin`, port: 9090, name: "cnt-admin-tg" },
    ];
    const joined = member("i-0aaa", { targets });
    const state = await store.join("health", GROUP, joined);
    expect(state.members).toEqual([joined]);
    await store.claim("health", GROUP, lease, T0, T0 + 60_000);
    const renewed = await store.renew("health", GROUP, lease, 1, T0 + 60_000, []);
    expect(renewed?.members).toEqual([joined]);
    expect(renewed?.members[0]?.targets).toEqual(targets);
  });

  it("the item's key and lease attributes never show up as members", async () => {
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    const state = await store.join("agent", GROUP, member("i-0aaa"));
    expect(state.members).toEqual([member("i-0aaa")]);
    expect(JSON.stringify(state.members)).not.toContain("watch#");
  });

  it("instance ids with '-', '.', ':' and '#' make valid member attributes, joined and dropped", async () => {
    const ids = ["i-0123456789abcdef0", "mi-0abc.def", "i:odd#id"];
    for (const id of ids) await store.join("agent", GROUP, member(id));
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    const state = await store.renew("agent", GROUP, lease, 1, T0 + 60_000, ids.slice(0, 2));
    expect(state?.members).toEqual([member("i:odd#id")]);
    expect(Object.keys(item() ?? {})).toContain("m:i:odd#id");
  });

  it("every write is an UpdateItem the simulated DynamoDB accepts (the modelled expression subset)", async () => {
    await store.join("agent", GROUP, member("i-0aaa"));
    await store.claim("agent", GROUP, lease, T0, T0 + 60_000);
    await store.renew("agent", GROUP, lease, 1, T0 + 60_000, ["i-0aaa"]);
    await store.release("agent", GROUP, { chain: "chain-a", hop: 1 }, []);
    expect(calls.map((c) => c.ReturnValues)).toEqual(["ALL_NEW", "ALL_NEW", "ALL_NEW", "ALL_NEW"]);
    expect(calls.every((c) => c.TableName === TABLE && c.Key?.instanceId?.S === KEY)).toBe(true);
  });
});

describe("DynamoWatchStore requests", () => {
  const dynamo = mockClient(DynamoDBClient);
  beforeEach(() => dynamo.reset());

  it("join is one unconditional UpdateItem of the member's own attribute, under the watch's key", async () => {
    dynamo.on(UpdateItemCommand).resolves({
      Attributes: { instanceId: { S: KEY }, "m:i-0aaa": { M: marshall(member("i-0aaa")) } },
    });
    const mocked = new DynamoWatchStore(new DynamoDBClient({}), "state-table");
    const state = await mocked.join("agent", GROUP, member("i-0aaa"));
    expect(state).toEqual({ members: [member("i-0aaa")], leaseUntil: 0 });
    const input = dynamo.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(input).toEqual({
      TableName: "state-table",
      Key: { instanceId: { S: `watch#agent#${GROUP}` } },
      UpdateExpression: "SET #member = :member",
      ExpressionAttributeNames: { "#member": "m:i-0aaa" },
      ExpressionAttributeValues: { ":member": { M: marshall(member("i-0aaa")) } },
      ReturnValues: "ALL_NEW",
    });
  });

  it("a failure other than a failed condition is rethrown, not taken for 'not held'", async () => {
    dynamo.on(UpdateItemCommand).rejects(new Error("Rate exceeded"));
    const mocked = new DynamoWatchStore(new DynamoDBClient({}), "state-table");
    await expect(mocked.claim("agent", GROUP, lease, T0, T0 + 1)).rejects.toThrow("Rate exceeded");
    await expect(mocked.renew("agent", GROUP, lease, 1, T0 + 1, [])).rejects.toThrow("Rate exceeded");
  });
});
