import {
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandInput,
  type TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  DescribeInstanceInformationCommand,
  type DescribeInstanceInformationCommandInput,
} from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { SkipEventError } from "../../../../shared/errors.js";
import type { RecheckEvent } from "../../../../shared/events/gate-event.js";
import { agentPing, healthKey } from "../../../../shared/gate/batch-reads.js";
import type { GateDeps } from "../../../../shared/gate/deps.js";
import { advance, type GatePhase, type GateRecord } from "../../../../shared/gate/record.js";
import {
  type RunStep,
  runWatch,
  STEP_RESERVE_SECONDS,
  WATCH_SPAN_SECONDS,
} from "../../../../shared/gate/watch/run-watch.js";
import {
  MAX_LEAVING,
  type WatchKind,
  type WatchMember,
  type WatchMessage,
} from "../../../../shared/gate/watch/watch.js";
import {
  STEP_REPEAT_SECONDS,
  UNRETRIED_STEP_AGAIN_SECONDS,
} from "../../../../shared/gate/watch/watch-steps.js";
import { awsServiceError } from "../../../support/aws-stubs.js";
import {
  ADMIN_TG_ARN,
  type GateHarness,
  GROUP,
  gateHarness,
  gateRecordOf,
  T0,
  TG_ARN,
} from "../../../support/gate-harness.js";
import { InMemoryWatchStore, RecordingWatchMessages } from "../../../support/in-memory-watch-store.js";

const A = "i-0aaaaaaaaaaaaaaa1";
const B = "i-0bbbbbbbbbbbbbbb2";
const C = "i-0ccccccccccccccc3";
const CHAIN = "chain-1";
const TG = { targetGroupArn: TG_ARN, port: 8000, name: "cnt-backend-tg" };
const ADMIN = { targetGroupArn: ADMIN_TG_ARN, port: 8000, name: "cnt-admin-tg" };

let h: GateHarness;
let store: InMemoryWatchStore;
let messages: RecordingWatchMessages;
let deps: GateDeps;
/** The steps run: when, for which wait, with what the step's deps carried. */
let steps: { at: number; recheck: RecheckEvent; deps: GateDeps }[];
/** Members whose step joins the watch again (still waiting). */
let rejoining: Set<string>;
let runStep: ReturnType<typeof vi.fn<RunStep>>;

beforeEach(() => {
  h = gateHarness();
  store = new InMemoryWatchStore();
  messages = new RecordingWatchMessages();
  deps = { ...h.deps, watch: { store, messages } };
  steps = [];
  rejoining = new Set();
  runStep = vi.fn<RunStep>(async (stepDeps, recheck) => {
    steps.push({ at: h.now(), recheck, deps: stepDeps });
    if (rejoining.has(recheck.instanceId)) {
      const member = store
        .state(recheck.step as WatchKind, GROUP)
        .members.find((m) => m.instanceId === recheck.instanceId);
      if (member)
        await stepDeps.watch?.store.join(recheck.step as WatchKind, GROUP, {
          ...member,
          until: h.now() + 150_000,
        });
    }
    return "ran";
  });
});

function member(instanceId: string, extra: Partial<WatchMember> = {}): WatchMember {
  return { instanceId, token: `tok-${instanceId}`, from: T0, until: T0 + 150_000, ...extra };
}

/** A watch held by CHAIN at `hop` (its message sent), with these members. */
function heldWatch(kind: WatchKind, members: readonly WatchMember[], hop = 0): WatchMessage {
  store.setLease(kind, GROUP, { chain: CHAIN, hop }, T0 + 60_000);
  for (const m of members) store.putMember(kind, GROUP, m);
  return { watch: kind, groupName: GROUP, chain: CHAIN, hop };
}

/** DescribeInstanceInformation answering `online(now)` ids as Online; records each look (time, ids). */
function agentLooks(online: (now: number) => readonly string[] = () => []) {
  const looks: { at: number; ids: string[] }[] = [];
  h.ssmMock
    .on(DescribeInstanceInformationCommand)
    .callsFake((input: DescribeInstanceInformationCommandInput) => {
      const ids = input.Filters?.find((filter) => filter.Key === "InstanceIds")?.Values ?? [];
      looks.push({ at: h.now() - T0, ids: [...ids] });
      const up = new Set(online(h.now()));
      return {
        InstanceInformationList: ids
          .filter((id) => up.has(id))
          .map((id) => ({ InstanceId: id, PingStatus: "Online" })),
      };
    });
  return looks;
}

/** A wait's record (version 1) in `phase`, under the member's token. */
function waitOf(instanceId: string, phase: GatePhase): GateRecord {
  return gateRecordOf({ instanceId, token: `tok-${instanceId}`, phase, deadline: T0 + 3_600_000 });
}

function stepsFor(): string[] {
  return steps.map((step) => step.recheck.instanceId);
}

describe("runWatch: taking over", () => {
  it("a message whose hop does not hold the watch is skipped: nothing polled, nothing run", async () => {
    heldWatch("agent", [member(A)], 2);
    const looks = agentLooks(() => [A]);

    await expect(
      runWatch(deps, { watch: "agent", groupName: GROUP, chain: CHAIN, hop: 1 }, runStep),
    ).rejects.toThrow(SkipEventError);
    await expect(
      runWatch(deps, { watch: "agent", groupName: GROUP, chain: "other", hop: 2 }, runStep),
    ).rejects.toThrow(SkipEventError);

    expect(looks).toEqual([]);
    expect(runStep).not.toHaveBeenCalled();
    expect(store.state("agent", GROUP).lease).toEqual({ chain: CHAIN, hop: 2 });
    expect(messages.sent).toEqual([]);
  });

  it("takes the next hop with a lease past the span, dropping the members the message says are left", async () => {
    const message = heldWatch("agent", [member(A), member(B)], 4);
    agentLooks();

    await runWatch(deps, { ...message, leaving: [B] }, runStep);

    expect(store.callsOf("renew")[0]).toMatchObject({
      held: { chain: CHAIN, hop: 4 },
      nextHop: 5,
      leaseUntil: T0 + (WATCH_SPAN_SECONDS + 60) * 1000,
      leaving: [B],
    });
    expect(store.state("agent", GROUP).members.map((m) => m.instanceId)).toEqual([A]);
  });
});

describe("runWatch: agent", () => {
  it("looks at the configured interval (pollIntervalSeconds)", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks = agentLooks();
    const config = { ...deps.config, pollIntervalSeconds: { agent: 4, health: 3 } };

    await runWatch({ ...deps, config }, message, runStep);

    expect(looks.map((look) => look.at)).toEqual([0, 4000, 8000, 12_000]);
  });

  it("looks every 2.5 s with one DescribeInstanceInformation for all due members; members not yet due are not asked for", async () => {
    const message = heldWatch("agent", [member(A), member(B), member(C, { from: T0 + 100_000 })]);
    const looks = agentLooks();

    await runWatch(deps, message, runStep);

    expect(deps.config.pollIntervalSeconds.agent).toBe(2.5); // the default
    expect(looks.map((look) => look.at)).toEqual([0, 2500, 5000, 7500, 10_000, 12_500]);
    for (const look of looks) expect(look.ids).toEqual([A, B]);
    expect(runStep).not.toHaveBeenCalled();
    // Every member still waits: handed on when the next look is due, as hop 1.
    expect(messages.sent).toEqual([
      { message: { watch: "agent", groupName: GROUP, chain: CHAIN, hop: 1 }, delaySeconds: 3 },
    ]);
    // One refresh within the span (at 10 s), on the hop taken.
    expect(store.callsOf("renew").map((call) => [call.held.hop, call.nextHop])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(store.state("agent", GROUP).lease).toEqual({ chain: CHAIN, hop: 1 });
  });

  it("counts its looks as it ends (WatchLooks, per group and per kind): what shows an operator the watch is alive", async () => {
    const message = heldWatch("agent", [member(A), member(B)]);
    const looks = agentLooks();

    await runWatch(deps, message, runStep);

    expect(looks).toHaveLength(6);
    expect(h.metrics).toEqual([
      {
        name: "WatchLooks",
        unit: "Count",
        value: 6,
        dimensions: { group: GROUP, watch: "agent" },
      },
    ]);
  });

  it("waits for the first member's `from` rather than looking before anything can be found", async () => {
    const message = heldWatch("agent", [member(A, { from: T0 + 6_000 })]);
    const looks = agentLooks();

    await runWatch(deps, message, runStep);

    expect(looks.map((look) => look.at)).toEqual([6000, 8500, 11_000, 13_500]);
  });

  it("runs the Online member's step at once, with the look's ping as its own poll; the others' do not run", async () => {
    const message = heldWatch("agent", [member(A), member(B)]);
    const looks = agentLooks(() => [A]);
    let pingSeen: string | undefined;
    runStep.mockImplementationOnce(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      pingSeen = await agentPing(stepDeps, recheck.instanceId);
      return "ran";
    });

    await runWatch(deps, message, runStep);

    expect(runStep).toHaveBeenCalledTimes(1);
    expect(steps[0]?.at).toBe(T0);
    expect(steps[0]?.recheck).toEqual({ kind: "recheck", step: "agent", instanceId: A, token: `tok-${A}` });
    expect(steps[0]?.deps.batchReads?.agentPings.get(A)).toBe("Online");
    expect(pingSeen).toBe("Online");
    // The step's ping came from the look: the first look is the only call made at T0.
    expect(looks.filter((look) => look.at === 0)).toHaveLength(1);
    // A is done with: dropped at the refresh, and not asked for after its step ran.
    expect(looks.slice(1).every((look) => look.ids.length === 1 && look.ids[0] === B)).toBe(true);
    expect(store.callsOf("renew")[1]?.leaving).toEqual([A]);
    expect(store.state("agent", GROUP).members.map((m) => m.instanceId)).toEqual([B]);
  });

  it("keeps a member whose step joined again (still waiting), and does not run its step again within STEP_REPEAT_SECONDS", async () => {
    const message = heldWatch("agent", [member(A), member(B)]);
    const looks = agentLooks(() => [A]);
    rejoining.add(A);

    await runWatch(deps, message, runStep);

    // Once, not on every look: the span (15 s) is within STEP_REPEAT_SECONDS (30 s).
    expect(STEP_REPEAT_SECONDS).toBeGreaterThan(WATCH_SPAN_SECONDS);
    expect(stepsFor()).toEqual([A]);
    expect(looks[0]?.ids).toEqual([A, B]);
    for (const look of looks.slice(1)) expect(look.ids).toEqual([B]);
    expect(store.callsOf("renew").every((call) => call.leaving.length === 0)).toBe(true);
    expect(
      store
        .state("agent", GROUP)
        .members.map((m) => m.instanceId)
        .sort(),
    ).toEqual([A, B]);
    expect(messages.sent[0]?.message.leaving).toBeUndefined();
  });

  it("the last member's step done, the watch lets go (leaseUntil 0) and the invocation ends", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks = agentLooks(() => [A]);

    await runWatch(deps, message, runStep);

    expect(looks).toHaveLength(1);
    expect(stepsFor()).toEqual([A]);
    expect(store.callsOf("release")).toEqual([
      { op: "release", kind: "agent", groupName: GROUP, held: { chain: CHAIN, hop: 1 }, leaving: [A] },
    ]);
    expect(store.state("agent", GROUP)).toEqual({
      members: [],
      leaseUntil: 0,
      lease: { chain: CHAIN, hop: 1 },
    });
    expect(store.callsOf("claim")).toEqual([]);
    expect(messages.sent).toEqual([]);
    expect(h.now()).toBe(T0);
  });

  it("a wait that joined since the last refresh is found in the release: the watch goes on for it as a new chain", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks = agentLooks((now) => (now - T0 >= 5_000 ? [A] : []));
    store.beforeOp = (call) => {
      // B joins while the lease is still held: it saw a live watch and started none of its own.
      if (call.op === "release") store.putMember("agent", GROUP, member(B));
    };

    await runWatch(deps, message, runStep);

    expect(stepsFor()).toEqual([A]);
    const [claim] = store.callsOf("claim");
    expect(claim?.lease.chain).toBeDefined();
    expect(claim?.lease.chain).not.toBe(CHAIN);
    expect(claim).toMatchObject({ lease: { hop: 1 }, now: T0 + 5_000 });
    // B is looked for at once, and after, until the span ends.
    expect(looks.map((look) => [look.at, look.ids])).toEqual([
      [0, [A]],
      [2500, [A]],
      [5000, [A]],
      [5000, [B]],
      [7500, [B]],
      [10_000, [B]],
      [12_500, [B]],
    ]);
    expect(messages.sent).toEqual([
      { message: { watch: "agent", groupName: GROUP, chain: claim?.lease.chain, hop: 1 }, delaySeconds: 3 },
    ]);
    expect(store.state("agent", GROUP)).toMatchObject({ lease: { chain: claim?.lease.chain, hop: 1 } });
    expect(store.state("agent", GROUP).members.map((m) => m.instanceId)).toEqual([B]);
  });

  it("a wait that joined a running watch is looked for from the next refresh", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks = agentLooks();
    const join = setTimeoutLike(T0 + 4_000, () => store.putMember("agent", GROUP, member(B)));

    await runWatch({ ...deps, sleep: join }, message, runStep);

    expect(looks.map((look) => [look.at, look.ids.length])).toEqual([
      [0, 1],
      [2500, 1],
      [5000, 1],
      [7500, 1],
      [10_000, 2],
      [12_500, 2],
    ]);
  });

  it("hands on after the span: one message with the next hop and the members it is done with, within 30 s", async () => {
    const message = heldWatch("agent", [member(A), member(B)], 3);
    agentLooks((now) => (now - T0 >= 11_000 ? [A] : []));

    await runWatch(deps, message, runStep);

    expect(stepsFor()).toEqual([A]);
    expect(steps[0]?.at).toBe(T0 + 12_500);
    expect(messages.sent).toHaveLength(1);
    const [sent] = messages.sent;
    expect(sent?.message).toEqual({ watch: "agent", groupName: GROUP, chain: CHAIN, hop: 4, leaving: [A] });
    expect(sent?.delaySeconds).toBeLessThanOrEqual(30);
    expect(sent?.delaySeconds).toBe(3);
    // The handover writes nothing: A is still stored, for the next invocation to drop as it takes over.
    expect(store.callsOf("renew")).toHaveLength(2);
    expect(
      store
        .state("agent", GROUP)
        .members.map((m) => m.instanceId)
        .sort(),
    ).toEqual([A, B]);

    // The next invocation, from that message, drops A and watches B.
    h.advanceSeconds(sent?.delaySeconds ?? 0);
    await runWatch(deps, sent?.message as WatchMessage, runStep);
    expect(store.callsOf("renew")[2]).toMatchObject({
      held: { chain: CHAIN, hop: 4 },
      nextHop: 5,
      leaving: [A],
    });
    expect(store.state("agent", GROUP).members.map((m) => m.instanceId)).toEqual([B]);
  });

  it("a handover's delay is capped at 30 s even when the next member is due much later", async () => {
    const message = heldWatch("agent", [member(A, { from: T0 + 100_000 })]);
    const looks = agentLooks();

    await runWatch(deps, message, runStep);

    expect(looks).toEqual([]);
    expect(messages.sent).toEqual([
      { message: { watch: "agent", groupName: GROUP, chain: CHAIN, hop: 1 }, delaySeconds: 30 },
    ]);
  });

  it("a member past its `until` is dropped without its step, and never asked for", async () => {
    const message = heldWatch("agent", [member(A, { until: T0 }), member(B)]);
    const looks = agentLooks(() => [A]);

    await runWatch(deps, message, runStep);

    expect(runStep).not.toHaveBeenCalled();
    for (const look of looks) expect(look.ids).toEqual([B]);
    expect(store.callsOf("renew")[1]?.leaving).toEqual([A]);
    expect(store.state("agent", GROUP).members.map((m) => m.instanceId)).toEqual([B]);
  });

  it("a member that expires mid-span stops being asked for, and its step never runs", async () => {
    const message = heldWatch("agent", [member(A, { until: T0 + 6_000 })]);
    const looks = agentLooks((now) => (now - T0 >= 6_000 ? [A] : []));

    await runWatch(deps, message, runStep);

    expect(looks.map((look) => look.at)).toEqual([0, 2500, 5000]);
    expect(runStep).not.toHaveBeenCalled();
    expect(store.callsOf("release")).toMatchObject([{ leaving: [A] }]);
    expect(store.state("agent", GROUP)).toMatchObject({ members: [], leaseUntil: 0 });
  });

  it("a throttled look runs no step and doubles the pace; a look that gets through restores it", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks: number[] = [];
    let throttle = 1;
    h.ssmMock.on(DescribeInstanceInformationCommand).callsFake(() => {
      looks.push(h.now() - T0);
      if (throttle-- > 0) throw awsServiceError("ThrottlingException", "Rate exceeded");
      return { InstanceInformationList: [] };
    });

    await runWatch(deps, message, runStep);

    expect(runStep).not.toHaveBeenCalled();
    expect(looks).toEqual([0, 5000, 7500, 10_000, 12_500]);
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: "shared agent read throttled; its re-checks look again later",
      }),
    );
  });

  it("throttled looks keep doubling: 2.5, 5, 10 s", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks: number[] = [];
    h.ssmMock.on(DescribeInstanceInformationCommand).callsFake(() => {
      looks.push(h.now() - T0);
      throw awsServiceError("ThrottlingException", "Rate exceeded");
    });

    await runWatch(deps, message, runStep);

    // 0, then 5 s later, then 10 s later (15 s: the span's end), handed on when that look is due.
    expect(looks).toEqual([0, 5000]);
    expect(messages.sent).toEqual([
      { message: { watch: "agent", groupName: GROUP, chain: CHAIN, hop: 1 }, delaySeconds: 10 },
    ]);
  });

  it("a throttled look at a long configured interval still doubles it, past the 12 s cap", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks: number[] = [];
    h.ssmMock.on(DescribeInstanceInformationCommand).callsFake(() => {
      looks.push(h.now() - T0);
      throw awsServiceError("ThrottlingException", "Rate exceeded");
    });
    const config = { ...deps.config, pollIntervalSeconds: { agent: 8, health: 3 } };

    await runWatch({ ...deps, config }, message, runStep);

    expect(looks).toEqual([0]);
    expect(messages.sent).toEqual([
      { message: { watch: "agent", groupName: GROUP, chain: CHAIN, hop: 1 }, delaySeconds: 16 },
    ]);
  });

  it("a renewal refused (another invocation took the watch) stops the loop with a warning, without handing on", async () => {
    const message = heldWatch("agent", [member(A)]);
    const looks = agentLooks();
    store.beforeOp = (call) => {
      if (call.op === "renew" && call.held.hop === 1)
        store.setLease("agent", GROUP, { chain: "usurper", hop: 0 }, T0 + 90_000);
    };

    await runWatch(deps, message, runStep);

    expect(looks.map((look) => look.at)).toEqual([0, 2500, 5000, 7500]);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: "warn", message: "watch taken over by another invocation; stopping" }),
    );
    expect(messages.sent).toEqual([]);
    expect(store.callsOf("release")).toEqual([]);
    expect(store.state("agent", GROUP).lease).toEqual({ chain: "usurper", hop: 0 });
  });
});

/** Target health answers per target group: instance → [state, reason]. */
function healthLooks(byGroup: Record<string, Record<string, [string, string?]>>) {
  const looks: { at: number; input: DescribeTargetHealthCommandInput }[] = [];
  h.elbv2Mock.on(DescribeTargetHealthCommand).callsFake((input: DescribeTargetHealthCommandInput) => {
    looks.push({ at: h.now() - T0, input });
    const targets = byGroup[input.TargetGroupArn ?? ""] ?? {};
    const TargetHealthDescriptions: TargetHealthDescription[] = Object.entries(targets).map(
      ([id, [state, reason]]) => ({
        Target: { Id: id, Port: 8000 },
        HealthCheckPort: "8000",
        TargetHealth: { State: state as never, ...(reason ? { Reason: reason as never } : {}) },
      }),
    );
    return { TargetHealthDescriptions };
  });
  return looks;
}

describe("runWatch: health", () => {
  it("reads each target group once per look, for every member in it; runs the step of a member healthy in all its groups only", async () => {
    const message = heldWatch("health", [
      member(A, { targets: [TG, ADMIN] }),
      member(B, { targets: [TG] }),
      member(C, { targets: [TG, ADMIN] }),
    ]);
    const looks = healthLooks({
      [TG_ARN]: { [A]: ["healthy"], [B]: ["healthy"], [C]: ["healthy"] },
      [ADMIN_TG_ARN]: { [A]: ["initial", "Elb.RegistrationInProgress"], [C]: ["healthy"] },
    });

    await runWatch(deps, message, runStep);

    expect(deps.config.pollIntervalSeconds.health).toBe(3); // the default
    const times = [...new Set(looks.map((look) => look.at))];
    expect(times).toEqual([0, 3000, 6000, 9000, 12_000]);
    for (const at of times) {
      const atLook = looks.filter((look) => look.at === at).map((look) => look.input);
      // One read per target group: every target of it, not a list of targets.
      expect(atLook).toHaveLength(2);
      expect(atLook.map((input) => input.TargetGroupArn).sort()).toEqual([TG_ARN, ADMIN_TG_ARN].sort());
      for (const input of atLook) expect(input.Targets).toBeUndefined();
    }
    expect(stepsFor().sort()).toEqual([B, C].sort());
    for (const step of steps) {
      expect(step.at).toBe(T0);
      expect(step.recheck).toMatchObject({
        kind: "recheck",
        step: "health",
        token: `tok-${step.recheck.instanceId}`,
      });
      expect(
        step.deps.batchReads?.targetHealth.get(healthKey(TG_ARN, step.recheck.instanceId)),
      ).toMatchObject({
        State: "healthy",
      });
    }
    expect(store.state("health", GROUP).members.map((m) => m.instanceId)).toEqual([A]);
    expect(messages.sent).toEqual([
      { message: { watch: "health", groupName: GROUP, chain: CHAIN, hop: 1 }, delaySeconds: 3 },
    ]);
  });

  it("Target.NotInUse calls for the step (it abandons on a zone the load balancer does not serve)", async () => {
    const message = heldWatch("health", [member(A, { targets: [TG] })]);
    healthLooks({ [TG_ARN]: { [A]: ["unused", "Target.NotInUse"] } });

    await runWatch(deps, message, runStep);

    expect(stepsFor()).toEqual([A]);
    expect(store.callsOf("release")).toMatchObject([{ leaving: [A] }]);
  });

  it("a target not registered calls for the step only 30 s after `from` (registration propagates meanwhile)", async () => {
    const message = heldWatch("health", [member(A, { targets: [TG], from: T0 - 20_000 })]);
    const looks = healthLooks({ [TG_ARN]: {} });

    await runWatch(deps, message, runStep);

    // Looks at 20, 23, 26, 29 s after `from`: not yet; 32 s: the step.
    expect(looks.map((look) => look.at)).toEqual([0, 3000, 6000, 9000, 12_000]);
    expect(steps.map((step) => step.at - T0)).toEqual([12_000]);
  });

  it("unhealthy or initial targets do not call for the step", async () => {
    const message = heldWatch("health", [member(A, { targets: [TG] }), member(B, { targets: [TG] })]);
    healthLooks({
      [TG_ARN]: {
        [A]: ["unhealthy", "Target.FailedHealthChecks"],
        [B]: ["initial", "Elb.InitialHealthChecking"],
      },
    });

    await runWatch(deps, message, runStep);

    expect(runStep).not.toHaveBeenCalled();
    expect(messages.sent).toHaveLength(1);
  });
});

/**
 * A sleep that moves the harness clock as the harness's does, and runs `effect` once the clock passes
 * `at` (another writer acting while the watch sleeps).
 */
function setTimeoutLike(at: number, effect: () => void): (ms: number) => Promise<void> {
  let done = false;
  return async (ms) => {
    h.advanceSeconds(ms / 1000);
    if (!done && h.now() >= at) {
      done = true;
      effect();
    }
  };
}

describe("runWatch: a step it runs", () => {
  it("never starts a second chain: its own next round of the same step is kept back, and the watch looks again at that time", async () => {
    const message = heldWatch("agent", [member(A)]);
    agentLooks(() => [A]);
    const sent: unknown[] = [];
    runStep.mockImplementation(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      // What the agent step does when Auto Scaling's API lags: look again in 5 s; and a move on.
      await stepDeps.rechecks.schedule({ step: "agent", instanceId: A, token: `tok-${A}` }, 5);
      await stepDeps.rechecks.schedule({ step: "command", instanceId: A, token: `tok-${A}` }, 0);
      return "ran";
    });
    deps = {
      ...deps,
      rechecks: { schedule: async (m, d) => void sent.push({ m, d }) },
    };

    await runWatch(deps, message, runStep);

    // Only the next phase's re-checks went out; each agent round was the watch's to make: 5 s later.
    expect(sent.length).toBeGreaterThan(0);
    expect(sent).toEqual(
      sent.map(() => ({ m: { step: "command", instanceId: A, token: `tok-${A}` }, d: 0 })),
    );
    expect(steps.map((step) => step.at - T0)).toEqual([0, 5000, 10000]);
  });

  it("a step's saves say they were the watch's (so that the wait's own round, if it loses to one, carries on); its round is kept back", async () => {
    const message = heldWatch("health", [member(A, { targets: [TG] })]);
    healthLooks({ [TG_ARN]: { [A]: ["healthy"] } });
    await h.store.save(waitOf(A, "awaiting-health"));
    const sent: unknown[] = [];
    deps = { ...deps, rechecks: { schedule: async (m) => void sent.push(m) } };
    runStep.mockImplementation(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      if (steps.length > 1) return "ran"; // the watch runs it again later: once is the case here
      // What the health step does for a target never registered: a new budget saved, then its round.
      const read = await stepDeps.store.load(A);
      if (!read) throw new Error("no record");
      await stepDeps.store.save(advance(read, { registeredAt: h.now() }, "registering again", h.now()));
      await stepDeps.rechecks.schedule({ step: "health", instanceId: A, token: `tok-${A}` }, 10);
      return "ran";
    });

    await runWatch(deps, message, runStep);

    expect(h.store.get(A)).toMatchObject({ version: 2, savedBy: "watch" });
    expect(sent).toEqual([]);
    // A save of the chain's own, based on it, says nothing of the watch.
    await h.store.save(advance(h.store.get(A), {}, "", h.now()));
    expect(h.store.get(A).savedBy).toBeUndefined();
  });

  it("a round due after the member's membership ends goes out: the watch will not be there to look", async () => {
    const message = heldWatch("agent", [member(A), member(B)]);
    agentLooks(() => [A, B]);
    const sent: { step: string; instanceId: string }[] = [];
    deps = { ...deps, rechecks: { schedule: async (m) => void sent.push(m) } };
    runStep.mockImplementation(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      // A looks again in 5 s; B when its send claim's lease ends, past its membership (150 s).
      const delay = recheck.instanceId === A ? 5 : 200;
      await stepDeps.rechecks.schedule(
        { step: "agent", instanceId: recheck.instanceId, token: recheck.token },
        delay,
      );
      return "ran";
    });

    await runWatch(deps, message, runStep);

    expect(sent.filter((m) => m.instanceId === A)).toEqual([]);
    expect(sent.filter((m) => m.instanceId === B)).toEqual([
      { step: "agent", instanceId: B, token: `tok-${B}` },
    ]);
  });

  it("steps are not started past the span (and a little): those members stay, for the next invocation", async () => {
    const message = heldWatch("agent", [member(A), member(B)]);
    agentLooks(() => [A, B]);
    runStep.mockImplementation(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      h.advanceSeconds(WATCH_SPAN_SECONDS + 5); // a step held up by throttling
      return "ran";
    });
    deps = { ...deps, rechecks: { schedule: async () => undefined } };

    await runWatch(deps, message, runStep);

    expect(stepsFor()).toHaveLength(1);
    const [ran] = stepsFor();
    // The one whose step ran is dropped; the other, not started, is left for the next invocation.
    expect(store.state("agent", GROUP).members.map((m) => m.instanceId)).toEqual(
      [A, B].filter((id) => id !== ran),
    );
    expect(messages.sent).toHaveLength(1);
  });

  it("drops more members than one write may name in several writes", async () => {
    const many = Array.from({ length: MAX_LEAVING + 30 }, (_, i) =>
      member(`i-0${i.toString(16).padStart(16, "0")}`, { until: T0 + 1_000 }),
    );
    const message = heldWatch("agent", [...many, member(A, { from: T0 + 60_000 })]);
    agentLooks();

    await runWatch(deps, message, runStep);

    for (const call of store.callsOf("renew")) expect(call.leaving.length).toBeLessThanOrEqual(MAX_LEAVING);
    expect(store.state("agent", GROUP).members.map((m) => m.instanceId)).toEqual([A]);
  });

  it("failing on the way, it lets go of the watch, so that the next joiner starts one at once", async () => {
    const message = heldWatch("agent", [member(A)]);
    agentLooks();
    messages.failNext();

    await expect(runWatch(deps, message, runStep)).rejects.toThrow();

    // The looks it made before failing still count.
    expect(h.metrics.map((datum) => [datum.name, datum.value])).toEqual([["WatchLooks", 6]]);
    expect(store.state("agent", GROUP).leaseUntil).toBe(0);
    expect(await store.claim("agent", GROUP, { chain: "next", hop: 0 }, h.now(), h.now() + 60_000)).toBe(
      true,
    );
  });

  it("a failed step's retry (its attempt set) goes out as a failed re-check's would: not kept back", async () => {
    const message = heldWatch("agent", [member(A)]);
    agentLooks(() => [A]);
    const sent: { step: string; attempt?: number }[] = [];
    deps = { ...deps, rechecks: { schedule: async (m) => void sent.push(m) } };
    runStep.mockImplementation(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      await stepDeps.rechecks.schedule({ step: "agent", instanceId: A, token: `tok-${A}`, attempt: 1 }, 5);
      return "ran";
    });

    await runWatch(deps, message, runStep);

    expect(sent).toEqual([{ step: "agent", instanceId: A, token: `tok-${A}`, attempt: 1 }]);
    // Not asked to look again: the retry is the wait's; the watch is done with it.
    expect(stepsFor()).toEqual([A]);
  });

  it("a step that failed with nothing to retry it (its retry's send refused) is run again by the watch, UNRETRIED_STEP_AGAIN_SECONDS later", async () => {
    const message = heldWatch("agent", [member(A)]);
    agentLooks(() => [A]);
    runStep.mockImplementation(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      return steps.length === 1 ? "unretried" : "ran";
    });

    await runWatch(deps, message, runStep);

    expect(steps.map((step) => step.at - T0)).toEqual([0, UNRETRIED_STEP_AGAIN_SECONDS * 1000]);
    expect(store.state("agent", GROUP).members).toEqual([]);
  });

  it("a step that registered again (its `from` moved) is looked at from the next look, not after STEP_REPEAT_SECONDS", async () => {
    const message = heldWatch("agent", [member(A)]);
    agentLooks(() => [A]);
    runStep.mockImplementation(async (stepDeps, recheck) => {
      steps.push({ at: h.now(), recheck, deps: stepDeps });
      await stepDeps.watch?.store.join(
        "agent",
        GROUP,
        member(A, { from: h.now() + 1, until: h.now() + 150_000 }),
      );
      return "ran";
    });

    await runWatch(deps, message, runStep);

    expect(steps.map((step) => step.at - T0)).toEqual([0, 2500, 5000, 7500, 10000, 12500]);
  });

  it("looks and starts steps only while STEP_RESERVE_SECONDS of the invocation are left", async () => {
    const message = heldWatch("agent", [member(A, { from: T0 + 10_000 })]);
    const looks = agentLooks(() => [A]);

    // 20 s left: 5 s of looking, then hand on.
    await runWatch(deps, message, runStep, h.now() + (STEP_RESERVE_SECONDS + 5) * 1000);

    expect(looks).toEqual([]);
    expect(messages.sent).toHaveLength(1);
  });
});
