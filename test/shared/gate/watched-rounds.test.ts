import { CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstanceInformationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { StaleRecordError } from "../../../shared/errors.js";
import type { RecheckEvent } from "../../../shared/events/gate-event.js";
import type { GateDeps } from "../../../shared/gate/deps.js";
import type { GateStore, SaveOptions } from "../../../shared/gate/ports.js";
import { advance, type GateRecord } from "../../../shared/gate/record.js";
import { onAgentRecheck, startGate } from "../../../shared/gate/start-gate.js";
import { WATCHED_PACE_SECONDS } from "../../../shared/gate/watch/join-watch.js";
import { nextRound, nextSeenRound } from "../../../shared/gate/watched-rounds.js";
import {
  agentPing,
  CNT_TARGET_GROUP,
  hookAcceptsCompletion,
  lifecycleState,
} from "../../support/aws-stubs.js";
import { launchEvent, recheck } from "../../support/events.js";
import {
  type GateHarness,
  GROUP,
  gateHarness,
  INSTANCE_ID,
  RUNTIME_CONFIG,
  recheckForStored,
  T0,
  TG_ARN,
  TOKEN,
} from "../../support/gate-harness.js";
import { InMemoryWatchStore, RecordingWatchMessages } from "../../support/in-memory-watch-store.js";

const group = RUNTIME_CONFIG.groups[0] as NonNullable<(typeof RUNTIME_CONFIG.groups)[0]>;

let h: GateHarness;
let store: InMemoryWatchStore;
let messages: RecordingWatchMessages;
let deps: GateDeps;

beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentPing(h, undefined);
  store = new InMemoryWatchStore();
  messages = new RecordingWatchMessages();
  deps = { ...h.deps, watch: { store, messages } };
});

/** The test wait's gate, opened without a watch (its record as saved, awaiting its agent). */
async function opened(): Promise<GateRecord> {
  await startGate(h.deps, launchEvent());
  h.rechecks.scheduled.length = 0;
  return h.store.get(INSTANCE_ID);
}

/** Someone else's watch is running: a join joins it. */
function liveWatch(kind: "agent" | "health" = "agent"): void {
  store.setLease(kind, GROUP, { chain: "running", hop: 2 }, h.now() + 60_000);
}

describe("nextRound", () => {
  it("opening a gate joins the group's watch and schedules a watched round at the safety net's pace", async () => {
    await startGate(deps, launchEvent());

    expect(store.state("agent", GROUP).members).toMatchObject([{ instanceId: INSTANCE_ID, token: TOKEN }]);
    expect(messages.sent).toHaveLength(1);
    // Its phase deadline (the agent timeout, 600 s) is far: the round comes at the safety net's pace.
    expect(h.rechecks.scheduled).toEqual([
      {
        message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN, forVersion: 1 },
        delaySeconds: WATCHED_PACE_SECONDS,
      },
    ]);
  });

  it("a watched round comes sooner when the wait is due sooner (its phase deadline)", async () => {
    const record = await opened();
    h.advanceSeconds(580);
    liveWatch();

    await nextRound(deps, "agent", record, group, 10);

    // 20 s to the phase deadline.
    expect(h.rechecks.scheduled).toEqual([
      {
        message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN, forVersion: record.version },
        delaySeconds: 20,
      },
    ]);
    expect(messages.sent).toEqual([]);
  });

  it("a watch that cannot be joined: the wait's own-paced re-check, not a watched one", async () => {
    const record = await opened();
    store.failNext("join");

    await nextRound(deps, "agent", record, group, 10);

    const [scheduled] = h.rechecks.scheduled;
    expect(h.rechecks.scheduled).toHaveLength(1);
    expect(scheduled?.message).toMatchObject({ step: "agent", instanceId: INSTANCE_ID, token: TOKEN });
    expect(scheduled?.message.seen).toBeDefined(); // own-paced: goes by what it carries
    expect(scheduled?.delaySeconds).toBeLessThanOrEqual(10);
  });

  it("a health wait joins the health watch in its registered target groups; its watched round carries no seen", async () => {
    const record = await opened();
    liveWatch("health");
    const registered = {
      targetGroupArn: TG_ARN,
      name: "cnt-backend-tg",
      port: 8000,
      intervalSeconds: 30,
      healthyThreshold: 5,
      healthCheck: "HTTP GET traffic-port/health expecting 200",
      loadBalancerArns: CNT_TARGET_GROUP.LoadBalancerArns ?? [],
    };
    const awaitingHealth = {
      ...record,
      phase: "awaiting-health",
      registered: [registered],
      registeredAt: T0 + 5_000,
    } as GateRecord;

    await nextRound(deps, "health", awaitingHealth, group, 10);

    expect(store.callsOf("join")).toMatchObject([
      {
        kind: "health",
        member: {
          from: T0 + 5_000,
          targets: [{ targetGroupArn: TG_ARN, port: 8000, name: "cnt-backend-tg" }],
        },
      },
    ]);
    expect(h.rechecks.last().message).toEqual({
      step: "health",
      instanceId: INSTANCE_ID,
      token: TOKEN,
      forVersion: awaitingHealth.version,
    });
  });

  it("without watch wiring: the own-paced re-check", async () => {
    const record = await opened();

    await nextRound(h.deps, "agent", record, group, 10);

    expect(h.rechecks.scheduled[0]?.message.seen).toBeDefined();
    expect(store.calls).toEqual([]);
  });
});

describe("a watched agent round, end to end", () => {
  const watchedRound = (): RecheckEvent => recheck("agent");

  it("with a live watch, it still looks for itself (a watch may be held and never run), renews its place and schedules the next watched round", async () => {
    await opened();
    h.advanceSeconds(60);
    liveWatch();

    await onAgentRecheck(deps, watchedRound());

    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(store.callsOf("join")).toHaveLength(1);
    expect(messages.sent).toEqual([]);
    expect(h.rechecks.scheduled).toEqual([
      {
        message: {
          step: "agent",
          instanceId: INSTANCE_ID,
          token: TOKEN,
          forVersion: h.store.get(INSTANCE_ID).version,
        },
        delaySeconds: 60,
      },
    ]);
  });

  it("its own look finding the agent Online sends the bootstrap, whatever the watch does", async () => {
    await opened();
    h.advanceSeconds(60);
    liveWatch();
    agentPing(h, "Online");

    await onAgentRecheck(deps, watchedRound());

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("with the watch store failing, the round goes on at its own pace", async () => {
    await opened();
    h.advanceSeconds(60);
    store.failNext("join");
    store.failNext("join");

    await onAgentRecheck(deps, watchedRound());

    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(h.rechecks.last().message.seen).toBeDefined();
    expect(h.rechecks.last().delaySeconds).toBeLessThan(WATCHED_PACE_SECONDS);
  });

  it("past its phase deadline, a round decides", async () => {
    const record = await opened();
    liveWatch();
    h.advanceSeconds(((record.phaseDeadline ?? record.deadline) - h.now()) / 1000);

    await onAgentRecheck(deps, watchedRound());

    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(store.callsOf("join")).toEqual([]);
    // The agent never came Online by its deadline: the wait is abandoned.
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
  });
});

describe("nextSeenRound", () => {
  it("joins the watch with what the re-check carries, and schedules a watched round due by its readBy", async () => {
    liveWatch();
    const seen = {
      version: 1,
      phase: "awaiting-agent" as const,
      groupName: GROUP,
      readBy: T0 + 45_000,
      startedAt: T0,
      bootstrapPhase: "start" as const,
    };

    await nextSeenRound(deps, { ...recheck("agent"), seen }, seen, group, 5);

    expect(store.callsOf("join")).toMatchObject([
      { kind: "agent", member: { instanceId: INSTANCE_ID, from: T0 } },
    ]);
    expect(h.rechecks.scheduled).toEqual([
      {
        message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN, forVersion: seen.version },
        delaySeconds: 45,
      },
    ]);
  });
});

describe("a round of the wait's own chain that loses a save", () => {
  /** The store, with `other`'s save landing just before the round's first save (a race lost). */
  function racedBy(other: (read: GateRecord) => Promise<void>, read: GateRecord): GateStore {
    let raced = false;
    return Object.create(h.store, {
      save: {
        value: async (record: GateRecord, options?: SaveOptions) => {
          if (!raced) {
            raced = true;
            await other(read);
          }
          return h.store.save(record, options);
        },
      },
    }) as GateStore;
  }
  const claimedBy = (options: SaveOptions) => async (read: GateRecord) =>
    h.store.save(
      advance(read, { phase: "sending-command", claimedAt: h.now() }, "claimed", h.now()),
      options,
    );

  it("to a step the watch ran carries on: its next round, from the record as stored, at the watched pace", async () => {
    const read = await opened();
    agentPing(h, "Online");
    const racing = { ...h.deps, store: racedBy(claimedBy({ by: "watch" }), read) };

    await expect(onAgentRecheck(racing, recheck("agent"))).rejects.toBeInstanceOf(StaleRecordError);

    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(h.rechecks.scheduled).toEqual([
      { message: recheckForStored(h, "agent"), delaySeconds: WATCHED_PACE_SECONDS },
    ]);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "sending-command", savedBy: "watch" });
  });

  it("carries on by the phase's deadline when that comes sooner than the watched pace", async () => {
    const read = await opened();
    agentPing(h, "Online");
    const near = { ...read, phaseDeadline: h.now() + 20_000 };
    h.store.records.set(INSTANCE_ID, near);
    const racing = { ...h.deps, store: racedBy(claimedBy({ by: "watch" }), near) };

    await expect(onAgentRecheck(racing, recheck("agent"))).rejects.toBeInstanceOf(StaleRecordError);

    expect(h.rechecks.scheduled).toEqual([{ message: recheckForStored(h, "agent"), delaySeconds: 20 }]);
  });

  it("to anyone else (a copy of its round) ends, as before: the newer writer carries the wait on", async () => {
    const read = await opened();
    agentPing(h, "Online");
    const racing = { ...h.deps, store: racedBy(claimedBy({}), read) };

    await expect(onAgentRecheck(racing, recheck("agent"))).rejects.toBeInstanceOf(StaleRecordError);

    expect(h.rechecks.scheduled).toEqual([]);
  });

  it("run by the watch itself, does not carry on: its round is the watch's to keep back", async () => {
    const read = await opened();
    agentPing(h, "Online");
    const racing = { ...h.deps, keeper: "watch" as const, store: racedBy(claimedBy({ by: "watch" }), read) };

    await expect(onAgentRecheck(racing, recheck("agent"))).rejects.toBeInstanceOf(StaleRecordError);

    expect(h.rechecks.scheduled).toEqual([]);
  });
});
