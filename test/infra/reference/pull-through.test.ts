import { beforeAll, describe, expect, it } from "vitest";
import { ECR_REGISTRY_PLACEHOLDER as ECR } from "../../../shared/config/defaults.js";
import { policyStatements, type Synthesized, synthesize } from "../synth.js";
import { readable } from "./synth-reference.js";

/**
 * The reference deployment end to end (the whole app, as `cdk synth` builds it): the images its
 * bootstrap document gives the instances come through the ECR pull-through cache the environment
 * creates, and the instance role may pull exactly those.
 */

const DOCKER_HUB_SECRET =
  "arn:aws:secretsmanager:eu-west-2:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";

/** A file the bootstrap document stages on the instance (base64 in its runCommand), decoded. */
function stagedFile(app: Synthesized, name: string): string {
  const [document] = Object.values(app.template.findResources("AWS::SSM::Document"));
  const runCommand: string[] = document?.Properties.Content.mainSteps[0].inputs.runCommand ?? [];
  const line = runCommand.find((candidate) => candidate.endsWith(`> "$run_dir/${name}"`)) ?? "";
  const payload = /^printf '%s' '([A-Za-z0-9+/=]+)'/.exec(line)?.[1];
  if (!payload) throw new Error(`the document stages no ${name}`);
  return Buffer.from(payload, "base64").toString("utf8");
}

const arn = (resource: string) => `arn:\${AWS::Partition}:ecr:eu-west-2:\${AWS::AccountId}:${resource}`;

describe("with Docker Hub credentials", () => {
  let app: Synthesized;
  beforeAll(() => {
    app = synthesize({ reference: { dockerHubCredentialArn: DOCKER_HUB_SECRET } });
  });

  it("the cache rule fronts Docker Hub under docker-hub/, with the credential", () => {
    app.template.resourceCountIs("AWS::ECR::PullThroughCacheRule", 1);
    app.template.hasResourceProperties("AWS::ECR::PullThroughCacheRule", {
      EcrRepositoryPrefix: "docker-hub",
      UpstreamRegistry: "docker-hub",
      UpstreamRegistryUrl: "registry-1.docker.io",
      CredentialArn: DOCKER_HUB_SECRET,
    });
  });

  it("the compose file pulls LiveKit through the cache, and the bootstrap logs in to ECR for it", () => {
    const compose = stagedFile(app, "compose.yaml");
    expect(compose).toContain(`image: "${ECR}/docker-hub/livekit/livekit-server:v1.8.4"`);
    expect(compose).toContain(`image: "${ECR}/cnt-backend:latest"`);
    // No image left that would go to Docker Hub directly.
    expect(compose).not.toMatch(/image: "livekit\//);
    expect(stagedFile(app, "settings.env")).toContain("USES_ECR=true\n");
  });

  it("the instance role pulls and imports exactly under the cache's prefix (and the app's own repository)", () => {
    const statements = readable(policyStatements(app.template)) as { Sid?: string }[];
    expect(statements.find((st) => st.Sid === "EcrPull")).toMatchObject({
      Resource: [arn("repository/cnt-backend"), arn("repository/docker-hub/*")],
    });
    expect(statements.find((st) => st.Sid === "EcrPullThroughCache")).toMatchObject({
      Action: ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
      Resource: arn("repository/docker-hub/*"),
    });
  });

  it("passes cdk-nag", () => {
    expect(app.nagViolations).toEqual([]);
  });
});

describe("without credentials (the default)", () => {
  it("the cache fronts ECR Public; the default LiveKit image, on Docker Hub, is pulled directly", () => {
    const app = synthesize({ reference: {} });
    app.template.hasResourceProperties("AWS::ECR::PullThroughCacheRule", {
      EcrRepositoryPrefix: "ecr-public",
      UpstreamRegistryUrl: "public.ecr.aws",
    });
    expect(stagedFile(app, "compose.yaml")).toContain('image: "livekit/livekit-server:v1.8.4"');
  });

  it("an ECR Public image of the reference group comes through the cache", () => {
    const app = synthesize({
      reference: {},
      groups: [
        {
          name: "cnt-backend-asg",
          targetGroups: ["cnt-backend-tg"],
          app: { services: [{ name: "web", image: "public.ecr.aws/nginx/nginx:1.27", ports: ["8000:80"] }] },
        },
      ],
    });
    expect(stagedFile(app, "compose.yaml")).toContain(`image: "${ECR}/ecr-public/nginx/nginx:1.27"`);
    expect(stagedFile(app, "settings.env")).toContain("USES_ECR=true\n");
  });
});
