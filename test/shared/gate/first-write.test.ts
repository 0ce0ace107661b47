import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
} from "@aws-sdk/client-auto-scaling";
import { SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { StaleRecordError } from "../../../shared/errors.js";
import { commandComment } from "../../../shared/gate/bootstrap-command.js";
import { onCommandFinished } from "../../../shared/gate/command-outcome.js";
import { judgeRecordFound } from "../../../shared/gate/open-wait.js";
import { reconcile } from "../../../shared/gate/reconcile.js";
import { advance, type GateRecord, type LaunchMode } from "../../../shared/gate/record.js";
import { SEND_CLAIM_TTL_SECONDS } from "../../../shared/gate/send-bootstrap.js";
import { sight } from "../../../shared/gate/sighting.js";
import { onAgentRecheck, startGate } from "../../../shared/gate/start-gate.js";
import {
  agentPing,
  commandsOnInstance,
  groupDescription,
  groupTargetGroups,
  hookAcceptsCompletion,
  invocation,
  lifecycleState,
  sendCommandReturns,
  targetHealth,
} from "../../support/aws-stubs.js";
import { commandFinished, launchEvent, recheck } from "../../support/events.js";
import {
  type GateHarness,
  gateHarness,
  INSTANCE_ID,
  RUNTIME_CONFIG,
  recheckForStored,
  TOKEN,
} from "../../support/gate-harness.js";

let h: GateHarness;
const group = RUNTIME_CONFIG.groups[0] ?? (undefined as never);
const SIGHTED_TOKEN = () => `instance:${INSTANCE_ID}@${h.now()}`;

beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentPing(h, "Online");
  sendCommandReturns(h, "cmd-1");
  groupTargetGroups(h);
  targetHealth(h, "unused", "Target.NotRegistered");
  h.autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupDescription([{ id: INSTANCE_ID, state: "Pending:Wait" }])] });
});

/** The reconciler sights the wait, adopts it a run later, and its chain sends the bootstrap. */
async function adoptedMidBootstrap(): Promise<{ sightedAt: number; tokenless: string }> {
  const sightedAt = h.now();
  const tokenless = SIGHTED_TOKEN();
  await reconcile(h.deps);
  h.advanceSeconds(300);
  await reconcile(h.deps);
  await onAgentRecheck(h.deps, recheck("agent", tokenless));
  expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", token: tokenless });
  return { sightedAt, tokenless };
}

describe("the reconciler's placeholder", () => {
  it("is never written over a record that appeared after the reconciler's read", async () => {
    // The reconciler read no record for the instance; meanwhile the lifecycle event opened the gate.
    await startGate(h.deps, launchEvent());
    const opened = h.store.get(INSTANCE_ID);

    await expect(
      sight(h.deps, group, INSTANCE_ID, "Pending:Wait", { seen: undefined }),
    ).rejects.toBeInstanceOf(StaleRecordError);
    expect(h.store.get(INSTANCE_ID)).toEqual(opened);
  });

  it("is not written over a live record by a run whose batch read is stale", async () => {
    const stale = h.store.loadMany.bind(h.store);
    await startGate(h.deps, launchEvent());
    const opened = h.store.get(INSTANCE_ID);
    // The batch read was taken before the record existed.
    h.store.loadMany = async (ids) => {
      const found = await stale(ids);
      found.delete(INSTANCE_ID);
      return found;
    };

    const [entry] = await reconcile(h.deps);

    expect(entry?.action).not.toBe("sighted");
    expect(h.store.get(INSTANCE_ID)).toEqual(opened);
  });

  it("replaces exactly the finished record it saw, and nothing that moved on since", async () => {
    await startGate(h.deps, launchEvent());
    const finished = advance(
      h.store.get(INSTANCE_ID),
      { phase: "continued", outcome: "CONTINUE" },
      "done",
      h.now(),
    );
    h.store.records.set(INSTANCE_ID, finished);
    const movedOn = advance(finished, {}, "hook no longer waiting when completing with CONTINUE", h.now());

    h.store.records.set(INSTANCE_ID, movedOn);
    await expect(
      sight(h.deps, group, INSTANCE_ID, "Pending:Wait", { seen: finished }),
    ).rejects.toBeInstanceOf(StaleRecordError);
    expect(h.store.get(INSTANCE_ID)).toEqual(movedOn);

    await expect(sight(h.deps, group, INSTANCE_ID, "Pending:Wait", { seen: movedOn })).resolves.toEqual({
      action: "sighted",
    });
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "sighted", token: SIGHTED_TOKEN() });
  });
});

describe("a late lifecycle event of a wait the reconciler adopted", () => {
  it("keeps the wait's progress and gives it its token: no second bootstrap", async () => {
    const { sightedAt, tokenless } = await adoptedMidBootstrap();
    h.advanceSeconds(120);

    // Lambda's async queue delivers the event that failed at first, minutes after the wait began.
    await startGate(h.deps, launchEvent({ waitStartedAt: sightedAt - 60_000 }));

    const record = h.store.get(INSTANCE_ID);
    expect(record).toMatchObject({
      phase: "bootstrapping",
      commandId: "cmd-1",
      token: TOKEN,
      formerToken: tokenless,
    });
    expect(h.rechecks.last()).toEqual({
      message: recheckForStored(h, "command", { commandId: "cmd-1" }),
      delaySeconds: 0,
    });
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    // The old chain's re-checks drop; the wait goes on under its token.
    await expect(onAgentRecheck(h.deps, recheck("agent", tokenless))).rejects.toThrow("earlier wait");
    invocation(h, { status: "Success", comment: commandComment(tokenless) });
    await onCommandFinished(h.deps, commandFinished("cmd-1"));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
  });

  it("adopts a command the adopted chain sent under the old id, when its sender lost the save to the renaming", async () => {
    const sightedAt = h.now();
    const tokenless = SIGHTED_TOKEN();
    await reconcile(h.deps);
    h.advanceSeconds(300);
    await reconcile(h.deps);
    // While the tokenless chain's SendCommand is in flight, the late event renames the wait.
    h.ssmMock.on(SendCommandCommand).callsFake(async () => {
      await startGate(h.deps, launchEvent({ waitStartedAt: sightedAt - 60_000 }));
      return { Command: { CommandId: "cmd-1" } };
    });
    await expect(onAgentRecheck(h.deps, recheck("agent", tokenless))).rejects.toBeInstanceOf(
      StaleRecordError,
    );
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "sending-command", token: TOKEN });

    commandsOnInstance(h, [{ id: "cmd-1", comment: commandComment(tokenless) }]);
    h.advanceSeconds(SEND_CLAIM_TTL_SECONDS + 1);
    await onAgentRecheck(h.deps, recheck("agent", TOKEN));

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      phase: "bootstrapping",
      commandId: "cmd-1",
      token: TOKEN,
    });
  });

  it("completes the wait by its token once it has one", async () => {
    const { sightedAt } = await adoptedMidBootstrap();
    await startGate(h.deps, launchEvent({ waitStartedAt: sightedAt - 60_000 }));
    invocation(h, { status: "Failed", stderr: "boom" });
    await onCommandFinished(h.deps, commandFinished("cmd-1", "Failed"));
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "ABANDON",
    });
  });
});

describe("a late lifecycle event of an earlier wait", () => {
  it("leaves the record of the instance's current wait alone", async () => {
    // A warm-pool instance: its launch into the pool (token A) ended long ago; it now waits to move
    // into service (TOKEN), and that wait is bootstrapping.
    await startGate(h.deps, launchEvent({ origin: "WarmPool", destination: "AutoScalingGroup" }));
    await onAgentRecheck(h.deps, recheck("agent"));
    const current = h.store.get(INSTANCE_ID);
    h.advanceSeconds(60);

    await expect(
      startGate(
        h.deps,
        launchEvent({ token: "token-a", destination: "WarmPool", waitStartedAt: h.now() - 3_600_000 }),
      ),
    ).rejects.toThrow("launch event of an earlier wait");

    expect(h.store.get(INSTANCE_ID)).toEqual(current);
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });
});

describe("a lifecycle event of a new wait", () => {
  it("replaces the finished record of the instance's earlier wait", async () => {
    lifecycleState(h, "Warmed:Pending:Wait");
    await startGate(
      h.deps,
      launchEvent({ token: "token-a", destination: "WarmPool", waitStartedAt: h.now() }),
    );
    const earlier = advance(
      h.store.get(INSTANCE_ID),
      { phase: "continued", outcome: "CONTINUE" },
      "prepared",
      h.now(),
    );
    h.store.records.set(INSTANCE_ID, earlier);
    h.advanceSeconds(3600);
    lifecycleState(h, "Pending:Wait");

    await startGate(h.deps, launchEvent({ origin: "WarmPool", waitStartedAt: h.now() }));

    expect(h.store.get(INSTANCE_ID)).toMatchObject({ token: TOKEN, phase: "awaiting-agent", version: 1 });
  });

  it("reads again, rather than overwrite, a record that changed between its read and its write", async () => {
    await startGate(h.deps, launchEvent({ token: "token-a", waitStartedAt: h.now() }));
    const earlier = advance(
      h.store.get(INSTANCE_ID),
      { phase: "abandoned", outcome: "ABANDON" },
      "abandoned",
      h.now(),
    );
    h.store.records.set(INSTANCE_ID, earlier);
    h.advanceSeconds(600);
    // Another writer records a line on the earlier wait just after our read.
    const load = h.store.load.bind(h.store);
    let loads = 0;
    h.store.load = async (id) => {
      const read = await load(id);
      loads += 1;
      if (loads === 1) h.store.records.set(id, advance(earlier, {}, "hook no longer waiting", h.now()));
      return read;
    };

    await startGate(h.deps, launchEvent({ waitStartedAt: h.now() }));

    expect(loads).toBe(2);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ token: TOKEN, phase: "awaiting-agent" });
  });
});

describe("judgeRecordFound", () => {
  const all: LaunchMode = { bootstrapPhase: "all", needsTraffic: true };
  const prepare: LaunchMode = { bootstrapPhase: "prepare", needsTraffic: false };
  const found = (token: string, phase: GateRecord["phase"], startedAt = 10_000, mode = all) =>
    ({ token, phase, startedAt, mode }) as GateRecord;
  const sighted = `instance:${INSTANCE_ID}@10000`;

  it.each([
    ["this-wait", found(TOKEN, "bootstrapping"), undefined],
    ["placeholder", found(sighted, "sighted"), 9_000],
    ["tokenless", found(sighted, "bootstrapping", 50_000), 9_000],
    ["tokenless", found(sighted, "awaiting-health", 50_000), undefined],
    ["earlier-wait", found(sighted, "bootstrapping", 50_000), 11_000],
    ["later-wait", found(sighted, "bootstrapping", 50_000, prepare), 9_000],
    ["later-wait", found(sighted, "continued", 50_000), 9_000],
    ["earlier-wait", found("token-a", "continued"), 11_000],
    ["earlier-wait", found("token-a", "bootstrapping"), 11_000],
    ["later-wait", found("token-a", "bootstrapping"), 9_000],
    ["earlier-wait", found("token-a", "bootstrapping"), undefined],
  ] as const)("%s: %o, event's wait began at %s", (expected, record, waitStartedAt) => {
    expect(judgeRecordFound(record, { token: TOKEN, waitStartedAt }, all)).toBe(expected);
  });
});
