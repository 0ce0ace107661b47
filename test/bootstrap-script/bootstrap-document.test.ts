import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { buildDocumentContent } from "../../infra/bootstrap/document-content.js";
import { ROOT } from "../../scripts/functions.js";
import { parseConfig } from "../../shared/config/parse-config.js";
import { failedStep } from "../../shared/gate/reasons.js";

/**
 * Runs the bootstrap document's own runCommand — as SSM would, with the parameters substituted — on
 * this machine, with stand-ins for docker, dnf, apt-get, systemctl, curl and aws first on PATH
 * (test/bootstrap-script/stand-ins). Only the instance directory is moved into a temp folder.
 */

const STAND_INS = join(ROOT, "test", "bootstrap-script", "stand-ins");
const SECRETS = [
  "livekit-secret-do-not-print-91c2",
  "db-password-do-not-print-44b1",
  "ecr-password-do-not-print-7f3a",
];

interface Instance {
  readonly dir: string;
  readonly state: string;
  readonly root: string;
  run(phase?: string): Promise<RunResult>;
  calls(): string[];
  scenario(marker: string): void;
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function instance(os = "amzn"): Instance {
  const dir = mkdtempSync(join(tmpdir(), "launchgate-instance-"));
  const state = join(dir, "state");
  const root = join(dir, "opt-launchgate");
  mkdirSync(state);
  writeFileSync(join(dir, "os-release"), `ID=${os}\nVERSION_ID="2023"\n`);
  const config = parseConfig({});
  const group = config.groups[0];
  if (!group) throw new Error("default config has a group");
  const document = buildDocumentContent({
    groupName: group.name,
    region: config.region,
    app: group.app,
    executionTimeoutSeconds: 60,
  });
  const runCommand = document.mainSteps[0]?.inputs.runCommand.join("\n") ?? "";
  const env = {
    PATH: `${STAND_INS}:${process.env.PATH}`,
    STUB_STATE: state,
    LAUNCHGATE_ROOT: root,
    LAUNCHGATE_LOCK_FILE: join(dir, "launchgate.lock"),
    LAUNCHGATE_OS_RELEASE: join(dir, "os-release"),
    LAUNCHGATE_COMPOSE_PLUGIN_DIR: join(dir, "cli-plugins"),
  };
  return {
    dir,
    state,
    root,
    run: (phase = "all") =>
      new Promise((resolve) => {
        const script = runCommand
          .replaceAll("/opt/launchgate", root)
          .replaceAll("{{ phase }}", phase)
          .replaceAll("{{ trigger }}", "launch");
        const child = spawn("bash", ["-c", script], { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => {
          stdout += chunk;
        });
        child.stderr.on("data", (chunk) => {
          stderr += chunk;
        });
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      }),
    calls: () =>
      existsSync(join(state, "calls.log"))
        ? readFileSync(join(state, "calls.log"), "utf8").trim().split("\n")
        : [],
    scenario: (marker) => writeFileSync(join(state, marker), ""),
  };
}

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

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const steps = result.stdout.split("\n").filter((line) => line.startsWith("launchgate: step "));
    expect(steps).toEqual([
      "launchgate: step lock",
      "launchgate: step install-docker",
      "launchgate: step install-compose",
      "launchgate: step ecr-login",
      "launchgate: step pull-images",
      "launchgate: step write-env",
      "launchgate: step compose-up",
      "launchgate: step health-check",
    ]);
    expect(result.stdout).toContain("launchgate: http://127.0.0.1:8000/health is healthy");
    const calls = vm.calls();
    expect(calls).toContain("dnf install -y -q docker");
    expect(calls).toContain("systemctl enable --now docker");
    expect(
      calls.some((call) =>
        /^curl .*docker\/compose\/releases\/download\/v2\.29\.7\/docker-compose-linux-/.test(call),
      ),
    ).toBe(true);
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

  it("writes the secrets to a 0600 env file and never prints them", async () => {
    const result = await vm.run();

    const envFile = join(vm.root, "app.env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, "utf8")).toBe(
      "LIVEKIT_API_SECRET=livekit-secret-do-not-print-91c2\nDATABASE_URL=postgres://app:db-password-do-not-print-44b1@db/app\n",
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
    expect(result.stdout).toContain("launchgate: docker compose already installed; skipping");
    const newCalls = vm.calls().slice(before);
    expect(newCalls.filter((call) => call.startsWith("dnf ") || call.startsWith("systemctl "))).toEqual([]);
    expect(newCalls.filter((call) => call.includes("releases/download"))).toEqual([]);
  });

  it("a failing step exits non-zero and names the step last, as the gate reads it", async () => {
    vm.scenario("fail-pull");
    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n").at(-1)).toBe("launchgate: FAILED step pull-images (exit 1)");
    expect(result.stderr).toContain("pull access denied for cnt-backend");
    expect(
      failedStep({
        status: "Failed",
        statusDetails: "Failed",
        terminal: true,
        succeeded: false,
        stdout: result.stdout,
        stderr: result.stderr,
        comment: "",
      }),
    ).toBe("pull-images");
    expect(vm.calls().some((call) => call.includes(" up "))).toBe(false);
  });

  it("fails write-env when Parameter Store refuses, keeping the previous env file", async () => {
    await vm.run();
    vm.scenario("fail-ssm");
    const result = await vm.run("start");

    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n").at(-1)).toBe("launchgate: FAILED step write-env (exit 254)");
    expect(readFileSync(join(vm.root, "app.env"), "utf8")).toContain("LIVEKIT_API_SECRET=");
    // Nothing decrypted or half-written is left behind.
    expect(
      readdirSync(vm.root).filter((name) => name.startsWith(".parameters") || name.startsWith("app.env.")),
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

  it("prepare pulls without starting; start starts without pulling", async () => {
    const prepare = await vm.run("prepare");
    expect(prepare.code).toBe(0);
    expect(vm.calls().some((call) => call.includes(" pull "))).toBe(true);
    expect(vm.calls().some((call) => call.includes(" up "))).toBe(false);

    const before = vm.calls().length;
    const start = await vm.run("start");
    expect(start.code).toBe(0);
    const newCalls = vm.calls().slice(before);
    expect(newCalls.some((call) => call.includes(" up "))).toBe(true);
    expect(newCalls.some((call) => call.includes(" pull "))).toBe(false);
  });
});

describe("bootstrap document elsewhere", () => {
  it("installs with apt-get on Ubuntu", async () => {
    const ubuntu = instance("ubuntu");
    const result = await ubuntu.run();
    expect(result.code).toBe(0);
    expect(
      ubuntu.calls().some((call) => call.startsWith("apt-get install") && call.includes("docker.io")),
    ).toBe(true);
    expect(
      ubuntu.calls().some((call) => call.startsWith("apt-get install") && call.includes("docker-compose-v2")),
    ).toBe(true);
  });

  it("refuses an unsupported OS at install-docker", async () => {
    const other = instance("alpine");
    const result = await other.run();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unsupported OS 'alpine'");
    expect(result.stderr.trim().split("\n").at(-1)).toBe("launchgate: FAILED step install-docker (exit 1)");
  });

  it("refuses a phase outside the document's allowed values", async () => {
    const injected = join(vm.dir, "injected");
    const result = await vm.run(`all; touch ${injected}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--phase must be prepare, start or all");
    expect(existsSync(injected)).toBe(false);
    expect(vm.calls()).toEqual([]);
  });
});
