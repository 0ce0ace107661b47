import { describe, expect, it } from "vitest";
import { synthesizeReference } from "./synth-reference.js";

/** The load balancer's port must be one the reference group's app serves, or no instance is ever healthy. */

const group = (app: Record<string, unknown>) => [
  { name: "cnt-backend-asg", targetGroups: ["cnt-backend-tg"], app },
];

function refusal(raw: unknown): string {
  try {
    synthesizeReference(raw);
  } catch (error) {
    return (error as Error).message;
  }
  return "(synthesized)";
}

describe("reference.appPort", () => {
  it("refuses a port the default app does not serve, saying which ports it does", () => {
    expect(refusal({ reference: { appPort: 8080 } })).toContain(
      'reference.appPort: got 8080; allowed: a port groups[0].app serves on the instance (a service\'s published TCP port "8080:<container port>", or the port of app.healthCheckUrl): it serves 8000',
    );
  });

  it("does not count a UDP mapping, nor a host-networked service's unknown ports", () => {
    const udp = group({
      services: [
        { name: "media", image: "nginx:1.27", ports: ["9000:9000/udp"] },
        { name: "relay", image: "nginx:1.27", networkMode: "host" },
      ],
      healthCheckUrl: "http://127.0.0.1:8000/health",
    });
    expect(refusal({ reference: { appPort: 9000 }, groups: udp })).toMatch(/got 9000; .* it serves 8000/);
  });

  it("accepts a published TCP port, and a host-networked app's health check port", () => {
    const published = group({
      services: [{ name: "api", image: "nginx:1.27", ports: ["9000:80/tcp"] }],
      healthCheckUrl: "http://127.0.0.1:80/",
    });
    expect(refusal({ reference: { appPort: 9000 }, groups: published })).toBe("(synthesized)");
    const host = group({
      services: [{ name: "api", image: "nginx:1.27", networkMode: "host" }],
      healthCheckUrl: "http://localhost:9100/ready",
    });
    expect(refusal({ reference: { appPort: 9100 }, groups: host })).toBe("(synthesized)");
  });
});
