import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { withReferenceImages } from "../../infra/reference/image-routes.js";
import { parseConfig } from "../../shared/config/parse-config.js";
import { instance, killRunning } from "./instance.js";

/**
 * The reference deployment's images through the ECR pull-through cache, on the instance: the document
 * built from the reference config (withReferenceImages) makes compose pull LiveKit from the account's own
 * registry under the cache's prefix, after logging in to that registry.
 */
afterEach(killRunning);

const DOCKER_HUB_SECRET =
  "arn:aws:secretsmanager:eu-west-2:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
/** The account the aws stand-in's `sts get-caller-identity` answers with, in the document's region. */
const REGISTRY = "123456789012.dkr.ecr.eu-west-2.amazonaws.com";

describe("reference images through the pull-through cache", () => {
  it("pulls LiveKit from the cache in the account's registry, logged in first", async () => {
    const config = withReferenceImages(
      parseConfig({ reference: { dockerHubCredentialArn: DOCKER_HUB_SECRET } }),
    );
    const vm = instance({ app: { services: config.groups[0]?.app.services } });

    const result = await vm.run("all");

    expect(result.code).toBe(0);
    const pulls = readFileSync(join(vm.state, "pulls.log"), "utf8").trim().split("\n");
    expect(pulls).toEqual([
      `${REGISTRY}/cnt-backend:latest`,
      `${REGISTRY}/docker-hub/livekit/livekit-server:v1.8.4`,
    ]);
    const calls = vm.calls();
    const login = calls.indexOf(`docker login --username AWS --password-stdin ${REGISTRY}`);
    const pull = calls.findIndex((call) => / pull /.test(call) || call.endsWith(" pull --quiet"));
    expect(login).toBeGreaterThanOrEqual(0);
    expect(pull).toBeGreaterThan(login);
  }, 60_000);

  it("without Docker Hub credentials LiveKit still comes from Docker Hub (the honest default)", async () => {
    const config = withReferenceImages(parseConfig({ reference: {} }));
    const vm = instance({ app: { services: config.groups[0]?.app.services } });

    expect((await vm.run("all")).code).toBe(0);
    const pulls = readFileSync(join(vm.state, "pulls.log"), "utf8").trim().split("\n");
    expect(pulls).toContain("livekit/livekit-server:v1.8.4");
  }, 60_000);
});
