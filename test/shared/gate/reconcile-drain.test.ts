import {
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { createHandler } from "../../../functions/reconcile/handler.js";
import type { RuntimeConfig } from "../../../shared/config/runtime-config.js";
import type { DrainDeps } from "../../../shared/drain/drain.js";
import { RESCUE_REASON } from "../../../shared/drain/rescue.js";
import { RECONCILE_RETRY_PAUSE_MS, reconcile } from "../../../shared/gate/reconcile.js";
import { awsServiceError, groupDescription, hookAcceptsCompletion } from "../../support/aws-stubs.js";
import { type GateHarness, GROUP, gateHarness, RUNTIME_CONFIG } from "../../support/gate-harness.js";
import { MemoryDrains } from "../drain/drain-support.js";

const LEAVING = "i-0bbbbbbbbbbbbbbb1";
const DRAIN_HOOK = "launchgate-launch-drain";
const draining: RuntimeConfig = {
  ...RUNTIME_CONFIG,
  groups: RUNTIME_CONFIG.groups.map((g) => ({ ...g, drain: { hookName: DRAIN_HOOK, timeoutSeconds: 120 } })),
};

let h: GateHarness;
let drains: MemoryDrains;
let drainRechecks: { instanceId: string; token: string; delaySeconds: number }[];
let drainDeps: DrainDeps;

function leaving(state: string): void {
  h.autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      groupDescription([
        { id: LEAVING, state },
        { id: "i-0aaaaaaaaaaaaaaa1", state: "InService" },
      ]),
    ],
  });
}

function setUp(config: RuntimeConfig): void {
  h = gateHarness(config);
  hookAcceptsCompletion(h);
  drains = new MemoryDrains();
  drainRechecks = [];
  drainDeps = {
    config,
    autoScaling: h.deps.autoScaling,
    ssm: h.deps.ssm,
    drains,
    rechecks: {
      schedule: async (instanceId, token, delaySeconds) =>
        void drainRechecks.push({ instanceId, token, delaySeconds }),
    },
    now: h.now,
    log: { info: () => {}, warn: () => {} },
  };
}

beforeEach(() => setUp(draining));

const rescues = () =>
  h.metrics.filter((datum) => datum.name === "ReconcilerRescues").map((datum) => datum.alsoBy?.action);

describe("reconcile: instances leaving a draining group", () => {
  it("starts the drain of one in Terminating:Wait with none recorded, once, and counts it as a rescue", async () => {
    leaving("Terminating:Wait");
    expect(await reconcile(h.deps, { drains: drainDeps })).toEqual([
      { group: GROUP, instanceId: LEAVING, action: "drain-rescued", detail: RESCUE_REASON },
    ]);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleHookName: DRAIN_HOOK,
      InstanceId: LEAVING,
    });
    expect(drains.records.get(LEAVING)).toMatchObject({ phase: "sending", rescued: RESCUE_REASON });
    expect(drainRechecks).toHaveLength(1);
    expect(rescues()).toEqual(["drain-rescued"]);

    h.advanceSeconds(120);
    expect((await reconcile(h.deps, { drains: drainDeps }))[0]?.action).toBe("drain-in-progress");
    expect(drainRechecks).toHaveLength(1);
    expect(rescues()).toEqual(["drain-rescued"]);
  });

  it("tries a rescue whose heartbeat was throttled again within the same run, a pass later", async () => {
    leaving("Terminating:Wait");
    h.autoScalingMock
      .on(RecordLifecycleActionHeartbeatCommand)
      .rejectsOnce(awsServiceError("ThrottlingException", "Rate exceeded"))
      .resolves({});
    const started = h.now();

    const entries = await reconcile(h.deps, { drains: drainDeps, remainingMs: () => 240_000 });

    expect(entries).toEqual([
      { group: GROUP, instanceId: LEAVING, action: "drain-rescued", detail: RESCUE_REASON },
    ]);
    expect(h.now() - started).toBe(RECONCILE_RETRY_PAUSE_MS);
    expect(drains.records.get(LEAVING)).toMatchObject({ phase: "sending" });
    expect(drainRechecks).toHaveLength(1);
  });

  it("rescues the leaving instances of a group whose first read failed, once a retry pass reads it", async () => {
    h.autoScalingMock
      .on(DescribeAutoScalingGroupsCommand)
      .rejectsOnce(awsServiceError("Throttling", "Rate exceeded"))
      .resolves({ AutoScalingGroups: [groupDescription([{ id: LEAVING, state: "Terminating:Wait" }])] });

    const entries = await reconcile(h.deps, { drains: drainDeps, remainingMs: () => 240_000 });

    expect(entries).toEqual([
      { group: GROUP, instanceId: LEAVING, action: "drain-rescued", detail: RESCUE_REASON },
    ]);
    expect(drainRechecks).toHaveLength(1);
  });

  it("leaves instances in other states, and groups without drain, alone", async () => {
    leaving("Terminating:Proceed");
    expect(await reconcile(h.deps, { drains: drainDeps })).toEqual([]);
    setUp(RUNTIME_CONFIG);
    leaving("Terminating:Wait");
    expect(await reconcile(h.deps, { drains: drainDeps })).toEqual([]);
    expect(drains.records.size).toBe(0);
  });

  it("the reconcile handler wires the drain in for a config that drains", async () => {
    leaving("Terminating:Wait");
    const result = await createHandler(
      () => h.deps,
      () => drainDeps,
    )({});
    expect(result.entries.map((entry) => entry.action)).toEqual(["drain-rescued"]);
  });
});
