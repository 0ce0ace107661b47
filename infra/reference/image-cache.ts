import * as ecr from "aws-cdk-lib/aws-ecr";
import { Construct } from "constructs";

export interface ReferenceImageCacheProps {
  /** Docker Hub credentials (a secret named `ecr-pullthroughcache/…`); without them, ECR Public. */
  readonly dockerHubCredentialArn?: string;
}

/**
 * An ECR pull-through cache rule: images pulled as `${ECR_REGISTRY}/<prefix>/<upstream path>:<tag>` are
 * fetched from the upstream once, then served from the account's own registry (inside the region, off
 * the upstream's rate limits).
 *
 * ECR only caches Docker Hub with credentials, so without `reference.dockerHubCredentialArn` the rule
 * fronts ECR Public (`public.ecr.aws`, which needs none) instead, and Docker Hub images are pulled
 * directly, as before. Either way the app's images use the cache only once config names them through it,
 * e.g. `${ECR_REGISTRY}/docker-hub/livekit/livekit-server:v1.8.4`. The repositories the cache creates
 * are not part of the stack: they outlive it.
 */
export class ReferenceImageCache extends Construct {
  /** Repositories of cached images are named `<repositoryPrefix>/…`. */
  readonly repositoryPrefix: string;
  readonly upstreamRegistryUrl: string;

  constructor(scope: Construct, id: string, props: ReferenceImageCacheProps) {
    super(scope, id);
    const dockerHub = props.dockerHubCredentialArn !== undefined;
    this.repositoryPrefix = dockerHub ? "docker-hub" : "ecr-public";
    this.upstreamRegistryUrl = dockerHub ? "registry-1.docker.io" : "public.ecr.aws";
    new ecr.CfnPullThroughCacheRule(this, "Rule", {
      ecrRepositoryPrefix: this.repositoryPrefix,
      upstreamRegistry: dockerHub ? "docker-hub" : "ecr-public",
      upstreamRegistryUrl: this.upstreamRegistryUrl,
      credentialArn: props.dockerHubCredentialArn,
    });
  }
}
