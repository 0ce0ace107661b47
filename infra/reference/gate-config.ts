import { CNT_BACKEND_APP } from "../../shared/config/defaults.js";
import type { LaunchgateConfig } from "../../shared/config/schema.js";
import { REDIS_PORT, REDIS_RECORD_NAME } from "./cache.js";
import { REFERENCE_ZONE_NAME } from "./network.js";

/**
 * What the gate's side of the app must know of the reference environment, as pure functions of the
 * config: LaunchGate is built from the config, not from the ReferenceEnvironment construct.
 */

/**
 * Where the app finds the reference Redis: a fixed name in the VPC's private zone, known at synth
 * (unlike ElastiCache's generated hostname), so the bootstrap document can carry it.
 */
export const REFERENCE_REDIS_ENDPOINT = `${REDIS_RECORD_NAME}.${REFERENCE_ZONE_NAME}:${REDIS_PORT}`;

/**
 * The groups whose launch hook the reference environment puts inside the group: `groups[0]` when
 * `reference` is set. Pure, so that the gate can skip their separate hook without the construct.
 */
export function groupsWithHookInside(config: LaunchgateConfig): ReadonlySet<string> {
  const first = config.groups[0];
  return new Set(config.reference && first ? [first.name] : []);
}

/**
 * The config with `groups[0]`'s app pointed at the reference Redis (its private DNS name): the
 * `app.redisEndpoint` the bootstrap hands to containers, and every environment value that named the
 * previous endpoint (the default LiveKit config embeds it). Only while that endpoint is the built-in
 * default (the seed's own cluster, unreachable from the reference VPC): an endpoint the user chose is
 * kept. Unchanged without `reference`.
 */
export function withReferenceRedis(
  config: LaunchgateConfig,
  redisEndpoint: string = REFERENCE_REDIS_ENDPOINT,
): LaunchgateConfig {
  const [first, ...rest] = config.groups;
  if (!config.reference || !first) return config;
  const previous = first.app.redisEndpoint;
  if (previous !== CNT_BACKEND_APP.redisEndpoint) return config;
  const services = first.app.services.map((service) => ({
    ...service,
    environment: Object.fromEntries(
      Object.entries(service.environment).map(([name, value]) => [
        name,
        value.replaceAll(previous, redisEndpoint),
      ]),
    ),
  }));
  return { ...config, groups: [{ ...first, app: { ...first.app, redisEndpoint, services } }, ...rest] };
}
