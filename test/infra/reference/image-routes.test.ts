import { describe, expect, it } from "vitest";
import {
  dockerHubImagesPastTheCache,
  imageCacheRoute,
  throughImageCache,
  withReferenceImages,
} from "../../../infra/reference/image-routes.js";
import { ECR_REGISTRY_PLACEHOLDER as ECR } from "../../../shared/config/defaults.js";
import { parseConfig } from "../../../shared/config/parse-config.js";

const DOCKER_HUB_SECRET =
  "arn:aws:secretsmanager:eu-west-2:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
const dockerHub = imageCacheRoute({ dockerHubCredentialArn: DOCKER_HUB_SECRET });
const ecrPublic = imageCacheRoute({});

describe("images through the pull-through cache", () => {
  it("names Docker Hub images under the docker-hub prefix, official ones with library/", () => {
    expect(throughImageCache("livekit/livekit-server:v1.8.4", dockerHub)).toBe(
      `${ECR}/docker-hub/livekit/livekit-server:v1.8.4`,
    );
    expect(throughImageCache("nginx:1.27", dockerHub)).toBe(`${ECR}/docker-hub/library/nginx:1.27`);
    expect(throughImageCache("redis", dockerHub)).toBe(`${ECR}/docker-hub/library/redis`);
    expect(throughImageCache("docker.io/library/nginx:1.27", dockerHub)).toBe(
      `${ECR}/docker-hub/library/nginx:1.27`,
    );
    const digest = `@sha256:${"a".repeat(64)}`;
    expect(throughImageCache(`grafana/grafana${digest}`, dockerHub)).toBe(
      `${ECR}/docker-hub/grafana/grafana${digest}`,
    );
  });

  it("leaves images of other registries, and the account's own ECR, as they are", () => {
    for (const image of [
      `${ECR}/cnt-backend:latest`,
      "public.ecr.aws/nginx/nginx:1.27",
      "ghcr.io/org/app:1",
      "localhost/app:1",
      "registry.example.com:5000/app:1",
    ]) {
      expect(throughImageCache(image, dockerHub)).toBe(image);
    }
  });

  it("without Docker Hub credentials, routes ECR Public images and leaves Docker Hub's", () => {
    expect(ecrPublic.repositoryPrefix).toBe("ecr-public");
    expect(throughImageCache("public.ecr.aws/nginx/nginx:1.27", ecrPublic)).toBe(
      `${ECR}/ecr-public/nginx/nginx:1.27`,
    );
    expect(throughImageCache("livekit/livekit-server:v1.8.4", ecrPublic)).toBe(
      "livekit/livekit-server:v1.8.4",
    );
    expect(throughImageCache(`${ECR}/cnt-backend:latest`, ecrPublic)).toBe(`${ECR}/cnt-backend:latest`);
  });

  it("rewritten images still pass the config's own image check", () => {
    const routed = withReferenceImages(
      parseConfig({ reference: { dockerHubCredentialArn: DOCKER_HUB_SECRET } }),
    );
    expect(() => parseConfig(routed)).not.toThrow();
  });
});

describe("dockerHubImagesPastTheCache", () => {
  it("names the Docker Hub images without credentials, before and after routing; none with them or without reference", () => {
    const plain = parseConfig({ reference: {} });
    expect(dockerHubImagesPastTheCache(plain)).toEqual(["livekit/livekit-server:v1.8.4"]);
    expect(dockerHubImagesPastTheCache(withReferenceImages(plain))).toEqual([
      "livekit/livekit-server:v1.8.4",
    ]);
    const credentialed = parseConfig({ reference: { dockerHubCredentialArn: DOCKER_HUB_SECRET } });
    expect(dockerHubImagesPastTheCache(credentialed)).toEqual([]);
    expect(dockerHubImagesPastTheCache(parseConfig({}))).toEqual([]);
  });
});

describe("withReferenceImages", () => {
  it("routes groups[0]'s default LiveKit image through the cache when Docker Hub is cached", () => {
    const config = withReferenceImages(
      parseConfig({ reference: { dockerHubCredentialArn: DOCKER_HUB_SECRET } }),
    );
    expect(config.groups[0]?.app.services.map((service) => service.image)).toEqual([
      `${ECR}/cnt-backend:latest`,
      `${ECR}/docker-hub/livekit/livekit-server:v1.8.4`,
    ]);
  });

  it("keeps the default images without Docker Hub credentials (they are not on the cached upstream)", () => {
    const config = parseConfig({ reference: {} });
    expect(withReferenceImages(config).groups[0]?.app.services).toEqual(config.groups[0]?.app.services);
  });

  it("changes only groups[0], and nothing without reference", () => {
    const two = parseConfig({
      reference: { dockerHubCredentialArn: DOCKER_HUB_SECRET },
      groups: [
        { name: "a-asg", targetGroups: ["a-tg"], app: { services: [{ name: "web", image: "nginx:1.27" }] } },
        { name: "b-asg", targetGroups: ["b-tg"], app: { services: [{ name: "web", image: "nginx:1.27" }] } },
      ],
    });
    const routed = withReferenceImages(two);
    expect(routed.groups[0]?.app.services[0]?.image).toBe(`${ECR}/docker-hub/library/nginx:1.27`);
    expect(routed.groups[1]).toBe(two.groups[1]);
    const none = parseConfig({});
    expect(withReferenceImages(none)).toBe(none);
  });
});
