import type { AppConfig, ServiceConfig } from "../../shared/config/schema.js";

/** Where the bootstrap writes the secrets env file on the instance (see bootstrap/bootstrap.sh). */
export const APP_ENV_FILE = "/opt/launchgate/app.env";

/**
 * Renders the compose project from config. Scalars are written as JSON strings, which YAML reads as
 * double-quoted scalars, so no value can change the file's structure. Compose interpolates `$` in
 * values, so literal dollars are doubled; only image names keep `${ECR_REGISTRY}` for interpolation.
 */
export function renderComposeFile(app: AppConfig): string {
  const lines = [`name: ${json(app.projectName)}`, "services:"];
  for (const service of app.services) lines.push(...renderService(service, app));
  return `${lines.join("\n")}\n`;
}

function renderService(service: ServiceConfig, app: AppConfig): string[] {
  const lines = [
    `  ${json(service.name)}:`,
    `    image: ${json(service.image)}`,
    '    restart: "unless-stopped"',
  ];
  if (service.networkMode === "host") lines.push('    network_mode: "host"');
  else if (service.ports.length > 0) lines.push(`    ports: [${service.ports.map(json).join(", ")}]`);
  const environment = { ...redisEnvironment(app.redisEndpoint), ...service.environment };
  lines.push("    environment:");
  for (const [name, value] of Object.entries(environment)) {
    lines.push(`      ${json(name)}: ${json(value.replaceAll("$", "$$$$"))}`);
  }
  if (service.useSecrets) lines.push(`    env_file: [${json(APP_ENV_FILE)}]`);
  return lines;
}

/** Socket.io's Redis adapter and LiveKit both need Redis; every container is told where it is. */
export function redisEnvironment(endpoint: string): Record<string, string> {
  const [host = "", port = "6379"] = endpoint.split(":");
  return { REDIS_URL: `redis://${endpoint}`, REDIS_HOST: host, REDIS_PORT: port };
}

function json(value: string): string {
  return JSON.stringify(value);
}
