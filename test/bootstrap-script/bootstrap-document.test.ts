import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { failedStep } from "../../shared/gate/reasons.js";
import {
  asInvocation,
  type Instance,
  instance,
  lastLine,
  type RunResult,
  SECRETS,
  STAND_INS,
  stepsOf,
} from "./instance.js";

/** Amazon Linux 2023, the reference platform: the document's real script with stand-in tools. */

function expectNoSecrets(result: RunResult): void {
  for (const secret of SECRETS) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

let vm: Instance;
beforeEach(() => {
  vm = instance();
});

describe("bootstrap document on Amazon Linux 2023", () => {
  it("first run installs everything, starts the app and passes the local health check", async () => {
    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(stepsOf(result)).toEqual([
      "settings",
      "lock",
      "install-files",
      "prerequisites",
      "install-docker",
      "install-compose",
      "registry",
      "ecr-login",
      "pull-images",
      "write-env",
      "compose-up",
      "health-check",
    ]);
    expect(result.stdout).toContain("launchgate: http://127.0.0.1:8000/health is healthy");
    expect(result.stdout).toContain(
      "launchgate: docker compose v2.29.7 (x86_64) installed, SHA-256 verified",
    );
    const calls = vm.calls();
    expect(calls).toContain("dnf install -y -q docker");
    expect(calls).toContain("systemctl enable --now docker");
    expect(
      calls.some((call) =>
        /^curl .*docker\/compose\/releases\/download\/v2\.29\.7\/docker-compose-linux-x86_64$/.test(call),
      ),
    ).toBe(true);
    // Every AWS CLI call names the region: an instance has no default one configured.
    const awsCalls = calls.filter((call) => call.startsWith("aws ") && call !== "aws --version");
    expect(awsCalls.length).toBeGreaterThan(0);
    for (const call of awsCalls) expect(call).toContain("--region eu-west-2");
    expect(calls).toContain(
      "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-2.amazonaws.com",
    );
    expect(
      calls.some(
        (call) =>
          call.includes("compose --project-name cnt-backend") &&
          call.endsWith("up --detach --remove-orphans --quiet-pull"),
      ),
    ).toBe(true);
  });

  it("keeps stdout to launchgate's own lines; tool output goes to stderr", async () => {
    const result = await vm.run();

    for (const line of result.stdout.trim().split("\n")) expect(line).toMatch(/^launchgate: /);
    expect(result.stdout.length).toBeLessThan(2_000);
  });

  it("writes the secrets to a 0600 env file and never prints them", async () => {
    const result = await vm.run();

    const envFile = join(vm.root, "app.env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, "utf8")).toBe(
      "LIVEKIT_API_SECRET='livekit-secret-do-not-print-91c2'\nDATABASE_URL='postgres://app:db-password-do-not-print-44b1@db/app'\n",
    );
    expect(result.stdout).toContain("wrote 2 variables from /cnt-backend/env");
    expectNoSecrets(result);
    // The password reaches docker on stdin only, never as an argument.
    expect(vm.calls().join("\n")).not.toContain("ecr-password");
  });

  it("second run skips what is installed", async () => {
    await vm.run();
    const before = vm.calls().length;
    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("launchgate: docker already installed; skipping");
    expect(result.stdout).toContain("launchgate: docker compose v2.29.7 already installed; skipping");
    const newCalls = vm.calls().slice(before);
    expect(newCalls.filter((call) => call.startsWith("dnf ") || call.startsWith("systemctl "))).toEqual([]);
    expect(newCalls.filter((call) => call.includes("releases/download"))).toEqual([]);
  });

  it("a failing step exits non-zero and names the step last on both streams, as the gate reads it", async () => {
    vm.scenario("fail-pull");
    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step pull-images (exit 1)");
    expect(lastLine(result.stderr)).toBe("launchgate: FAILED step pull-images (exit 1)");
    expect(result.stderr).toContain("pull access denied for cnt-backend");
    expect(failedStep(asInvocation(result))).toBe("pull-images");
    expect(vm.calls().some((call) => call.includes(" up "))).toBe(false);
  });

  it("fails write-env when Parameter Store refuses, keeping the previous env file", async () => {
    await vm.run();
    vm.scenario("fail-ssm");
    const result = await vm.run("start");

    expect(result.code).not.toBe(0);
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step write-env (exit 254)");
    expect(readFileSync(join(vm.root, "app.env"), "utf8")).toContain("LIVEKIT_API_SECRET=");
    // Nothing decrypted or half-written is left behind.
    expect(
      vm.files().filter((name) => name.startsWith(".parameters") || name.startsWith("app.env.")),
    ).toEqual([]);
  });

  it("serializes two concurrent runs with the lock", async () => {
    vm.scenario("slow-up");
    const [first, second] = await Promise.all([vm.run(), vm.run()]);

    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    const marks = readFileSync(join(vm.state, "up.log"), "utf8").trim().split("\n");
    expect(marks.map((line) => line.split(" ")[0])).toEqual(["start", "end", "start", "end"]);
    const [, firstEnd, secondStart] = marks.map((line) => Number(line.split(" ")[1]));
    expect(secondStart).toBeGreaterThanOrEqual(firstEnd ?? Number.POSITIVE_INFINITY);
  });

  it("stages each command's files in its own directory and moves them into place under the lock", async () => {
    const result = await vm.run();

    expect(result.code).toBe(0);
    for (const name of ["bootstrap.sh", "write-env.py", "compose.yaml", "settings.env"]) {
      expect(existsSync(join(vm.root, name))).toBe(true);
    }
    // The staging directory is gone with its run; no half-copied file is left.
    expect(readdirSync(join(vm.root, "runs"))).toEqual([]);
    expect(vm.files().filter((name) => name.endsWith(".new"))).toEqual([]);
    const install = result.stdout.indexOf("launchgate: step install-files");
    expect(install).toBeGreaterThan(result.stdout.indexOf("launchgate: step lock"));
  });

  it("prepare pulls without starting; a re-bootstrap's start starts without pulling", async () => {
    const prepare = await vm.run("prepare");
    expect(prepare.code).toBe(0);
    expect(vm.calls().some((call) => call.includes(" pull "))).toBe(true);
    expect(vm.calls().some((call) => call.includes(" up "))).toBe(false);

    const before = vm.calls().length;
    const start = await vm.run("start", "rebootstrap");
    expect(start.code).toBe(0);
    const newCalls = vm.calls().slice(before);
    expect(newCalls.some((call) => call.includes(" up "))).toBe(true);
    expect(newCalls.some((call) => call.includes(" pull "))).toBe(false);
    // Out of the warm pool (trigger launch), a start pulls first: test/bootstrap-script/warm-pool.test.ts.
  });
});

describe("compose resolves env_file for every command, pull included (docker/compose#12081)", () => {
  it("the docker stand-in is that strict: pull fails while the env file is missing", () => {
    const compose = join(vm.dir, "compose.yaml");
    const envFile = join(vm.dir, "app.env");
    writeFileSync(compose, `services:\n  "api":\n    env_file: [${JSON.stringify(envFile)}]\n`);
    for (const marker of ["docker-installed", "docker-running", "compose-installed"]) vm.scenario(marker);
    const pull = () =>
      spawnSync(join(STAND_INS, "docker"), ["compose", "--file", compose, "pull", "--quiet"], {
        env: { ...process.env, STUB_STATE: vm.state },
        encoding: "utf8",
      });

    expect(pull().status).toBe(1);
    expect(pull().stderr).toContain(`env file ${envFile} not found`);
    writeFileSync(envFile, "");
    expect(pull().status).toBe(0);
  });

  it("a warm-pool prepare on a fresh instance pulls, with an empty 0600 env file until write-env", async () => {
    const result = await vm.run("prepare");

    expect(result.code).toBe(0);
    expect(vm.calls().some((call) => call.includes(" pull "))).toBe(true);
    const envFile = join(vm.root, "app.env");
    expect(readFileSync(envFile, "utf8")).toBe("");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
  });

  it("an env file already written is never replaced by the empty stand-in", async () => {
    await vm.run();
    const written = readFileSync(join(vm.root, "app.env"), "utf8");
    expect(written).toContain("LIVEKIT_API_SECRET=");

    const result = await vm.run("prepare");

    expect(result.code).toBe(0);
    expect(readFileSync(join(vm.root, "app.env"), "utf8")).toBe(written);
  });
});

describe("bootstrap document refuses what it cannot run", () => {
  it("refuses an unsupported OS at prerequisites, before installing anything", async () => {
    const other = instance({ os: "alpine", versionId: "3.20" });
    const result = await other.run();
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      "launchgate: unsupported OS 'alpine' 3.20: Amazon Linux 2023 and Ubuntu are supported",
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step prerequisites (exit 1)");
  });

  it.each([
    [
      "Amazon Linux 2 (ID amzn too, but no dnf)",
      { os: "amzn", versionId: "2" },
      "launchgate: Amazon Linux 2 is not supported (Amazon Linux 2 has no dnf, and its Docker and compose differ): use Amazon Linux 2023 or Ubuntu",
    ],
    [
      "Debian (no docker-compose-v2 package)",
      { os: "debian" },
      "launchgate: Debian is not supported (its archive has no docker-compose-v2 package): use Ubuntu or Amazon Linux 2023",
    ],
  ])("refuses %s at prerequisites, saying why", async (_what, os, reason) => {
    const other = instance(os);
    const result = await other.run();
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(reason);
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step prerequisites (exit 1)");
    expect(other.calls().filter((call) => /^(dnf|apt-get|snap) /.test(call))).toEqual([]);
  });

  it("refuses a phase outside the document's allowed values", async () => {
    const injected = join(vm.dir, "injected");
    const result = await vm.run(`all; touch ${injected}`);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("--phase must be prepare, start, all or drain");
    expect(existsSync(injected)).toBe(false);
    expect(vm.calls()).toEqual([]);
    expect(readdirSync(join(vm.root, "runs"))).toEqual([]);
  });
});
