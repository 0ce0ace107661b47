import { ECR_REGISTRY_PLACEHOLDER } from "../../shared/config/defaults.js";
import type { LaunchgateConfig, ReferenceConfig } from "../../shared/config/schema.js";

/**
 * Which upstream the reference environment's ECR pull-through cache fronts, and how an image is named
 * to come through it. Pure functions of the config, like gate-config.ts: the bootstrap document (built
 * by LaunchGate from the config) and the cache rule (built by ReferenceImageCache) must agree.
 */

export interface ImageCacheRoute {
  /** The cache rule's repository prefix: cached repositories are `<prefix>/<upstream path>`. */
  readonly repositoryPrefix: "docker-hub" | "ecr-public";
  readonly upstreamRegistryUrl: "registry-1.docker.io" | "public.ecr.aws";
}

/**
 * Docker Hub with credentials (ECR caches Docker Hub only with a Secrets Manager secret named
 * `ecr-pullthroughcache/…`); else ECR Public, which needs none. The prefixes are the ones the ECR
 * console uses by default (docs/aws-facts.md, reference environment).
 */
export function imageCacheRoute(reference: Pick<ReferenceConfig, "dockerHubCredentialArn">): ImageCacheRoute {
  return reference.dockerHubCredentialArn !== undefined
    ? { repositoryPrefix: "docker-hub", upstreamRegistryUrl: "registry-1.docker.io" }
    : { repositoryPrefix: "ecr-public", upstreamRegistryUrl: "public.ecr.aws" };
}

/** Names Docker's reference parser takes for Docker Hub when they lead an image. */
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/**
 * The image as pulled through the cache, `${ECR_REGISTRY}/<prefix>/<upstream path>[:tag][@digest]`;
 * unchanged when it does not come from the route's upstream (the account's own ECR, another registry).
 * Docker Hub's official images get their implicit `library/` namespace, which the cache requires.
 */
export function throughImageCache(image: string, route: ImageCacheRoute): string {
  const path =
    route.repositoryPrefix === "docker-hub" ? dockerHubPath(image) : pathUnder(image, "public.ecr.aws");
  return path === undefined ? image : `${ECR_REGISTRY_PLACEHOLDER}/${route.repositoryPrefix}/${path}`;
}

/**
 * The config with every image of `groups[0]` (the reference environment's group, whose instance role
 * may pull through the cache) that the cache's upstream serves named through the cache. Images the
 * config already names in ECR, and those of other registries, are kept. Unchanged without `reference`.
 */
export function withReferenceImages(config: LaunchgateConfig): LaunchgateConfig {
  const [first, ...rest] = config.groups;
  if (!config.reference || !first) return config;
  const route = imageCacheRoute(config.reference);
  const services = first.app.services.map((service) => ({
    ...service,
    image: throughImageCache(service.image, route),
  }));
  return { ...config, groups: [{ ...first, app: { ...first.app, services } }, ...rest] };
}

/**
 * The images of `groups[0]` that are pulled from Docker Hub itself, past the cache: all of its Docker Hub
 * images when the cache fronts ECR Public (no `reference.dockerHubCredentialArn`), else none. Docker Hub
 * limits anonymous pulls per address, and every private instance pulls through the one NAT address.
 */
export function dockerHubImagesPastTheCache(config: LaunchgateConfig): string[] {
  const first = config.groups[0];
  if (!config.reference || !first) return [];
  if (imageCacheRoute(config.reference).repositoryPrefix === "docker-hub") return [];
  return first.app.services
    .map((service) => service.image)
    .filter((image) => dockerHubPath(image) !== undefined);
}

/**
 * Docker's rule: the first path component names a registry when it has a `.` or a `:`, or is
 * `localhost`; otherwise the image is Docker Hub's, and a single component is an official image.
 */
function dockerHubPath(image: string): string | undefined {
  if (image.startsWith(`${ECR_REGISTRY_PLACEHOLDER}/`)) return undefined;
  const slash = image.indexOf("/");
  const first = slash === -1 ? "" : image.slice(0, slash);
  const isHost = first.includes(".") || first.includes(":") || first === "localhost";
  if (isHost && !DOCKER_HUB_HOSTS.has(first)) return undefined;
  const path = isHost ? image.slice(slash + 1) : image;
  return path.includes("/") ? path : `library/${path}`;
}

function pathUnder(image: string, host: string): string | undefined {
  return image.startsWith(`${host}/`) ? image.slice(host.length + 1) : undefined;
}
