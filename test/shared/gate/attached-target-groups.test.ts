import { describe, expect, it } from "vitest";
import { attachedTargetGroupArns } from "../../../shared/gate/attached-target-groups.js";

const WEB = "arn:aws:elasticloadbalancing:eu-west-2:123456789012:targetgroup/web-tg/0123456789abcdef";
const ADMIN = "arn:aws:elasticloadbalancing:eu-west-2:123456789012:targetgroup/admin-tg/fedcba9876543210";

describe("attachedTargetGroupArns", () => {
  it("reads target groups attached either way, once each", () => {
    expect(
      attachedTargetGroupArns({
        TargetGroupARNs: [WEB],
        TrafficSources: [
          { Identifier: WEB, Type: "elbv2" },
          { Identifier: ADMIN, Type: "elbv2" },
        ],
      }),
    ).toEqual([WEB, ADMIN]);
  });

  it("finds a target group attached only as a traffic source", () => {
    expect(attachedTargetGroupArns({ TrafficSources: [{ Identifier: ADMIN, Type: "elbv2" }] })).toEqual([
      ADMIN,
    ]);
  });

  it("ignores Classic Load Balancers and VPC Lattice target groups", () => {
    expect(
      attachedTargetGroupArns({
        TrafficSources: [
          { Identifier: "my-classic-lb", Type: "elb" },
          {
            Identifier: "arn:aws:vpc-lattice:eu-west-2:123456789012:targetgroup/tg-0123",
            Type: "vpc-lattice",
          },
        ],
      }),
    ).toEqual([]);
  });

  it("returns nothing for a group that is not there", () => {
    expect(attachedTargetGroupArns(undefined)).toEqual([]);
  });
});
