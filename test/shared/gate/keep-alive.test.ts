import { RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { heartbeatAgeSeconds, recheckCeilingSeconds } from "../../../shared/gate/heartbeat-timing.js";
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

describe("heartbeatAgeSeconds (reconciler every 120 s)", () => {
  it("is half the timeout where both keepers leave room: the default 600 s heartbeats once 300 s old", () => {
    expect(heartbeatAgeSeconds(600)).toBe(300);
    expect(heartbeatAgeSeconds(3600)).toBe(1800);
  });

  it("leaves a reconciler alone two runs and slack: 900 s → 450 s, 480 s → 180 s", () => {
    expect(heartbeatAgeSeconds(900)).toBe(450);
    expect(heartbeatAgeSeconds(480)).toBe(180); // 480 − 2 × 120 − 60
  });

  it("is never sooner than the re-check ceiling: the 360 s minimum timeout heartbeats at 120 s", () => {
    expect(heartbeatAgeSeconds(360)).toBe(120);
    for (let timeout = 360; timeout <= 7200; timeout += 30) {
      const age = heartbeatAgeSeconds(timeout);
      expect(age).toBeGreaterThanOrEqual(recheckCeilingSeconds(timeout));
      // The chain's first step after it (a ceiling at most) leaves time before the hook times out.
      expect(age + recheckCeilingSeconds(timeout)).toBeLessThanOrEqual(timeout - 60);
    }
  });
});

describe("keepAliveDue (heartbeat timeout 600 s: heartbeat at 300 s, chain's sign every 200 s)", () => {
  it("calls for a heartbeat, by either keeper, once the hook's last one is 300 s old", () => {
    expect(keepAliveDue(times(T0, T0 + 250_000), T0 + 300_000, 600, "reconciler")).toEqual({
      heartbeat: true,
      chainSign: false,
    });
    expect(keepAliveDue(times(T0, T0 + 250_000), T0 + 299_000, 600, "chain")).toEqual({
      heartbeat: false,
      chainSign: false,
    });
    expect(keepAliveDue(times(T0, T0 + 250_000), T0 + 300_000, 600, "chain").heartbeat).toBe(true);
  });

  it("calls for the chain's sign of life once its last is 200 s old — a write, no heartbeat", () => {
    expect(keepAliveDue(times(T0, T0), T0 + 200_000, 600, "chain")).toEqual({
      heartbeat: false,
      chainSign: true,
    });
    expect(keepAliveDue(times(T0, T0), T0 + 200_000, 600, "reconciler").chainSign).toBe(false);
  });

  it("counts the chain's sign from the phase start before its first", () => {
    const record = { ...times(T0 + 150_000), phaseStartedAt: T0 };
    expect(keepAliveDue(record, T0 + 200_000, 600, "chain").chainSign).toBe(true);
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
    h.advanceSeconds(250);
    await keepAlive(h.deps, h.store.get(INSTANCE_ID), 600, { by: "reconciler" }); // not due yet
    h.advanceSeconds(60);
    record = await keepAlive(h.deps, h.store.get(INSTANCE_ID), 600, { by: "reconciler" });
  });

  it("records the reconciler's heartbeat without counting it as a sign of the chain", () => {
    expect(record.lastHeartbeatAt).toBe(T0 + 310_000);
    expect(record.chainSeenAt).toBeUndefined();
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it("has the chain show it is alive with a write, not a second heartbeat so soon after the reconciler's", async () => {
    h.advanceSeconds(10);
    const kept = await keepAlive(h.deps, record, 600);
    expect(kept).toMatchObject({ lastHeartbeatAt: T0 + 310_000, chainSeenAt: T0 + 320_000 });
    expect(h.store.get(INSTANCE_ID)).toEqual(kept);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it("heartbeats for the chain once the hook's last heartbeat is 300 s old, and notes it was seen", async () => {
    h.advanceSeconds(300);
    const kept = await keepAlive(h.deps, record, 600);
    expect(kept).toMatchObject({ lastHeartbeatAt: T0 + 610_000, chainSeenAt: T0 + 610_000 });
    expect(h.store.get(INSTANCE_ID)).toEqual(kept);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 2);
  });

  it("leaves the write to a caller that saves at once: sign applied, version and store untouched", async () => {
    h.advanceSeconds(10);
    const saves = h.store.saves;
    const kept = await keepAlive(h.deps, record, 600, { saveWithCaller: true });
    expect(kept).toMatchObject({ lastHeartbeatAt: T0 + 310_000, chainSeenAt: T0 + 320_000 });
    expect(kept.version).toBe(record.version);
    expect(h.store.saves).toBe(saves);
    expect(h.store.get(INSTANCE_ID)).toEqual(record);
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
