import type { AppConfig } from "../../shared/config/schema.js";

/**
 * The reference environment's load balancer sends traffic and health checks to `reference.appPort` on
 * each instance. Unless the app serves there, no instance ever becomes healthy and every launch is
 * abandoned at the gate's deadline: refused at synth instead. The app serves on a port when a service
 * publishes it over TCP ("<port>:<container port>"), or when its local health check (which the bootstrap
 * waits for) is on that port: a host-networked service listens on the instance's own ports.
 */
export function appPortProblem(appPort: number, app: AppConfig): string | undefined {
  const published = app.services.flatMap((service) =>
    service.networkMode === "host" ? [] : service.ports.flatMap(tcpHostPort),
  );
  const health = healthPort(app.healthCheckUrl);
  if (published.includes(appPort) || health === appPort) return undefined;
  const served = [...new Set([...published, health])].sort((a, b) => a - b).join(", ");
  return `reference.appPort: got ${appPort}; allowed: a port groups[0].app serves on the instance (a service's published TCP port "${appPort}:<container port>", or the port of app.healthCheckUrl): it serves ${served}`;
}

/** The host port of a "host:container[/protocol]" mapping, when it is TCP. */
function tcpHostPort(mapping: string): number[] {
  const match = /^(\d+):\d+(?:\/(tcp|udp))?$/.exec(mapping);
  return match && match[2] !== "udp" ? [Number(match[1])] : [];
}

function healthPort(url: string): number {
  const { port } = new URL(url);
  return port === "" ? 80 : Number(port);
}
