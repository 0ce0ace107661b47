import { RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { RECONCILE_INTERVAL_SECONDS } from "../../../shared/gate/heartbeat-timing.js";
import { gridDelaySeconds, keepAlive, keepAliveDue } from "../../../shared/gate/keep-alive.js";
import { chainStalled } from "../../../shared/gate/reconcile-wait.js";
import type { GateRecord } from "../../../shared/gate/record.js";
import { waitingGate } from "../../support/drive.js";
import { type GateHarness, INSTANCE_ID, RUNTIME_CONFIG, T0 } from "../../support/gate-harness.js";

const GROUP_CONFIG = RUNTIME_CONFIG.groups[0] as (typeof RUNTIME_CONFIG.groups)[number];
const times = (lastHeartbeatAt: number, chainSeenAt?: number) => ({
  phaseStartedAt: T0,
  lastHeartbeatAt,
  ...(chainSeenAt === undefined ? {} : { chainSeenAt }),
});

describe("keepAliveDue (heartbeat timeout 600 s: ceiling 200 s)", () => {
  it("calls for a heartbeat, by either keeper, once the hook's last one is a ceiling old", () => {
    expect(keepAliveDue(times(T0, T0 + 150_000), T0 + 200_000, 600, "reconciler")).toEqual({
      heartbeat: true,
      chainSign: false,
    });
    expect(keepAliveDue(times(T0, T0 + 150_000), T0 + 199_000, 600, "chain")).toEqual({
      heartbeat: false,
      chainSign: false,
    });
    expect(keepAliveDue(times(T0, T0 + 150_000), T0 + 200_000, 600, "chain").heartbeat).toBe(true);
  });

  it("calls for the chain's sign of life once its last is a ceiling old — a write, not a heartbeat the reconciler just made", () => {
    expect(keepAliveDue(times(T0 + 150_000, T0), T0 + 200_000, 600, "chain")).toEqual({
      heartbeat: false,
      chainSign: true,
    });
    expect(keepAliveDue(times(T0 + 150_000, T0), T0 + 200_000, 600, "reconciler").chainSign).toBe(false);
  });

  it("counts the chain's sign from the phase start before its first", () => {
    const record = { ...times(T0 + 150_000), phaseStartedAt: T0 };
    expect(keepAliveDue(record, T0 + 200_000, 600, "chain").chainSign).toBe(true);
  });
});

describe("the reconciler alone (the chain died just after a heartbeat) keeps the hook alive", () => {
  /** The latest a reconciler running every interval, at any phase, heartbeats after `missed` failed runs. */
  function latestHeartbeatSeconds(timeout: number, missed: number): number {
    let latest = 0;
    for (let phase = 0; phase < RECONCILE_INTERVAL_SECONDS; phase += 0.5) {
      let failures = 0;
      for (let at = phase; ; at += RECONCILE_INTERVAL_SECONDS) {
        if (!keepAliveDue(times(T0, T0), T0 + at * 1000, timeout, "reconciler").heartbeat) continue;
        if (failures++ < missed) continue;
        latest = Math.max(latest, at);
        break;
      }
    }
    return latest;
  }

  it("through one missed run at the 360 s minimum, two at the default 600 s, three at 900 s", () => {
    // A ceiling after the last heartbeat, then one run (at most an interval later) per try.
    expect(latestHeartbeatSeconds(360, 1)).toBe(359.5);
    expect(latestHeartbeatSeconds(600, 2)).toBe(559.5);
    expect(latestHeartbeatSeconds(900, 3)).toBe(779.5); // two minutes to spare
    expect(latestHeartbeatSeconds(600, 0)).toBe(319.5);
  });
});

describe("chainStalled (ceiling 200 s + 300 s slack)", () => {
  it("counts the chain's heartbeats and phase changes, never the reconciler's heartbeats", () => {
    expect(chainStalled(times(T0 + 600_000), T0 + 501_000, GROUP_CONFIG)).toBe(true);
    expect(chainStalled(times(T0 + 600_000, T0 + 2_000), T0 + 501_000, GROUP_CONFIG)).toBe(false);
    expect(chainStalled({ ...times(T0), phaseStartedAt: T0 + 2_000 }, T0 + 501_000, GROUP_CONFIG)).toBe(
      false,
    );
    expect(chainStalled(times(T0), T0 + 500_000, GROUP_CONFIG)).toBe(false);
  });
});

describe("keepAlive", () => {
  let h: GateHarness;
  let record: GateRecord;
  beforeEach(async () => {
    h = await waitingGate();
    h.advanceSeconds(150);
    await keepAlive(h.deps, h.store.get(INSTANCE_ID), 600, { by: "reconciler" }); // not due yet
    h.advanceSeconds(60);
    record = await keepAlive(h.deps, h.store.get(INSTANCE_ID), 600, { by: "reconciler" });
  });

  it("records the reconciler's heartbeat without counting it as a sign of the chain", () => {
    expect(record.lastHeartbeatAt).toBe(T0 + 210_000);
    expect(record.chainSeenAt).toBeUndefined();
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it("has the chain show it is alive with a write, not a second heartbeat so soon after the reconciler's", async () => {
    h.advanceSeconds(10);
    const kept = await keepAlive(h.deps, record, 600);
    expect(kept).toMatchObject({ lastHeartbeatAt: T0 + 210_000, chainSeenAt: T0 + 220_000 });
    expect(h.store.get(INSTANCE_ID)).toEqual(kept);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it("heartbeats for the chain once the hook's last heartbeat is a ceiling old, and notes it was seen", async () => {
    h.advanceSeconds(200);
    const kept = await keepAlive(h.deps, record, 600);
    expect(kept).toMatchObject({ lastHeartbeatAt: T0 + 410_000, chainSeenAt: T0 + 410_000 });
    expect(h.store.get(INSTANCE_ID)).toEqual(kept);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 2);
  });

  it("leaves the write to a caller that saves at once: sign applied, version and store untouched", async () => {
    h.advanceSeconds(10);
    const saves = h.store.saves;
    const kept = await keepAlive(h.deps, record, 600, { saveWithCaller: true });
    expect(kept).toMatchObject({ lastHeartbeatAt: T0 + 210_000, chainSeenAt: T0 + 220_000 });
    expect(kept.version).toBe(record.version);
    expect(h.store.saves).toBe(saves);
    expect(h.store.get(INSTANCE_ID)).toEqual(record);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1); // the reconciler's
  });

  it("notes the reconciler's heartbeat on the version it read: a step that read the record before still saves", async () => {
    const readByAStep = { ...record, lastHeartbeatAt: T0 };
    expect(record.version).toBe(readByAStep.version);
    expect(h.store.get(INSTANCE_ID)).toEqual(record);
    expect(h.store.notes).toBe(1);
    h.advanceSeconds(10);
    // The chain's step, based on what it read before the reconciler came: the next version goes in.
    await expect(keepAlive(h.deps, readByAStep, 600)).resolves.toMatchObject({
      version: record.version + 1,
      chainSeenAt: T0 + 220_000,
    });
  });

  it("leaves the record alone when it changed since the reconciler read it: the heartbeat still went", async () => {
    h.advanceSeconds(200);
    const read = h.store.get(INSTANCE_ID);
    h.store.records.set(INSTANCE_ID, { ...read, version: read.version + 1, phase: "bootstrapping" });
    const noted = await keepAlive(h.deps, read, 600, { by: "reconciler" });
    expect(noted.lastHeartbeatAt).toBe(T0 + 410_000);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      version: read.version + 1,
      lastHeartbeatAt: T0 + 210_000,
    });
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 2);
  });

  it("notes a heartbeat the watch sends for a wait (keeper: watch) without a new version, and without the chain's sign", async () => {
    h.advanceSeconds(200);
    const watchDeps = { ...h.deps, keeper: "watch" as const };
    const kept = await keepAlive(watchDeps, record, 600);
    expect(kept).toMatchObject({ version: record.version, lastHeartbeatAt: T0 + 410_000 });
    expect(kept.chainSeenAt).toBeUndefined();
    expect(h.store.get(INSTANCE_ID)).toEqual(kept);
    expect(h.store.notes).toBe(2);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 2);
    // The wait's own round, which read the record before, still saves its next version.
    await expect(keepAlive(h.deps, record, 600)).resolves.toMatchObject({ version: record.version + 1 });
  });

  it("does nothing for a reconciler whose heartbeat was recent, even with the chain's sign due", async () => {
    h.advanceSeconds(10);
    expect(await keepAlive(h.deps, record, 600, { by: "reconciler" })).toBe(record);
  });
});

describe("gridDelaySeconds (polls of every wait fall on the same instants)", () => {
  const at = (seconds: number) => seconds * 1000;

  it("lands on a multiple of the pace, between half and one and a half paces away", () => {
    expect(gridDelaySeconds(at(1000), 5)).toBe(5); // on the grid: the next point
    expect(gridDelaySeconds(at(1002), 5)).toBe(3); // 1005
    expect(gridDelaySeconds(at(1003), 5)).toBe(7); // 1005 is under half a pace away: 1010
    expect(gridDelaySeconds(at(1002.4), 5)).toBe(3); // whole seconds, rounded up: visible at 1005.4
  });

  it("never goes past the heartbeat's ceiling: the latest grid point within it, or the cap", () => {
    expect(gridDelaySeconds(at(1100), 300, 400)).toBe(400); // 1500 is within the cap
    expect(gridDelaySeconds(at(1100), 300, 200)).toBe(100); // 1500 is past 1300: 1200 is the latest within
    expect(gridDelaySeconds(at(1201), 300, 100)).toBe(100); // no multiple of 300 within 100 s: the cap
  });

  it("puts waits that ask a moment apart on the same point", () => {
    const due = (nowSeconds: number) => nowSeconds + gridDelaySeconds(at(nowSeconds), 5);
    expect(new Set([1001, 1001.3, 1001.9, 1002.4].map((now) => Math.floor(due(now))))).toEqual(
      new Set([1005]),
    );
  });
});
