import { describe, expect, it } from "vitest";
import { Random } from "../../sim/engine/random.js";
import { VirtualClock } from "../../sim/engine/virtual-clock.js";
import type { SimInstance } from "../../sim/models/auto-scaling.js";
import { Elbv2Model } from "../../sim/models/elbv2.js";
import { createContext } from "../../sim/world-context.js";

const TG = "arn:aws:elasticloadbalancing:eu-west-2:111111111111:targetgroup/tg/1";
const LB = "arn:aws:elasticloadbalancing:eu-west-2:111111111111:loadbalancer/app/lb/1";

/**
 * A load balancer with one target group (300 s interval). The seed draws what the world's stream does
 * (registrations' propagation); the phases come from streams keyed by target group, instance and
 * registration.
 */
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
    // With a 300 s interval, six targets on one shared phase would pass together (within the 8 s their
    // registrations take to become visible, or one interval apart when the phase falls inside those 8 s):
    // phases of their own spread them over the interval.
    const spread = Math.max(...(firstPasses as number[])) - Math.min(...(firstPasses as number[]));
    expect(spread).toBeGreaterThan(60_000);
  });

  it("reports a target initial until its first check, and healthy from it", () => {
    const { context, elb, instance } = model(3);
    elb.register(TG, instance("i-1"), 8000, "test");
    const first = elb.firstHealthyCheckAt(TG, "i-1", context.clock.now() + 400_000) as number;
    expect(elb.healthOf(TG, "i-1", first - 1).State).toBe("initial");
    expect(elb.healthOf(TG, "i-1", first).State).toBe("healthy");
  });

  it("draws a new phase when a target registers again, and gives a target serving from the start one", async () => {
    const { context, elb, instance } = model(5);
    const target = instance("i-1");
    elb.register(TG, target, 8000, "test");
    const firstPass = elb.firstHealthyCheckAt(TG, "i-1", context.clock.now() + 400_000) as number;
    // Out, past its deregistration delay, and in again.
    const later = async (ms: number, action: () => void) => {
      context.clock.after(ms, action);
      await context.clock.run(context.clock.now() + ms);
    };
    await later(400_000, () => elb.deregister(TG, "i-1", "test"));
    await later(301_000, () => elb.register(TG, target, 8000, "test"));
    const again = elb.firstHealthyCheckAt(TG, "i-1", context.clock.now() + 400_000) as number;
    expect(again).toBeGreaterThan(context.clock.now());
    expect(again % 300_000).not.toBe(firstPass % 300_000);
    elb.seedRegistered(TG, instance("i-2"));
    expect(elb.healthOf(TG, "i-2").State).toBe("healthy");
  });
});
