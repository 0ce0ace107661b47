import { App, Stack } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import {
  addReferenceEnvironment,
  groupsWithHookInside,
  REFERENCE_REDIS_ENDPOINT,
  withReferenceRedis,
} from "../../../infra/reference/index.js";
import { ConfigError, parseConfig } from "../../../shared/config/parse-config.js";
import { synthesizeReference } from "./synth-reference.js";

const CERTIFICATE = "arn:aws:acm:eu-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555";
const DOCKER_HUB =
  "arn:aws:secretsmanager:eu-west-2:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
const KMS_KEY = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555";

describe("the reference environment", () => {
  it("is absent without `reference`: nothing is added to the stack", () => {
    const app = new App();
    const stack = new Stack(app, "Plain", { env: { region: "eu-west-2" } });
    expect(addReferenceEnvironment(stack, parseConfig({}))).toBeUndefined();
    expect(stack.node.children).toHaveLength(0);
    expect(groupsWithHookInside(parseConfig({}))).toEqual(new Set());
  });

  it("`{}` synthesizes cdk-nag clean, without context lookups (offline synth)", () => {
    const { template, nagViolations, missingContext } = synthesizeReference({ reference: {} });
    expect(nagViolations).toEqual([]);
    expect(missingContext).toEqual([]);
    template.resourceCountIs("AWS::AutoScaling::AutoScalingGroup", 1);
    template.resourceCountIs("AWS::ElasticLoadBalancingV2::LoadBalancer", 1);
    template.resourceCountIs("AWS::ElastiCache::ReplicationGroup", 1);
    // The hook lives inside the group, never as a separate resource.
    template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    // Nothing is written under the app's secrets path: every parameter there would reach the app.
    template.resourceCountIs("AWS::SSM::Parameter", 0);
  });

  it("with every option set (HTTPS, Docker Hub cache, customer managed key, an account) is still cdk-nag clean", () => {
    const { nagViolations, template } = synthesizeReference({
      account: "123456789012",
      reference: {
        certificateArn: CERTIFICATE,
        dockerHubCredentialArn: DOCKER_HUB,
        secretsKmsKeyArn: KMS_KEY,
      },
    });
    expect(nagViolations).toEqual([]);
    template.resourceCountIs("AWS::ElasticLoadBalancingV2::Listener", 2);
  });

  it("warns at synth, naming them, when Docker Hub images would be pulled past the cache (no credentials)", () => {
    const pastTheCache = (raw: unknown) =>
      Annotations.fromStack(synthesizeReference(raw).stack).findWarning(
        "*",
        Match.stringLikeRegexp("pulled from Docker Hub directly"),
      );
    const warnings = pastTheCache({ reference: {} });
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0]?.entry.data)).toContain("livekit/livekit-server");
    expect(JSON.stringify(warnings[0]?.entry.data)).not.toContain("cnt-backend");
    expect(pastTheCache({ reference: { dockerHubCredentialArn: DOCKER_HUB } })).toEqual([]);
  });

  it("caches Docker Hub through ECR when given credentials, ECR Public otherwise", () => {
    synthesizeReference({ reference: { dockerHubCredentialArn: DOCKER_HUB } }).template.hasResourceProperties(
      "AWS::ECR::PullThroughCacheRule",
      {
        EcrRepositoryPrefix: "docker-hub",
        UpstreamRegistry: "docker-hub",
        UpstreamRegistryUrl: "registry-1.docker.io",
        CredentialArn: DOCKER_HUB,
      },
    );
    const { template } = synthesizeReference();
    template.resourceCountIs("AWS::ECR::PullThroughCacheRule", 1);
    template.hasResourceProperties("AWS::ECR::PullThroughCacheRule", {
      EcrRepositoryPrefix: "ecr-public",
      UpstreamRegistryUrl: "public.ecr.aws",
    });
  });

  it("refuses a group with other than one target group, and ARNs of another region or account", () => {
    const build = (raw: unknown) => () => {
      const app = new App();
      addReferenceEnvironment(new Stack(app, "S", { env: { region: "eu-west-2" } }), parseConfig(raw));
    };
    expect(
      build({ reference: {}, groups: [{ name: "web", targetGroups: ["web-a", "web-b"] }] }),
    ).toThrowError(/groups\[0\]\.targetGroups: got \["web-a","web-b"\]; allowed: exactly one name/);
    expect(
      build({ reference: { certificateArn: CERTIFICATE.replace("eu-west-2", "us-east-1") } }),
    ).toThrowError(/reference\.certificateArn: .* allowed: an ARN in eu-west-2/);
    expect(
      build({ account: "999999999999", reference: { dockerHubCredentialArn: DOCKER_HUB } }),
    ).toThrowError(ConfigError);
  });
});

describe("what the gate must know (pure functions of the config)", () => {
  it("names groups[0] as the group whose hook is inside it", () => {
    const config = parseConfig({
      reference: {},
      groups: [
        { name: "web", targetGroups: ["web-tg"] },
        { name: "other", targetGroups: ["other-tg"] },
      ],
    });
    expect(groupsWithHookInside(config)).toEqual(new Set(["web"]));
  });

  it("points the default app at the reference Redis, LiveKit's config included; keeps a chosen endpoint", () => {
    const config = withReferenceRedis(parseConfig({ reference: {} }));
    const [group] = config.groups;
    expect(REFERENCE_REDIS_ENDPOINT).toBe("redis.launchgate.internal:6379");
    expect(group?.app.redisEndpoint).toBe(REFERENCE_REDIS_ENDPOINT);
    const livekit = group?.app.services.find((service) => service.name === "livekit");
    expect(livekit?.environment.LIVEKIT_CONFIG).toContain(
      'redis: {address: "redis.launchgate.internal:6379"}',
    );
    expect(JSON.stringify(config)).not.toContain("cnt-redis-cluster");

    const chosen = parseConfig({
      reference: {},
      groups: [{ name: "web", targetGroups: ["web-tg"], app: { redisEndpoint: "redis.example.com:6380" } }],
    });
    expect(withReferenceRedis(chosen)).toBe(chosen);
    const noReference = parseConfig({});
    expect(withReferenceRedis(noReference)).toBe(noReference);
  });
});

describe("config", () => {
  it("`reference: {}` takes the seed's defaults; without it there is no `reference`", () => {
    expect(parseConfig({ reference: {} }).reference).toEqual({
      instanceType: "t3.large",
      appPort: 8000,
      healthCheckPath: "/health",
      deregistrationDelaySeconds: 300,
    });
    expect(parseConfig({}).reference).toBeUndefined();
  });

  it("refuses a Docker Hub secret ECR cannot use, naming the rule", () => {
    expect(() =>
      parseConfig({
        reference: {
          dockerHubCredentialArn: "arn:aws:secretsmanager:eu-west-2:123456789012:secret:dockerhub-AbCdEf",
        },
      }),
    ).toThrowError(/reference\.dockerHubCredentialArn: .*whose name starts with ecr-pullthroughcache\//);
  });
});
