import {
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import {
  RECONCILE_CONCURRENCY,
  RECONCILE_SAFETY_MARGIN_MS,
  reconcile,
} from "../../../shared/gate/reconcile.js";
import { groupDescription } from "../../support/aws-stubs.js";
import { waitingGate } from "../../support/drive.js";
import { type GateHarness, INSTANCE_ID } from "../../support/gate-harness.js";

let h: GateHarness;
const WAITS = 20;
/** Instance ids i-w00 … i-w19; i-wNN's last heartbeat is NN seconds old at the start (i-w19 the oldest). */
const ids = Array.from({ length: WAITS }, (_, n) => `i-w${String(n).padStart(2, "0")}`);

beforeEach(async () => {
  h = await waitingGate();
  const template = h.store.get(INSTANCE_ID);
  h.store.records.clear();
  for (const [n, id] of ids.entries()) {
    const lastHeartbeatAt = h.now() - n * 1000;
    h.store.records.set(id, { ...template, instanceId: id, token: `token-${id}`, lastHeartbeatAt });
  }
  h.autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [groupDescription(ids.map((id) => ({ id, state: "Pending:Wait" })))],
  });
  h.advanceSeconds(210); // every wait is due a heartbeat, none has stalled
});

describe("reconcile: cost and time as groups grow", () => {
  it("reads a group's records in one batch, never one by one", async () => {
    let singleLoads = 0;
    const load = h.store.load.bind(h.store);
    h.store.load = async (id) => {
      singleLoads += 1;
      return load(id);
    };
    const entries = await reconcile(h.deps);
    expect(entries.map((entry) => entry.action)).toEqual(Array(WAITS).fill("heartbeat"));
    expect(h.store.batchLoads).toBe(1);
    expect(singleLoads).toBe(0);
  });

  it(`works on at most ${RECONCILE_CONCURRENCY} waits at a time, the oldest heartbeat first`, async () => {
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).callsFake(async (input) => {
      order.push(String(input.LifecycleActionToken).replace("token-", ""));
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return {};
    });
    const entries = await reconcile(h.deps);
    expect(most).toBe(RECONCILE_CONCURRENCY);
    expect(order).toEqual([...ids].reverse());
    expect(entries.map((entry) => entry.instanceId)).toEqual([...ids].reverse());
  });

  it("starts nothing with less than the safety margin left, and reports every wait as deferred", async () => {
    const entries = await reconcile(h.deps, { remainingMs: () => RECONCILE_SAFETY_MARGIN_MS - 1 });
    expect(entries.map((entry) => entry.action)).toEqual(Array(WAITS).fill("deferred"));
    expect(entries[0]?.detail).toBe("less than 60 s of this run left; the next run takes it");
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 0);
  });

  it("finishes what it started when time runs short mid-run, and defers the rest (least urgent)", async () => {
    let remaining = 120_000;
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      remaining = RECONCILE_SAFETY_MARGIN_MS - 1; // the heartbeats were slow
      return {};
    });
    const entries = await reconcile(h.deps, { remainingMs: () => remaining });
    const done = RECONCILE_CONCURRENCY; // started before the first heartbeat returned
    expect(entries.map((entry) => entry.action)).toEqual([
      ...Array(done).fill("heartbeat"),
      ...Array(WAITS - done).fill("deferred"),
    ]);
    expect(entries.slice(done).map((entry) => entry.instanceId)).toEqual(
      ids.slice(0, WAITS - done).reverse(),
    );
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, done);
  });
});
