import { beforeEach, describe, expect, it } from "vitest";
import type { GateDeps } from "../../../../shared/gate/deps.js";
import type { RegisteredTarget } from "../../../../shared/gate/record.js";
import {
  joinAgentWatch,
  joinHealthWatch,
  MEMBER_LEASE_SECONDS,
  WATCH_START_GRACE_SECONDS,
} from "../../../../shared/gate/watch/join-watch.js";
import { CNT_TARGET_GROUP } from "../../../support/aws-stubs.js";
import {
  ADMIN_TG_ARN,
  type GateHarness,
  GROUP,
  gateHarness,
  INSTANCE_ID,
  T0,
  TG_ARN,
  TOKEN,
} from "../../../support/gate-harness.js";
import { InMemoryWatchStore, RecordingWatchMessages } from "../../../support/in-memory-watch-store.js";

let h: GateHarness;
let store: InMemoryWatchStore;
let messages: RecordingWatchMessages;
let deps: GateDeps;

beforeEach(() => {
  h = gateHarness();
  store = new InMemoryWatchStore();
  messages = new RecordingWatchMessages();
  deps = { ...h.deps, watch: { store, messages } };
});

function agentWait(bootstrapPhase: "all" | "start" | "prepare" = "all", startedAt = T0) {
  return {
    instanceId: INSTANCE_ID,
    token: TOKEN,
    groupName: GROUP,
    startedAt,
    dueBy: startedAt + 600_000,
    version: 1,
    mode: { bootstrapPhase },
  };
}

function registered(targetGroupArn: string, name: string, port = 8000): RegisteredTarget {
  return {
    targetGroupArn,
    name,
    port,
    intervalSeconds: 30,
    healthyThreshold: 5,
    healthCheck: "HTTP GET traffic-port/health expecting 200",
    loadBalancerArns: [CNT_TARGET_GROUP.LoadBalancerArns?.[0] ?? "lb"],
  };
}

describe("joinAgentWatch", () => {
  it("starts an absent watch: joins, claims hop 0 and sends one watch message due when the agent can be found", async () => {
    const joined = await joinAgentWatch(deps, agentWait("all"));

    expect(joined).toBe(true);
    expect(store.calls.map((call) => call.op)).toEqual(["join", "claim"]);
    const [claim] = store.callsOf("claim");
    // A new instance: its agent is looked for from 10 s after the wait began.
    expect(claim).toMatchObject({
      kind: "agent",
      groupName: GROUP,
      lease: { hop: 0 },
      now: T0,
      leaseUntil: T0 + (10 + WATCH_START_GRACE_SECONDS) * 1000,
    });
    expect(messages.sent).toEqual([
      {
        message: { watch: "agent", groupName: GROUP, chain: claim?.lease.chain, hop: 0 },
        delaySeconds: 10,
      },
    ]);
    expect(store.state("agent", GROUP)).toEqual({
      members: [
        { instanceId: INSTANCE_ID, token: TOKEN, from: T0 + 10_000, until: T0 + MEMBER_LEASE_SECONDS * 1000 },
      ],
      leaseUntil: T0 + 70_000,
      lease: { chain: claim?.lease.chain, hop: 0 },
    });
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: "info", message: "started the group's watch" }),
    );
  });

  it("a warm-pool start can be found at once: the watch message has no delay", async () => {
    await joinAgentWatch(deps, agentWait("start"));

    expect(store.state("agent", GROUP).members[0]?.from).toBe(T0);
    expect(messages.sent).toHaveLength(1);
    expect(messages.sent[0]?.delaySeconds).toBe(0);
    expect(store.callsOf("claim")[0]?.leaseUntil).toBe(T0 + WATCH_START_GRACE_SECONDS * 1000);
  });

  it("rounds the delay up to whole seconds and caps it at 15 s", async () => {
    h.advanceSeconds(0.5);
    await joinAgentWatch(deps, agentWait("all"));
    // from is T0 + 10 s, 9.5 s away: 10.
    expect(messages.sent[0]?.delaySeconds).toBe(10);

    const later = new InMemoryWatchStore();
    const laterMessages = new RecordingWatchMessages();
    // A wait that began 20 s from now: from is 30 s away, put off no more than 15 s.
    await joinAgentWatch(
      { ...deps, watch: { store: later, messages: laterMessages } },
      agentWait("all", h.now() + 20_000),
    );
    expect(laterMessages.sent[0]?.delaySeconds).toBe(15);
  });

  it("a past `from` is due now: delay 0, never negative", async () => {
    h.advanceSeconds(300);
    await joinAgentWatch(deps, agentWait("all"));
    expect(messages.sent[0]?.delaySeconds).toBe(0);
  });

  it("joins a watch whose lease is live (up to leaseUntil == now): no claim, no message", async () => {
    store.setLease("agent", GROUP, { chain: "running", hop: 3 }, T0);

    expect(await joinAgentWatch(deps, agentWait())).toBe(true);

    expect(store.callsOf("claim")).toEqual([]);
    expect(messages.sent).toEqual([]);
    expect(store.state("agent", GROUP)).toMatchObject({
      lease: { chain: "running", hop: 3 },
      members: [{ instanceId: INSTANCE_ID, token: TOKEN }],
    });
  });

  it("a lease just past (leaseUntil < now) is nobody's: the joiner starts a new chain", async () => {
    store.setLease("agent", GROUP, { chain: "dead", hop: 7 }, T0 - 1);

    expect(await joinAgentWatch(deps, agentWait())).toBe(true);

    const chain = store.callsOf("claim")[0]?.lease.chain;
    expect(chain).toBeDefined();
    expect(chain).not.toBe("dead");
    expect(store.state("agent", GROUP).lease).toEqual({ chain, hop: 0 });
    expect(messages.sent).toHaveLength(1);
  });

  it("a claim lost to another joiner: watched by its watch, no message of its own", async () => {
    store.beforeOp = (call) => {
      if (call.op === "claim") store.setLease("agent", GROUP, { chain: "other", hop: 0 }, T0 + 60_000);
    };

    expect(await joinAgentWatch(deps, agentWait())).toBe(true);

    expect(store.callsOf("claim")).toHaveLength(1);
    expect(messages.sent).toEqual([]);
    expect(store.state("agent", GROUP).lease).toEqual({ chain: "other", hop: 0 });
  });

  it("a watch message that cannot be sent: the lease is let go and the wait polls for itself; a later join starts the watch", async () => {
    messages.failNext(new Error("SQS down"));

    expect(await joinAgentWatch(deps, agentWait())).toBe(false);

    const chain = store.callsOf("claim")[0]?.lease.chain;
    expect(store.callsOf("release")).toEqual([
      { op: "release", kind: "agent", groupName: GROUP, held: { chain, hop: 0 }, leaving: [] },
    ]);
    expect(store.state("agent", GROUP).leaseUntil).toBe(0);
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: "could not join the group's watch; the wait polls for itself",
        extra: expect.objectContaining({ watch: "agent", groupName: GROUP, error: "SQS down" }),
      }),
    );

    h.advanceSeconds(1);
    expect(await joinAgentWatch(deps, agentWait())).toBe(true);
    expect(store.callsOf("claim")).toHaveLength(2);
    expect(messages.sent).toHaveLength(1);
    expect(messages.sent[0]?.message.chain).not.toBe(chain);
  });

  it("a store that fails the join: false, with a warning", async () => {
    store.failNext("join", new Error("ProvisionedThroughputExceededException"));

    expect(await joinAgentWatch(deps, agentWait())).toBe(false);

    expect(store.callsOf("claim")).toEqual([]);
    expect(messages.sent).toEqual([]);
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: "warn",
        extra: expect.objectContaining({ error: "ProvisionedThroughputExceededException" }),
      }),
    );
  });

  it("a store that fails the claim: false, no message", async () => {
    store.failNext("claim");
    expect(await joinAgentWatch(deps, agentWait())).toBe(false);
    expect(messages.sent).toEqual([]);
  });

  it("without watch wiring: false, nothing written", async () => {
    expect(await joinAgentWatch(h.deps, agentWait())).toBe(false);
    expect(store.calls).toEqual([]);
  });
});

describe("joinHealthWatch", () => {
  const targets = [registered(TG_ARN, "cnt-backend-tg"), registered(ADMIN_TG_ARN, "cnt-admin-tg", 9000)];

  it("joins with the wait's token, from the registration, until a member lease from now, in its target groups (arn, port, name)", async () => {
    h.advanceSeconds(40);
    const wait = {
      instanceId: INSTANCE_ID,
      token: TOKEN,
      groupName: GROUP,
      startedAt: T0,
      dueBy: T0 + 900_000,
      version: 1,
    };

    expect(await joinHealthWatch(deps, { ...wait, registeredAt: T0 + 30_000 }, targets)).toBe(true);

    const [join] = store.callsOf("join");
    expect(join).toEqual({
      op: "join",
      kind: "health",
      groupName: GROUP,
      member: {
        instanceId: INSTANCE_ID,
        token: TOKEN,
        from: T0 + 30_000,
        until: T0 + 40_000 + MEMBER_LEASE_SECONDS * 1000,
        targets: [
          { targetGroupArn: TG_ARN, port: 8000, name: "cnt-backend-tg" },
          { targetGroupArn: ADMIN_TG_ARN, port: 9000, name: "cnt-admin-tg" },
        ],
      },
    });
    // Registered 10 s ago: its watch can look at once.
    expect(messages.sent).toEqual([
      {
        message: { watch: "health", groupName: GROUP, chain: store.callsOf("claim")[0]?.lease.chain, hop: 0 },
        delaySeconds: 0,
      },
    ]);
  });

  it("a wait without a registration time is looked at from its start", async () => {
    const wait = {
      instanceId: INSTANCE_ID,
      token: TOKEN,
      groupName: GROUP,
      startedAt: T0 + 5_000,
      dueBy: T0 + 900_000,
      version: 1,
    };
    await joinHealthWatch(deps, wait, targets);
    expect(store.state("health", GROUP).members[0]?.from).toBe(T0 + 5_000);
    expect(messages.sent[0]?.delaySeconds).toBe(5);
  });

  it("the health watch is its own: a live agent watch of the group does not count", async () => {
    store.setLease("agent", GROUP, { chain: "agent-chain", hop: 1 }, T0 + 60_000);
    const wait = {
      instanceId: INSTANCE_ID,
      token: TOKEN,
      groupName: GROUP,
      startedAt: T0,
      dueBy: T0 + 900_000,
      version: 1,
    };
    await joinHealthWatch(deps, wait, targets);
    expect(messages.sent.map((sent) => sent.message.watch)).toEqual(["health"]);
  });
});
