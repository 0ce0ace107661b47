import type { ServiceConfig } from "../../shared/config/schema.js";

/**
 * Which images a start out of the warm pool pulls again (bootstrap/bootstrap.sh, prepare_if_outdated).
 * The prepare pulled every image; in the pool, a moving tag (`:latest`) may have been pushed again
 * without any change to the document, so the start re-pulls the services whose reference can move, and
 * only those: a pinned image is started from the copy the prepare pulled, and its registry (Docker Hub,
 * whose anonymous pull limit every instance behind one NAT address shares, and which counts a manifest
 * check as a pull; docs/aws-facts.md, instance bootstrap) is not asked again.
 *
 * The rule, decided here at synth time so that the script only reads a list:
 * - pinned by digest (`…@sha256:<64 hex>`), whatever its tag: pinned;
 * - a tag that looks like a version (`versionTag`): taken as pinned;
 * - no tag (which means `latest`), `latest`, or any other tag (`main`, `stable`, `prod`, `7`, a git
 *   hash): moving. When in doubt, moving: a wrong "moving" costs a pull, a wrong "pinned" a stale start.
 */

/**
 * A tag taken as a version: an optional `v`, at least two dot-separated numbers (`1.27`, `v1.8.4`,
 * `2024.05.01`), and optionally a `-` suffix of letters and digits in parts joined by `.`, `_` or `-`
 * (`1.8.4-alpine`, `1.27.0-alpine3.20`, `v2.0.0-rc.1`). A single number (`7`, `v2`, `20240501`) is not:
 * such tags conventionally move with every minor release. Nor is a suffix with a part that names a
 * channel rather than a build (`1.2-latest`, `2.0-nightly`, `1.0-SNAPSHOT`; see MOVING_WORDS).
 */
const VERSION_TAG = /^v?\d+(?:\.\d+)+(?:-([A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*))?$/;

/** Suffix parts that name a channel that moves: a version tag carrying one is treated as moving. */
const MOVING_WORDS = new Set([
  "latest",
  "nightly",
  "edge",
  "snapshot",
  "dev",
  "develop",
  "main",
  "master",
  "canary",
  "stable",
  "rolling",
]);

/** Whether a tag looks like a version (see VERSION_TAG); `undefined` (no tag) is `latest`, not one. */
export function versionTag(tag: string | undefined): boolean {
  if (tag === undefined) return false;
  const match = VERSION_TAG.exec(tag);
  if (!match) return false;
  const suffix = match[1];
  return suffix === undefined || !suffix.split(/[._-]/).some((part) => MOVING_WORDS.has(part.toLowerCase()));
}

/**
 * The tag and digest of an image reference, as docker reads them: the digest follows `@`; the tag follows
 * the last `:` of the last path part, so a registry's port (`host:5000/app`) is not a tag. The
 * `${ECR_REGISTRY}/` placeholder is a path part like any other.
 */
export function tagAndDigest(image: string): { tag: string | undefined; digest: string | undefined } {
  const at = image.indexOf("@");
  const name = at === -1 ? image : image.slice(0, at);
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const last = name.slice(name.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  return { tag: colon === -1 ? undefined : last.slice(colon + 1), digest };
}

/** Whether the image a reference names can change without the reference changing (see the rule above). */
export function movingImage(image: string): boolean {
  const { tag, digest } = tagAndDigest(image);
  if (digest !== undefined && digest !== "") return false;
  return !versionTag(tag);
}

/** A compose service name as the config schema allows it: one shell word, nothing to quote. */
const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * The names of the services a start out of the warm pool pulls again, in config order: those whose image
 * is moving. Written to settings.env as REPULL_SERVICES, one space between names; empty when every image
 * is pinned, and the warm start then pulls nothing.
 */
export function repullServices(services: readonly Pick<ServiceConfig, "name" | "image">[]): string[] {
  return services
    .filter((service) => movingImage(service.image))
    .map((service) => {
      // The schema allows nothing else; checked again because the script splits the list on spaces.
      if (!SERVICE_NAME.test(service.name)) {
        throw new Error(`service name ${JSON.stringify(service.name)} is not a compose service name`);
      }
      return service.name;
    });
}
