import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMPOSE_SHA256 } from "../../shared/config/defaults.js";
import { bootstrapFailed, failedStep } from "../../shared/gate/reasons.js";
import {
  asInvocation,
  FAKE_COMPOSE_SHA256,
  instance,
  lastLine,
  SECRETS,
  SSM_STDERR_LIMIT,
  stepsOf,
} from "./instance.js";

/** Each failure ends at the step that failed, with a sentence that says why, as the gate reports it. */

describe("a compose download is installed only when it matches its pinned SHA-256", () => {
  it("refuses a download that does not match launchgate's pin, installing nothing", async () => {
    // No override: the real pin for v2.29.7, which the stand-in's fake binary does not match.
    const vm = instance({ app: { composeSha256: undefined } });

    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      `launchgate: docker compose v2.29.7 for x86_64 has SHA-256 ${FAKE_COMPOSE_SHA256}, not the pinned ${COMPOSE_SHA256["v2.29.7"]?.x86_64}: not installed`,
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step install-compose (exit 1)");
    const plugins = join(vm.dir, "cli-plugins");
    // Neither the binary nor the rejected download.
    expect(existsSync(plugins) ? readdirSync(plugins) : []).toEqual([]);
  });

  it("refuses to download for an architecture no checksum is pinned for", async () => {
    const vm = instance({
      arch: "aarch64",
      app: { composeVersion: "v2.30.0", composeSha256: { x86_64: FAKE_COMPOSE_SHA256 } },
    });

    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      "launchgate: no SHA-256 is pinned for docker compose v2.30.0 on aarch64: set app.composeSha256.aarch64 from the release's docker-compose-linux-aarch64.sha256",
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step install-compose (exit 1)");
    expect(vm.calls().some((call) => call.startsWith("curl") && call.includes("releases/download"))).toBe(
      false,
    );
  });

  it("downloads the aarch64 binary with its own checksum on Graviton", async () => {
    const vm = instance({ arch: "aarch64" });

    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(vm.calls().some((call) => call.endsWith("/v2.29.7/docker-compose-linux-aarch64"))).toBe(true);
  });
});

describe("the failing step survives SSM's output limits", () => {
  it("names pull-images from stdout when stderr is cut at 8,000 characters", async () => {
    const vm = instance();
    vm.scenario("noisy-pull");

    const result = await vm.run();
    const invocation = asInvocation(result);

    expect(result.stderr.length).toBeGreaterThan(SSM_STDERR_LIMIT);
    expect(invocation.stderr).not.toContain("FAILED step"); // the marker SSM dropped
    expect(failedStep(invocation)).toBe("pull-images");
    expect(
      bootstrapFailed("cmd-1", {
        ...invocation,
        instanceId: "i-1",
        outputLogGroup: "/launchgate/x/bootstrap-output",
      }),
    ).toBe(
      'bootstrap step "pull-images" failed (command cmd-1, status Failed): ' +
        // The script's own reason, from stdout: what the cut stderr no longer shows.
        "launchgate: docker compose pull failed (exit 1): cannot tell whether the cached images are the ones the compose file names now; not starting on them (see the pull's error on stderr) " +
        "[SSM kept only the first 8,000 characters of stderr; full output in CloudWatch Logs group /launchgate/x/bootstrap-output, " +
        "streams cmd-1/i-1/bootstrap/stdout and cmd-1/i-1/bootstrap/stderr]",
    );
  });
});

describe("each step names itself", () => {
  it("a registry lookup that fails is reported as registry, not as an install step", async () => {
    const vm = instance();
    vm.scenario("fail-sts");

    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step registry (exit 255)");
    expect(result.stderr).toContain("Could not connect to the endpoint URL");
  });
});

describe("prerequisites", () => {
  it("fails at prerequisites, saying what to do, when Amazon Linux has no AWS CLI", async () => {
    const vm = instance({ without: ["aws"] });

    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      "launchgate: the AWS CLI v2 is required (Parameter Store secrets, ECR login) but is not installed: add it to the AMI",
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step prerequisites (exit 1)");
    expect(stepsOf(result).at(-1)).toBe("prerequisites");
  });
});

describe("write-env refuses what compose cannot read back, naming the parameter only", () => {
  it("refuses a multi-line value and keeps the previous env file", async () => {
    const vm = instance();
    await vm.run();
    vm.scenario(
      "parameters.json",
      JSON.stringify([
        ["/cnt-backend/env/TLS_KEY", `-----BEGIN KEY-----\n${SECRETS[0]}\n-----END KEY-----`],
        ["/cnt-backend/env/OTHER", "fine"],
      ]),
    );

    const result = await vm.run("start");

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      "launchgate: cannot write " +
        join(vm.root, "app.env") +
        ": parameter /cnt-backend/env/TLS_KEY has a multi-line value, which a compose env file cannot hold",
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step write-env (exit 1)");
    expect(result.stdout + result.stderr).not.toContain(SECRETS[0]);
    expect(existsSync(join(vm.root, "app.env"))).toBe(true);
  });
});
