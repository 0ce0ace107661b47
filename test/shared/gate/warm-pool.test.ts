import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { resumeCompletion } from "../../../shared/gate/finish.js";
import { sightedTransition, waitStateOf } from "../../../shared/gate/launch-mode.js";
import { outcomeApplied, TOKENLESS_HEARTBEAT_SLACK_SECONDS } from "../../../shared/gate/lifecycle-actions.js";
import { COMPLETION_LEASE_SECONDS, reconcile, WARM_POOL_PAGE_SIZE } from "../../../shared/gate/reconcile.js";
import { advance, type GateRecord, tokenlessToken } from "../../../shared/gate/record.js";
import { ADOPT_AFTER_SECONDS } from "../../../shared/gate/sighting.js";
import { onAgentRecheck, startGate } from "../../../shared/gate/start-gate.js";
import { METRIC } from "../../../shared/metrics/metric-names.js";
import {
  agentPing,
  groupDescription,
  hookAcceptsCompletion,
  lifecycleState,
} from "../../support/aws-stubs.js";
import { launchEvent, recheck } from "../../support/events.js";
import { type GateHarness, GROUP, gateHarness, INSTANCE_ID, TOKEN } from "../../support/gate-harness.js";

/**
 * Warm pools end to end, in the gate (issue 13): the reconciler sees and heartbeats waits into the
 * pool, which only DescribeWarmPool lists; and a tokenless record — a wait the reconciler adopted
 * without its event, completed by instance id — is only ever resumed onto the wait it was made for,
 * never onto the same instance's later wait out of the pool (which would skip `start` and the health
 * gate).
 */

let h: GateHarness;

const WARM_POOL = { WarmPoolConfiguration: { MinSize: 1, PoolState: "Stopped" as const } };

/** The group lists `inGroup`; its warm pool (when it has one) lists `inPool`, in pages of `pageSize`. */
function listing(
  inGroup: { id: string; state: string }[],
  inPool?: { id: string; state: string }[],
  pageSize = WARM_POOL_PAGE_SIZE,
): void {
  h.autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupDescription(inGroup, inPool ? WARM_POOL : {})] });
  const pool = (inPool ?? []).map((i) => ({
    InstanceId: i.id,
    LifecycleState: i.state as never,
    AvailabilityZone: "eu-west-2a",
    HealthStatus: "Healthy",
    ProtectedFromScaleIn: false,
  }));
  h.autoScalingMock.on(DescribeWarmPoolCommand).callsFake(async (input) => {
    const start = Number(input.NextToken ?? 0);
    const end = start + Math.min(input.MaxRecords ?? 50, pageSize);
    return {
      ...WARM_POOL,
      Instances: pool.slice(start, end),
      NextToken: end < pool.length ? String(end) : undefined,
    };
  });
}

const completions = () => h.autoScalingMock.commandCalls(CompleteLifecycleActionCommand);

beforeEach(() => {
  h = gateHarness();
  hookAcceptsCompletion(h);
  agentPing(h, undefined);
});

describe("the reconciler and the warm pool", () => {
  it("sights a wait into the pool that only DescribeWarmPool lists, as a prepare-only wait, heartbeated by instance id", async () => {
    lifecycleState(h, "Warmed:Pending:Wait");
    listing(
      [{ id: "i-0aaaaaaaaaaaaaaa1", state: "InService" }],
      [
        { id: INSTANCE_ID, state: "Warmed:Pending:Wait" },
        { id: "i-0aaaaaaaaaaaaaaa2", state: "Warmed:Stopped" },
      ],
    );

    expect(await reconcile(h.deps)).toEqual([{ group: GROUP, instanceId: INSTANCE_ID, action: "sighted" }]);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(DescribeWarmPoolCommand, {
      AutoScalingGroupName: GROUP,
      MaxRecords: 50,
    });
    expect(h.autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      InstanceId: INSTANCE_ID,
    });
    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      phase: "sighted",
      mode: { bootstrapPhase: "prepare", needsTraffic: false },
    });
    expect(h.store.get(INSTANCE_ID).history[0]?.note).toMatch(
      /^found in Warmed:Pending:Wait with no lifecycle event \(taken as EC2 → WarmPool: phase prepare\)/,
    );
  });

  it("reads every page of the pool, and counts an instance both lists name once", async () => {
    lifecycleState(h, "Warmed:Pending:Wait");
    const pool = Array.from({ length: 7 }, (_, n) => ({
      id: `i-0bbbbbbbbbbbbbb${n.toString(16).padStart(2, "0")}`,
      state: "Warmed:Stopped",
    }));
    pool.push({ id: INSTANCE_ID, state: "Warmed:Pending:Wait" });
    listing([{ id: INSTANCE_ID, state: "Warmed:Pending:Wait" }], pool, 3);

    const entries = await reconcile(h.deps);

    expect(entries.map((entry) => entry.instanceId)).toEqual([INSTANCE_ID]);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(DescribeWarmPoolCommand, 3);
    expect(
      h.autoScalingMock.commandCalls(DescribeWarmPoolCommand).map((c) => c.args[0].input.NextToken),
    ).toEqual([undefined, "3", "6"]);
  });

  it("costs no DescribeWarmPool for a group without a warm pool", async () => {
    lifecycleState(h, "Pending:Wait");
    listing([{ id: INSTANCE_ID, state: "Pending:Wait" }]);
    await reconcile(h.deps);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(DescribeWarmPoolCommand, 0);
  });

  it("keeps a sighted pool wait alive, adopts it, and drives it through prepare only", async () => {
    lifecycleState(h, "Warmed:Pending:Wait");
    listing([], [{ id: INSTANCE_ID, state: "Warmed:Pending:Wait" }]);
    await reconcile(h.deps);
    h.advanceSeconds(ADOPT_AFTER_SECONDS);
    expect((await reconcile(h.deps))[0]?.action).toBe("adopted");
    const adopted = h.store.get(INSTANCE_ID);
    expect(adopted).toMatchObject({ phase: "awaiting-agent", mode: { bootstrapPhase: "prepare" } });
    expect(h.rechecks.last().message).toMatchObject({ step: "agent", token: adopted.token });
  });
});

/** The record the reconciler left of a pool wait it adopted and completed by instance id, CONTINUE claimed. */
function completedPoolWait(): GateRecord {
  const sightedAt = h.now();
  const record: GateRecord = {
    instanceId: INSTANCE_ID,
    groupName: GROUP,
    hookName: "launchgate-launch",
    token: tokenlessToken(INSTANCE_ID, sightedAt),
    mode: { bootstrapPhase: "prepare", needsTraffic: false },
    phase: "bootstrapping",
    startedAt: sightedAt,
    phaseStartedAt: sightedAt,
    deadline: sightedAt + 2400_000,
    lastHeartbeatAt: sightedAt,
    commandId: "cmd-prepare",
    registered: [],
    history: [],
    version: 3,
  };
  const claimed = advance(
    record,
    { phase: "continued", outcome: "CONTINUE", reason: "prepared" },
    "prepared",
    h.now(),
  );
  h.store.records.set(INSTANCE_ID, claimed);
  return claimed;
}

describe("a tokenless completion is only ever resumed onto the wait it was recorded for", () => {
  it("the replay case: a pool wait's CONTINUE is never sent onto the instance's wait out of the pool", async () => {
    completedPoolWait();
    // The pool wait ended (its CONTINUE applied, or not: either way it is over); the instance was
    // stopped in the pool, then taken out on a scale-out whose lifecycle event was lost.
    h.advanceSeconds(COMPLETION_LEASE_SECONDS + 120);
    lifecycleState(h, "Pending:Wait");
    listing([{ id: INSTANCE_ID, state: "Pending:Wait" }], []);

    const entries = await reconcile(h.deps);

    // Not completed by instance id (that would put it InService with no start and no health gate):
    // refused, and the wait that holds the instance now sighted afresh, as the move out of the pool.
    expect(completions()).toHaveLength(0);
    expect(entries).toEqual([{ group: GROUP, instanceId: INSTANCE_ID, action: "sighted" }]);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      phase: "sighted",
      mode: { bootstrapPhase: "start", needsTraffic: true },
      token: tokenlessToken(INSTANCE_ID, h.now()),
    });
    expect(
      h.logs.find((line) => line.message.startsWith("not sending CompleteLifecycleAction"))?.extra,
    ).toMatchObject({
      waitState: "Warmed:Pending:Wait",
      why: "the instance is Pending:Wait, not Warmed:Pending:Wait",
    });
    // The pool wait's CONTINUE did apply (the instance got through the pool): not counted as lost.
    expect(h.metrics.filter((datum) => datum.name === METRIC.outcomesNotApplied)).toEqual([]);
    // The new wait is heartbeated by instance id: it is the one holding the instance now.
    expect(h.autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      InstanceId: INSTANCE_ID,
    });
  });

  it("the replay case, through a retried re-check of the finished record: nothing is completed", async () => {
    const claimed = completedPoolWait();
    h.advanceSeconds(COMPLETION_LEASE_SECONDS);
    lifecycleState(h, "Pending:Wait");

    await expect(onAgentRecheck(h.deps, { ...recheck("agent", claimed.token), attempt: 2 })).rejects.toThrow(
      /gate already finished/,
    );
    expect(completions()).toHaveLength(0);
  });

  it("resumes the claimed completion by instance id while the instance still waits in that wait", async () => {
    const claimed = completedPoolWait();
    h.advanceSeconds(COMPLETION_LEASE_SECONDS);
    lifecycleState(h, "Warmed:Pending:Wait");

    expect(await resumeCompletion(h.deps, claimed)).toBe("completed");
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      InstanceId: INSTANCE_ID,
      LifecycleActionResult: "CONTINUE",
    });
  });

  it("refuses a wait in the same state once the record's last heartbeat is past the hook's timeout (out of the pool and back again)", async () => {
    // A direct launch the reconciler adopted: CONTINUE claimed. An instance returned to the pool on
    // scale-in and taken out again waits in Pending:Wait once more: the state alone cannot tell.
    const claimed = advance(
      { ...completedPoolWait(), mode: { bootstrapPhase: "all", needsTraffic: true } },
      {},
      "",
      h.now(),
    );
    h.store.records.set(INSTANCE_ID, claimed);
    lifecycleState(h, "Pending:Wait");
    h.advanceSeconds(600 + TOKENLESS_HEARTBEAT_SLACK_SECONDS + 1);

    expect(await resumeCompletion(h.deps, claimed)).toBe("not-active");
    expect(completions()).toHaveLength(0);
    expect(
      h.logs.find((line) => line.message.startsWith("not sending CompleteLifecycleAction"))?.extra?.why,
    ).toBe("its last heartbeat was 661 s ago, past the hook's 600 s heartbeat timeout");
  });

  it("a token-based record is left to its token: no extra look at the instance", async () => {
    lifecycleState(h, "Pending:Wait");
    await startGate(h.deps, launchEvent());
    const record = advance(
      h.store.get(INSTANCE_ID),
      { phase: "continued", outcome: "CONTINUE" },
      "",
      h.now(),
    );
    h.autoScalingMock.resetHistory();

    expect(await resumeCompletion(h.deps, record)).toBe("completed");
    expect(h.autoScalingMock.calls().map((call) => call.args[0].constructor.name)).toEqual([
      "CompleteLifecycleActionCommand",
    ]);
    expect(completions()[0]?.args[0].input.LifecycleActionToken).toBe(TOKEN);
  });
});

describe("which wait is which", () => {
  it("each mode waits in its own lifecycle state", () => {
    expect(waitStateOf({ bootstrapPhase: "prepare", needsTraffic: false })).toBe("Warmed:Pending:Wait");
    expect(waitStateOf({ bootstrapPhase: "start", needsTraffic: true })).toBe("Pending:Wait");
    expect(waitStateOf({ bootstrapPhase: "all", needsTraffic: true })).toBe("Pending:Wait");
  });

  it("a sighted Pending:Wait is the move out of the pool when the instance's last record was its wait into it", () => {
    const into = { mode: { bootstrapPhase: "prepare", needsTraffic: false } } as const;
    const direct = { mode: { bootstrapPhase: "all", needsTraffic: true } } as const;
    expect(sightedTransition("Warmed:Pending:Wait", undefined)).toEqual({
      origin: "EC2",
      destination: "WarmPool",
    });
    expect(sightedTransition("Pending:Wait", into)).toEqual({
      origin: "WarmPool",
      destination: "AutoScalingGroup",
    });
    expect(sightedTransition("Pending:Wait", direct)).toEqual({
      origin: "EC2",
      destination: "AutoScalingGroup",
    });
    expect(sightedTransition("Pending:Wait", undefined)).toEqual({
      origin: "EC2",
      destination: "AutoScalingGroup",
    });
  });

  it("a pool wait's CONTINUE applied once the instance is anywhere past that wait, out of the pool again included", () => {
    const pool = { bootstrapPhase: "prepare", needsTraffic: false } as const;
    const at = (state: string) => ({ state, groupName: GROUP, availabilityZone: "eu-west-2a" });
    for (const state of ["Warmed:Stopped", "Pending", "Pending:Wait", "InService"])
      expect(outcomeApplied("CONTINUE", at(state), pool)).toBe(true);
    for (const state of ["Warmed:Pending", "Warmed:Pending:Wait", "Warmed:Terminating"])
      expect(outcomeApplied("CONTINUE", at(state), pool)).toBe(false);
    // Without the mode (or for a wait into the group) a waiting state is a new wait, not our outcome.
    expect(outcomeApplied("CONTINUE", at("Pending:Wait"))).toBe(false);
  });

  it("a late event out of the pool takes over a placeholder sighted as a direct launch (same state, began before)", async () => {
    lifecycleState(h, "Pending:Wait");
    listing([{ id: INSTANCE_ID, state: "Pending:Wait" }]);
    const eventAt = h.now();
    h.advanceSeconds(30);
    await reconcile(h.deps);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "sighted", mode: { bootstrapPhase: "all" } });

    await startGate(
      h.deps,
      launchEvent({ origin: "WarmPool", destination: "AutoScalingGroup", waitStartedAt: eventAt }),
    );

    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      phase: "awaiting-agent",
      token: TOKEN,
      mode: { bootstrapPhase: "start" },
    });
  });
});
