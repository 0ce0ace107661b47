import { describe, expect, it } from "vitest";
import { Random } from "../../sim/engine/random.js";
import { VirtualClock } from "../../sim/engine/virtual-clock.js";
import type { SimInstance } from "../../sim/models/auto-scaling.js";
import { Elbv2Model } from "../../sim/models/elbv2.js";
import { createContext } from "../../sim/world-context.js";

const TG = "arn:aws:elasticloadbalancing:eu-west-2:111111111111:targetgroup/tg/1";
const LB = "arn:aws:elasticloadbalancing:eu-west-2:111111111111:loadbalancer/app/lb/1";

function model(seed: number) {
  const context = createContext(new VirtualClock(Date.UTC(2026, 0, 1)), new Random(seed));
  const elb = new Elbv2Model(context, () => true);
  elb.addLoadBalancer({ arn: LB, name: "lb", zones: ["eu-west-2a"] });
  elb.addTargetGroup({
    arn: TG,
    name: "tg",
    port: 8000,
    intervalSeconds: 300,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
    loadBalancerArns: [LB],
    deregistrationDelaySeconds: 300,
  });
  const instance = (id: string) =>
    ({ id, state: "Pending:Wait", behaviour: { zone: "eu-west-2a" } }) as SimInstance;
  return { context, elb, instance };
}

describe("simulated target health checks", () => {
  it("checks each target on a schedule of its own: targets registered together pass at different moments", () => {
    const { context, elb, instance } = model(7);
    const registeredAt = context.clock.now();
    const ids = ["i-1", "i-2", "i-3", "i-4", "i-5", "i-6"];
    for (const id of ids) elb.register(TG, instance(id), 8000, "test");
    const until = registeredAt + 700_000;
    const firstPasses = ids.map((id) => elb.firstHealthyCheckAt(TG, id, until));
    for (const at of firstPasses) {
      // One pass makes a new target healthy: within one interval of its registration becoming visible.
      expect(at).toBeGreaterThan(registeredAt);
      expect(at).toBeLessThanOrEqual(registeredAt + 10_000 + 300_000);
    }
    // With a 300 s interval, six targets on one shared phase would all pass within the 8 s their
    // registrations take to become visible; drawn phases of their own spread them over the interval.
    const spread = Math.max(...(firstPasses as number[])) - Math.min(...(firstPasses as number[]));
    expect(spread).toBeGreaterThan(60_000);
  });

  it("reports a target initial until its first check, and healthy from it", () => {
    const { context, elb, instance } = model(3);
    elb.register(TG, instance("i-1"), 8000, "test");
    const first = elb.firstHealthyCheckAt(TG, "i-1", context.clock.now() + 400_000) as number;
    expect(elb.healthOf(TG, "i-1", first - 1).State).not.toBe("healthy");
    expect(elb.healthOf(TG, "i-1", first).State).toBe("healthy");
  });
});
