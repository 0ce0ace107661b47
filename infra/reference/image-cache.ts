import * as ecr from "aws-cdk-lib/aws-ecr";
import { Construct } from "constructs";
import { imageCacheRoute } from "./image-routes.js";

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
 * directly. The reference group's images from the rule's upstream are named through it in the bootstrap
 * document (`withReferenceImages`, image-routes.ts). The repositories the cache creates are not part of
 * the stack: they outlive it.
 */
export class ReferenceImageCache extends Construct {
  /** Repositories of cached images are named `<repositoryPrefix>/…`. */
  readonly repositoryPrefix: string;
  readonly upstreamRegistryUrl: string;

  constructor(scope: Construct, id: string, props: ReferenceImageCacheProps) {
    super(scope, id);
    const route = imageCacheRoute(props);
    this.repositoryPrefix = route.repositoryPrefix;
    this.upstreamRegistryUrl = route.upstreamRegistryUrl;
    new ecr.CfnPullThroughCacheRule(this, "Rule", {
      ecrRepositoryPrefix: route.repositoryPrefix,
      upstreamRegistry: route.repositoryPrefix,
      upstreamRegistryUrl: route.upstreamRegistryUrl,
      credentialArn: props.dockerHubCredentialArn,
    });
  }
}
