import { spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bootstrapExecutionTimedOut } from "../../shared/gate/reasons.js";
import { asInvocation, type Instance, instance, killRunning, SECRETS } from "./instance.js";

/**
 * SSM ends a run that outlives the document's execution timeout with SIGKILL to its whole process group
 * (docs/aws-facts.md, SSM Run Command): no trap runs. Whatever such a run had on disk must hold no
 * secret, and the next run (under the lock) removes what it left.
 */

async function until(what: string, ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function filesHoldingSecrets(vm: Instance): string[] {
  return vm
    .everyFile()
    .filter(({ content }) => SECRETS.some((secret) => content.includes(secret)))
    .map(({ path }) => path.slice(vm.dir.length));
}

afterEach(killRunning);

describe("a run SSM kills leaves no secret behind", () => {
  it("killed while the decrypted listing is read: nothing on disk holds a secret", async () => {
    const vm = instance();
    vm.scenario("ssm-stalls"); // the CLI has printed the secrets, then hangs
    const run = vm.start();
    await until("the listing", () => existsSync(join(vm.state, "ssm-listed")));

    run.kill();
    const result = await run.result;
    expect(result.code).toBeNull();

    // The listing went through a pipe, never to a file; the env file being written was still empty.
    expect(filesHoldingSecrets(vm)).toEqual([]);
    // No FAILED line: the gate names the step the script had announced.
    expect(result.stdout).not.toContain("FAILED");
    const invocation = { ...asInvocation(result, "TimedOut"), statusDetails: "ExecutionTimedOut" };
    expect(bootstrapExecutionTimedOut("cmd-1", 1200, invocation)).toMatch(
      /^bootstrap command cmd-1 hit the document's execution timeout of 1200 s during step "write-env": /,
    );
  });

  it("the next run removes the killed run's directory and the temp files of earlier versions", async () => {
    const vm = instance();
    vm.scenario("ssm-stalls");
    const killed = vm.start();
    await until("the listing", () => existsSync(join(vm.state, "ssm-listed")));
    killed.kill();
    await killed.result;
    expect(readdirSync(join(vm.root, "runs"))).toHaveLength(1); // its directory, with its env temp file
    // What a run of the previous version, killed the same way, left in the instance directory.
    writeFileSync(join(vm.root, ".parameters.Ab12Cd"), JSON.stringify([["/cnt-backend/env/K", SECRETS[0]]]));
    writeFileSync(join(vm.root, "app.env.Ef34Gh"), `K='${SECRETS[1]}'\n`);

    rmSync(join(vm.state, "ssm-stalls"));
    const next = await vm.run();

    expect(next.code).toBe(0);
    expect(readdirSync(join(vm.root, "runs"))).toEqual([]);
    expect(vm.files().sort()).toEqual([
      "app.env",
      "bootstrap.sh",
      "compose.yaml",
      "prepared", // the document version this instance was prepared by (see warm-pool.test.ts)
      "runs",
      "settings.env",
      "write-env.py",
    ]);
    expect(filesHoldingSecrets(vm)).toEqual(["/opt-launchgate/app.env"]);
  });

  it("a run killed mid-download leaves nothing in the plugin directory; the next one installs", async () => {
    const vm = instance();
    vm.scenario("download-stalls");
    const killed = vm.start();
    await until("the download", () => vm.calls().some((call) => call.includes("releases/download")));
    await new Promise((resolve) => setTimeout(resolve, 200)); // the first half is written

    killed.kill();
    await killed.result;
    const plugins = join(vm.dir, "cli-plugins");
    expect(existsSync(plugins) ? readdirSync(plugins) : []).toEqual([]);

    rmSync(join(vm.state, "download-stalls"));
    const next = await vm.run();
    expect(next.code).toBe(0);
    expect(readdirSync(plugins)).toEqual(["docker-compose"]);
  });

  it("a run waiting for the lock keeps its directory while the lock holder sweeps", async () => {
    const vm = instance();
    // Another bootstrap holds the lock until both runs are waiting for it, each in its own directory.
    const holder = spawn("flock", [join(vm.dir, "launchgate.lock"), "sleep", "30"], {
      stdio: "ignore",
      detached: true,
    });
    await until("the lock holder", () => existsSync(join(vm.dir, "launchgate.lock")));
    const runs = [vm.run(), vm.run()];
    const runsDir = join(vm.root, "runs");
    await until(
      "two waiting runs",
      () =>
        existsSync(runsDir) &&
        readdirSync(runsDir).filter((run) => existsSync(join(runsDir, run, ".alive"))).length === 2,
    );

    if (holder.pid) process.kill(-holder.pid, "SIGKILL"); // flock and its sleep
    const [first, second] = await Promise.all(runs);

    expect(first?.code).toBe(0);
    expect(second?.code).toBe(0);
    expect(readdirSync(runsDir)).toEqual([]);
  });
});
