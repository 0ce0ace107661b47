import { describe, expect, it } from "vitest";
import { Random } from "../../sim/engine/random.js";
import { VirtualClock } from "../../sim/engine/virtual-clock.js";
import {
  AutoScalingModel,
  poolTarget,
  type SimGroup,
  type SimWarmPool,
} from "../../sim/models/auto-scaling.js";
import { createContext } from "../../sim/world-context.js";

/**
 * The simulated warm pool's size follows AWS's rule: max(MinSize, (MaxGroupPreparedCapacity, else the
 * group's max size) − desired) (docs/aws-facts.md, warm pools: pool size).
 */
describe("simulated warm pool size (AWS's rule)", () => {
  const START = Date.UTC(2026, 10, 28, 8, 0, 0);

  /** A model with one group (no launch hook: nothing holds a launch), its pool filled. */
  async function poolOf(warmPool: SimWarmPool, desired: number, maxSize = 3) {
    const clock = new VirtualClock(START);
    const model = new AutoScalingModel(
      createContext(clock, new Random(42)),
      {
        emit: () => {},
        instanceLaunched: () => {},
        instanceTerminated: () => {},
        registerWithGroupTargets: () => {},
        deregisterFromGroupTargets: () => {},
        deregistrationDelaySeconds: () => 0,
        healthyInAllTargetGroups: () => true,
        abandoned: () => {},
      },
      () => ({
        zone: "eu-west-2a",
        agentOnlineAfterSeconds: 30,
        bootstrap: { outcome: "Success", seconds: 60 },
        appHealthyAfterSeconds: 10,
      }),
    );
    const group: SimGroup = {
      name: "g",
      arn: "arn:aws:autoscaling:eu-west-2:123456789012:autoScalingGroup:x:autoScalingGroupName/g",
      targetGroupArns: [],
      desired,
      maxSize,
      maxLaunches: 20,
      launches: 0,
      warmPool,
    };
    model.addGroup(group);
    const settle = () => clock.run(clock.now() + 600_000);
    await settle();
    const pooled = () =>
      (model.describeWarmPool({ AutoScalingGroupName: "g" }).Instances ?? []).map((i) => i.LifecycleState);
    return { model, group, pooled, settle };
  }

  it("without maxGroupPreparedCapacity, keeps group max − desired: max 3, desired 1 → 2 in the pool", async () => {
    const { group, pooled } = await poolOf({ minSize: 1, poolState: "Running" }, 1);
    expect(poolTarget(group)).toBe(2);
    expect(pooled()).toEqual(["Warmed:Running", "Warmed:Running"]);
  });

  it("with maxGroupPreparedCapacity = minSize = 1 (the reference's setting), keeps exactly 1", async () => {
    const { group, pooled } = await poolOf(
      { minSize: 1, maxGroupPreparedCapacity: 1, poolState: "Running" },
      1,
    );
    expect(poolTarget(group)).toBe(1);
    expect(pooled()).toEqual(["Warmed:Running"]);
  });

  it("MinSize is the floor: desired at max (no difference left) still keeps minSize", async () => {
    const { group, pooled } = await poolOf({ minSize: 1 }, 3);
    expect(poolTarget(group)).toBe(1);
    expect(pooled()).toEqual(["Warmed:Stopped"]);
  });

  it("uses maxGroupPreparedCapacity − desired when above minSize: 4 − 1 → 3, whatever the group's max", async () => {
    const { group, pooled } = await poolOf({ minSize: 1, maxGroupPreparedCapacity: 4 }, 1);
    expect(poolTarget(group)).toBe(3);
    expect(pooled()).toHaveLength(3);
  });

  it("refills to the new target after a scale-in lowers the desired capacity (max 3: desired 3 → 1, pool 1 → 2)", async () => {
    const { model, pooled, settle } = await poolOf({ minSize: 1 }, 3);
    expect(pooled()).toHaveLength(1);
    model.setDesiredCapacity("g", 1);
    await settle();
    expect(pooled()).toHaveLength(2);
  });

  it("reports MaxGroupPreparedCapacity in WarmPoolConfiguration only when set", async () => {
    const set = await poolOf({ minSize: 1, maxGroupPreparedCapacity: 1, poolState: "Running" }, 1);
    expect(set.model.describeWarmPool({ AutoScalingGroupName: "g" }).WarmPoolConfiguration).toEqual({
      MinSize: 1,
      MaxGroupPreparedCapacity: 1,
      PoolState: "Running",
    });
    const unset = await poolOf({ minSize: 1 }, 1);
    expect(unset.model.describeWarmPool({ AutoScalingGroupName: "g" }).WarmPoolConfiguration).toEqual({
      MinSize: 1,
      PoolState: "Stopped",
    });
  });
});
