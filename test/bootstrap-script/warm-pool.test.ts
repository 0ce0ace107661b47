import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { CNT_BACKEND_APP, ECR_REGISTRY_PLACEHOLDER } from "../../shared/config/defaults.js";
import { FAKE_COMPOSE_SHA256, type Instance, instance, lastLine, stepsOf } from "./instance.js";

/**
 * Warm pools (issue 13): an instance prepared in the pool by one version of the bootstrap document may be
 * started, days later, by the next one (the stack was updated meanwhile: a new image, a new compose
 * version, a new script). `prepare` records which document version it prepared from; a `start` that finds
 * another version, or none, prepares again before it starts — so it never starts the new compose file's
 * services from images it does not have, nor leaves the old ones in place of new tags. And a start out of
 * the pool pulls even when nothing changed in the document, but only the services whose image can move
 * (REPULL_SERVICES, decided at synth: infra/bootstrap/image-pinning.ts): a moving tag (`:latest`) may
 * have been pushed again while the instance waited, and it must run the build a cold launch runs; a pinned
 * image (a version tag, a digest) is started from the prepare's copy, its registry not asked again.
 */

/** The next version of the app: the api image moves to a new tag. */
const NEXT_APP = {
  services: CNT_BACKEND_APP.services.map((service) =>
    service.name === "api" ? { ...service, image: `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:2.0.0` } : service,
  ),
};

const pulls = (calls: string[]) => calls.filter((call) => /^docker compose .* pull /.test(call));

/** The image references the registry was asked for, in order (the docker stand-in's pulls.log). */
const pulledImages = (vm: Instance) =>
  existsSync(join(vm.state, "pulls.log"))
    ? readFileSync(join(vm.state, "pulls.log"), "utf8").trim().split("\n")
    : [];

/** The marker as the script writes it: the hash of the live script, compose file and settings. */
function documentHash(vm: Instance): string {
  const hash = createHash("sha256");
  for (const name of ["bootstrap.sh", "compose.yaml", "settings.env"])
    hash.update(readFileSync(join(vm.root, name)));
  return hash.digest("hex");
}
const marker = (vm: Instance) => readFileSync(join(vm.root, "prepared"), "utf8").trim();

let vm: Instance;
beforeEach(async () => {
  vm = instance();
  const prepare = await vm.run("prepare");
  expect(prepare.code).toBe(0);
});

describe("prepare records the document version it prepared from", () => {
  it("a prepare (and an all) writes the hash of the document's script, compose file and settings", async () => {
    expect(marker(vm)).toBe(documentHash(vm));
    const other = instance();
    expect((await other.run("all")).code).toBe(0);
    expect(marker(other)).toBe(documentHash(other));
  });

  it("a start out of the pool by the same document version installs nothing again and only re-checks the moving images", async () => {
    const before = vm.calls().length;
    const start = await vm.run("start");

    expect(start.code).toBe(0);
    const calls = vm.calls().slice(before);
    expect(calls.filter((call) => call.startsWith("dnf ") || call.includes("releases/download"))).toEqual([]);
    // One quiet pull of the one moving service (api, :latest), before up; LiveKit (v1.8.4) is pinned.
    expect(pulls(calls)).toEqual([expect.stringMatching(/ pull --quiet api$/)]);
    expect(calls.findIndex((call) => / pull /.test(call))).toBeLessThan(
      calls.findIndex((call) => / up /.test(call)),
    );
    expect(stepsOf(start).filter((step) => step === "ecr-login")).toHaveLength(1);
    expect(start.stdout).toMatch(
      /launchgate: prepared by this document version \([0-9a-f]{12}\); pulling again before going into service the services whose tag can move: api \(/,
    );
  });

  it("a re-bootstrap or remediation start pulls nothing: restarting is not deploying (phase all pulls)", async () => {
    for (const trigger of ["rebootstrap", "remediate"]) {
      const before = vm.calls().length;
      const start = await vm.run("start", trigger);

      expect(start.code).toBe(0);
      expect(pulls(vm.calls().slice(before))).toEqual([]);
      expect(stepsOf(start)).not.toContain("pull-images");
      expect(start.stdout).toMatch(
        /launchgate: prepared by this document version \([0-9a-f]{12}\); nothing to pull \(trigger \w+\)/,
      );
    }
  });
});

describe("a moving tag pushed while the instance waited in the pool", () => {
  /** The app image as compose names it on this instance (the registry interpolated). */
  const appImage = () =>
    readFileSync(join(vm.state, "pulls.log"), "utf8")
      .trim()
      .split("\n")
      .find((image) => image.endsWith("/cnt-backend:latest")) ?? "";

  it("a start out of the pool runs the build the tag names now, the same one a cold launch runs", async () => {
    expect(appImage()).not.toBe("");
    vm.push(appImage(), "build-2"); // a new :latest; the compose file (and the document) unchanged

    const start = await vm.run("start");

    expect(start.code).toBe(0);
    expect(vm.container("api")?.image).toBe("build-2");
    const cold = instance();
    cold.push(appImage(), "build-2");
    expect((await cold.run("all")).code).toBe(0);
    expect(cold.container("api")?.image).toBe(vm.container("api")?.image);
  });

  it("a pull that fails stops the start before up: it does not go into service on images it could not check", async () => {
    vm.push(appImage(), "build-2");
    vm.scenario("fail-pull");

    const start = await vm.run("start");

    expect(start.code).not.toBe(0);
    expect(start.stdout).toContain(
      "launchgate: docker compose pull failed (exit 1): cannot tell whether the cached images are the ones the compose file names now; not starting on them (see the pull's error on stderr)",
    );
    expect(lastLine(start.stdout)).toBe("launchgate: FAILED step pull-images (exit 1)");
    expect(start.stderr).toContain("pull access denied for cnt-backend");
    expect(vm.calls().some((call) => / up /.test(call))).toBe(false);
    expect(vm.container("api")).toBeUndefined();
  });
});

describe("a start out of the pool pulls again only the images that can move", () => {
  const LIVEKIT = "livekit/livekit-server:v1.8.4";
  const DIGEST = `livekit/livekit-server@sha256:${"a1".repeat(32)}`;
  /** The default app with its images replaced, by service name. */
  const withImages = (images: Record<string, string>) => ({
    services: CNT_BACKEND_APP.services.map((service) => ({
      ...service,
      image: images[service.name] ?? service.image,
    })),
  });

  it("a Docker Hub that refuses every pull (the NAT address's anonymous limit) does not fail the start: the pinned LiveKit is not pulled, the moved :latest is", async () => {
    const api = pulledImages(vm).find((image) => image.endsWith("/cnt-backend:latest")) ?? "";
    expect(pulledImages(vm)).toContain(LIVEKIT); // the prepare pulled both
    vm.push(api, "build-2"); // a new :latest while the instance waited
    vm.scenario("rate-limited", `${LIVEKIT}\n`);
    const already = pulledImages(vm).length;

    const start = await vm.run("start");

    expect(start.code).toBe(0);
    expect(pulledImages(vm).slice(already)).toEqual([api]);
    expect(vm.container("api")?.image).toBe("build-2");
    expect(vm.container("livekit")?.image).toBe("build-1"); // the prepare's copy
    expect(readFileSync(join(vm.root, "settings.env"), "utf8")).toContain("REPULL_SERVICES=api\n");
  });

  it("every moving service is pulled again, by name, and none of the pinned ones", async () => {
    const other = instance({
      app: {
        services: [
          ...withImages({}).services,
          { name: "worker", image: `${ECR_REGISTRY_PLACEHOLDER}/cnt-worker:main` },
          { name: "proxy", image: "nginx" },
          { name: "metrics", image: "prom/node-exporter:v1.8.2" },
        ],
      },
    });
    expect((await other.run("prepare")).code).toBe(0);
    other.scenario("rate-limited", `${LIVEKIT}\nprom/node-exporter:v1.8.2\n`);
    const before = other.calls().length;

    const start = await other.run("start");

    expect(start.code).toBe(0);
    expect(pulls(other.calls().slice(before))).toEqual([
      expect.stringMatching(/ pull --quiet api worker proxy$/),
    ]);
  });

  it("with every image pinned (a version tag, a digest) the start pulls nothing, and runs the prepare's copies", async () => {
    const pinned = instance({
      app: withImages({ api: `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:1.4.2`, livekit: DIGEST }),
    });
    expect((await pinned.run("prepare")).code).toBe(0);
    expect(readFileSync(join(pinned.root, "settings.env"), "utf8")).toContain("REPULL_SERVICES=\n");
    const before = pinned.calls().length;
    const already = pulledImages(pinned).length;
    pinned.scenario("fail-pull"); // any pull would fail the start

    const start = await pinned.run("start");

    expect(start.code).toBe(0);
    expect(pulls(pinned.calls().slice(before))).toEqual([]);
    expect(pulledImages(pinned).slice(already)).toEqual([]);
    expect(stepsOf(start)).not.toContain("pull-images");
    // Still logged in once before up: the cached ECR image needs no login, but a missing one would.
    expect(stepsOf(start).filter((step) => step === "ecr-login")).toHaveLength(1);
    expect(start.stdout).toMatch(
      /launchgate: prepared by this document version \([0-9a-f]{12}\); every image is pinned \(a digest or a version tag\): starting on the images the prepare pulled, nothing to pull/,
    );
    expect(pinned.container("api")?.image).toBe("build-1");
  });
});

describe("an instance prepared by an older document version is brought up to date on start", () => {
  it("a start by the next version (a new image tag) prepares again, then starts the new images", async () => {
    const next = vm.withDocument(NEXT_APP);
    const before = vm.calls().length;

    const start = await next.run("start");

    expect(start.code).toBe(0);
    const was = documentHash(vm); // now the live files are the next version's
    expect(start.stdout).toMatch(
      /launchgate: prepared by another document version \([0-9a-f]{12}, this one is [0-9a-f]{12}\): preparing again/,
    );
    // Logged in once, pulled what the new compose file names, then the start as usual.
    expect(stepsOf(start).slice(-6)).toEqual([
      "registry",
      "ecr-login",
      "pull-images",
      "write-env",
      "compose-up",
      "health-check",
    ]);
    expect(stepsOf(start).filter((step) => step === "ecr-login")).toHaveLength(1);
    const calls = vm.calls().slice(before);
    expect(pulls(calls)).toHaveLength(1);
    expect(calls.findIndex((call) => / pull /.test(call))).toBeLessThan(
      calls.findIndex((call) => / up /.test(call)),
    );
    expect(readFileSync(join(vm.root, "compose.yaml"), "utf8")).toContain("cnt-backend:2.0.0");
    expect(marker(vm)).toBe(was);

    // Prepared by that version now: its next start does not prepare again, and as every image of that
    // version is pinned (cnt-backend:2.0.0, livekit-server:v1.8.4) it pulls nothing.
    const again = vm.calls().length;
    const second = await next.run("start");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("launchgate: prepared by this document version");
    expect(second.stdout).toContain("every image is pinned");
    expect(pulls(vm.calls().slice(again))).toHaveLength(0);
  });

  it("an instance with no marker (prepared by a launchgate before it, or never) prepares again on start", async () => {
    rmSync(join(vm.root, "prepared"));
    const before = vm.calls().length;

    const start = await vm.run("start");

    expect(start.code).toBe(0);
    expect(start.stdout).toContain("launchgate: no prepare of this document version on record");
    expect(pulls(vm.calls().slice(before))).toHaveLength(1);
    expect(marker(vm)).toBe(documentHash(vm));
  });

  it("a pull that fails keeps the old marker: the start fails at pull-images, and the next start pulls again", async () => {
    const old = marker(vm);
    vm.scenario("fail-pull");

    const start = await vm.withDocument(NEXT_APP).run("start");

    expect(start.code).not.toBe(0);
    expect(lastLine(start.stdout)).toBe("launchgate: FAILED step pull-images (exit 1)");
    expect(vm.calls().some((call) => / up /.test(call))).toBe(false);
    expect(marker(vm)).toBe(old);
    expect(existsSync(join(vm.root, ".prepared.new"))).toBe(false);

    rmSync(join(vm.state, "fail-pull"));
    const before = vm.calls().length;
    expect((await vm.withDocument(NEXT_APP).run("start")).code).toBe(0);
    expect(pulls(vm.calls().slice(before))).toHaveLength(1);
  });
});

describe("a new compose version in the next document reaches an instance that has compose", () => {
  /** The next document configures compose v2.30.0 (its checksum pinned, as synth requires). */
  const NEXT_COMPOSE = {
    composeVersion: "v2.30.0",
    composeSha256: { x86_64: FAKE_COMPOSE_SHA256, aarch64: FAKE_COMPOSE_SHA256 },
  };
  const downloads = (calls: string[]) => calls.filter((call) => call.includes("releases/download"));
  const composeVersion = () => readFileSync(join(vm.state, "compose-version"), "utf8").trim();

  it("a start by the next version installs the configured compose in place of the one prepared, once", async () => {
    expect(composeVersion()).toBe("v2.29.7"); // what the pool's prepare installed
    const next = vm.withDocument(NEXT_COMPOSE);
    const before = vm.calls().length;

    const start = await next.run("start");

    expect(start.code).toBe(0);
    expect(start.stdout).toContain(
      "launchgate: docker compose 2.29.7 is installed, v2.30.0 is configured: installing v2.30.0",
    );
    expect(start.stdout).toContain("launchgate: docker compose v2.30.0 (x86_64) installed, SHA-256 verified");
    expect(downloads(vm.calls().slice(before))).toEqual([
      expect.stringMatching(/\/releases\/download\/v2\.30\.0\/docker-compose-linux-x86_64$/),
    ]);
    expect(composeVersion()).toBe("v2.30.0");
    // The install comes before anything that runs compose for the app.
    const calls = vm.calls().slice(before);
    expect(calls.findIndex((call) => call.includes("releases/download"))).toBeLessThan(
      calls.findIndex((call) => / pull /.test(call)),
    );

    // Idempotent: the configured version is there now, and is not downloaded again.
    const again = vm.calls().length;
    const second = await next.run("start");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("launchgate: docker compose v2.30.0 already installed; skipping");
    expect(downloads(vm.calls().slice(again))).toEqual([]);
  });

  it("fails install-compose, naming the cause, when another plugin still answers with its own version", async () => {
    vm.scenario("compose-shadowed", "v2.29.7");

    const start = await vm.withDocument(NEXT_COMPOSE).run("start");

    expect(start.code).not.toBe(0);
    expect(start.stdout).toContain(
      "launchgate: docker compose reports 2.29.7 after v2.30.0 was installed into",
    );
    expect(lastLine(start.stdout)).toBe("launchgate: FAILED step install-compose (exit 1)");
    expect(vm.calls().some((call) => / up /.test(call))).toBe(false);
  });
});
