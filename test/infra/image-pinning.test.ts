import { describe, expect, it } from "vitest";
import { renderSettings } from "../../infra/bootstrap/document-content.js";
import {
  movingImage,
  repullServices,
  tagAndDigest,
  versionTag,
} from "../../infra/bootstrap/image-pinning.js";
import { ECR_REGISTRY_PLACEHOLDER } from "../../shared/config/defaults.js";
import { parseConfig } from "../../shared/config/parse-config.js";

/**
 * Which images a start out of the warm pool pulls again (REPULL_SERVICES in the document's settings):
 * those whose reference can move. Pinned: a digest, or a tag that looks like a version. Moving: no tag,
 * `latest`, any other tag. When in doubt, moving (a wrong "moving" costs a pull, a wrong "pinned" a stale
 * start).
 */

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("versionTag", () => {
  it.each([
    "v1.8.4",
    "1.27",
    "1.8.4-alpine",
    "2024.05.01",
    "1.27.0-alpine3.20",
    "v2.0.0-rc.1",
    "3.12.1-slim-bookworm",
    "0.1",
    "1.0.0-beta.2",
  ])("%s is a version", (tag) => {
    expect(versionTag(tag)).toBe(true);
  });

  it.each([
    ["latest", "the moving tag itself"],
    ["main", "a branch"],
    ["stable", "a channel"],
    ["prod", "an environment"],
    ["7", "a major version alone moves with every minor release"],
    ["v2", "likewise"],
    ["20240501", "a date without dots is not told from a build number"],
    ["1.", "no number after the dot"],
    [".1", "no number before the dot"],
    ["v", "no number at all"],
    ["V1.2", "only a lower-case v"],
    ["1.2.x", "a wildcard part"],
    ["1.2-latest", "a suffix naming a channel"],
    ["2.0-nightly", "likewise"],
    ["1.0-SNAPSHOT", "any case"],
    ["1.27-stable-alpine", "a channel among other parts"],
    ["1.2-", "an empty suffix"],
    ["1.2--alpine", "an empty suffix part"],
    ["a1b2c3d", "a git hash: immutable by convention only"],
    ["sha-1.2.3", "a prefix before the version"],
    ["latest-1.2", "likewise"],
    ["10.0.0_1", "the suffix must start with -"],
  ])("%s is not a version (%s)", (tag) => {
    expect(versionTag(tag)).toBe(false);
  });

  it("no tag is not a version (it means latest)", () => {
    expect(versionTag(undefined)).toBe(false);
  });
});

describe("tagAndDigest", () => {
  it("reads the tag after the last colon of the last path part, never a registry's port", () => {
    expect(tagAndDigest("nginx")).toEqual({ tag: undefined, digest: undefined });
    expect(tagAndDigest("nginx:1.27")).toEqual({ tag: "1.27", digest: undefined });
    expect(tagAndDigest("registry.example.com:5000/team/app")).toEqual({ tag: undefined, digest: undefined });
    expect(tagAndDigest("registry.example.com:5000/team/app:v3.1")).toEqual({
      tag: "v3.1",
      digest: undefined,
    });
    expect(tagAndDigest(`${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:latest`)).toEqual({
      tag: "latest",
      digest: undefined,
    });
    expect(tagAndDigest(`app:latest@${DIGEST}`)).toEqual({ tag: "latest", digest: DIGEST });
    expect(tagAndDigest(`app@${DIGEST}`)).toEqual({ tag: undefined, digest: DIGEST });
  });
});

describe("movingImage", () => {
  it.each([
    `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:latest`,
    `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend`,
    "nginx",
    "nginx:latest",
    "nginx:stable",
    "redis:7",
    "ghcr.io/org/app:main",
    "localhost:5000/app:prod",
    // The registry's port is no tag: the image has none.
    "registry.example.com:5000/app",
  ])("%s can move: pulled again on a warm start", (image) => {
    expect(movingImage(image)).toBe(true);
  });

  it.each([
    "livekit/livekit-server:v1.8.4",
    `${ECR_REGISTRY_PLACEHOLDER}/docker-hub/livekit/livekit-server:v1.8.4`,
    "nginx:1.27",
    "nginx:1.27.0-alpine",
    `nginx@${DIGEST}`,
    // A digest pins whatever the tag says.
    `nginx:latest@${DIGEST}`,
    `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:main@${DIGEST}`,
    "registry.example.com:5000/app:2024.05.01",
  ])("%s is pinned: started from the prepare's copy", (image) => {
    expect(movingImage(image)).toBe(false);
  });
});

describe("repullServices and the document's settings", () => {
  it("names the moving services in config order", () => {
    expect(
      repullServices([
        { name: "api", image: `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:latest` },
        { name: "livekit", image: "livekit/livekit-server:v1.8.4" },
        { name: "worker", image: "ghcr.io/org/worker:main" },
        { name: "db_proxy", image: `proxy@${DIGEST}` },
      ]),
    ).toEqual(["api", "worker"]);
    expect(repullServices([{ name: "livekit", image: "livekit/livekit-server:v1.8.4" }])).toEqual([]);
  });

  it("refuses a name that would not be one shell word (the schema already does)", () => {
    expect(() => repullServices([{ name: "api; rm -rf /", image: "nginx" }])).toThrow(
      /is not a compose service name/,
    );
  });

  const settingsOf = (services?: { name: string; image: string }[]) => {
    const config = parseConfig(
      services === undefined ? {} : { groups: [{ name: "g", targetGroups: ["tg"], app: { services } }] },
    );
    const app = config.groups[0]?.app;
    if (!app) throw new Error("config has a group");
    return renderSettings({ groupName: "g", region: "eu-west-2", app, executionTimeoutSeconds: 60 });
  };

  it("the default app re-pulls only api (cnt-backend:latest), not LiveKit (v1.8.4, from Docker Hub)", () => {
    expect(settingsOf()).toContain("\nREPULL_SERVICES=api\n");
  });

  it("an app whose every image is pinned has an empty list: the warm start pulls nothing", () => {
    const settings = settingsOf([
      { name: "api", image: `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:1.4.2` },
      { name: "livekit", image: `livekit/livekit-server@${DIGEST}` },
    ]);
    expect(settings).toContain("\nREPULL_SERVICES=\n");
  });

  it("several moving services are one space apart, as the script splits them", () => {
    const settings = settingsOf([
      { name: "api", image: `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend` },
      { name: "livekit", image: "livekit/livekit-server:v1.8.4" },
      { name: "web-2", image: "nginx:stable" },
    ]);
    expect(settings).toContain("\nREPULL_SERVICES=api web-2\n");
  });
});
