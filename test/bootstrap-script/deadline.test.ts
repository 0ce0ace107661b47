import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { instance, killRunning, lastLine } from "./instance.js";

/**
 * SSM kills the run at the document's execution timeout (groups[].bootstrapTimeoutSeconds) without a
 * word (docs/aws-facts.md, SSM Run Command). Every wait of the script ends a margin before that, so the
 * run always says itself which step ran out of time. Here the timeout is 8 s and the margin 3 s: each
 * run has 5 s, where its own waits would take minutes (each test fails at its 20 s limit otherwise).
 */

const SHORT = { executionTimeoutSeconds: 8, env: { LAUNCHGATE_DEADLINE_MARGIN_SECONDS: "3" } };
const TEST_TIMEOUT_MS = 20_000;
/** "… within 4s (all that was left …)": the seconds left are 4 or 5, depending on when the step began. */
const LEFT = "[45]s \\(all that was left of the bootstrap document's execution timeout of 8s\\)";

const holders: number[] = [];
afterEach(() => {
  for (const pid of holders.splice(0)) process.kill(-pid, "SIGKILL");
  killRunning();
});

describe("every wait ends before the execution timeout, with the script's own FAILED line", () => {
  it(
    "the lock, held by another bootstrap for longer than this run has",
    async () => {
      const vm = instance(SHORT);
      const holder = spawn("flock", [join(vm.dir, "launchgate.lock"), "sleep", "60"], {
        stdio: "ignore",
        detached: true,
      });
      if (holder.pid) holders.push(holder.pid);
      while (!existsSync(join(vm.dir, "launchgate.lock"))) await new Promise((r) => setTimeout(r, 20));

      const started = Date.now();
      const result = await vm.run();

      expect(Date.now() - started).toBeLessThan(8_000);
      expect(result.stdout).toMatch(new RegExp(`launchgate: another bootstrap held the lock for ${LEFT}`));
      expect(lastLine(result.stdout)).toBe("launchgate: FAILED step lock (exit 1)");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a compose download that stalls: curl is time-limited and cut at the deadline",
    async () => {
      const vm = instance(SHORT);
      vm.scenario("download-stalls");

      const result = await vm.run();

      expect(result.stdout).toMatch(
        new RegExp(
          `launchgate: downloading docker compose from https://github.com/\\S+ did not finish within ${LEFT}`,
        ),
      );
      expect(lastLine(result.stdout)).toBe("launchgate: FAILED step install-compose (exit 1)");
      const download = vm.calls().find((call) => call.includes("releases/download")) ?? "";
      expect(download).toMatch(/ --connect-timeout 20 /);
      expect(download).toMatch(/ --max-time [45] /);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "an image pull that hangs",
    async () => {
      const vm = instance(SHORT);
      vm.scenario("hanging-pull");

      const result = await vm.run();

      expect(result.stdout).toMatch(
        /launchgate: docker compose pull did not finish within [1-5]s \(all that was left/,
      );
      expect(lastLine(result.stdout)).toBe("launchgate: FAILED step pull-images (exit 1)");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "cloud-init that never finishes: its wait is cut to the time left, and apt gets none",
    async () => {
      const vm = instance({
        ...SHORT,
        os: "ubuntu",
        env: { ...SHORT.env, LAUNCHGATE_CLOUD_INIT_WAIT_SECONDS: "300" },
      });
      vm.scenario("cloud-init-hangs");

      const result = await vm.run();

      expect(result.stdout).toMatch(/launchgate: waiting up to [45]s for cloud-init to finish/);
      expect(result.stdout).toContain(
        "launchgate: no time left for apt-get update: the bootstrap document's execution timeout is 8s; raise groups[].bootstrapTimeoutSeconds, or see the steps above for what was slow",
      );
      expect(lastLine(result.stdout)).toBe("launchgate: FAILED step install-docker (exit 1)");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "apt's own wait for the dpkg lock is no longer than the time left",
    async () => {
      const vm = instance({
        ...SHORT,
        os: "ubuntu",
        env: { ...SHORT.env, LAUNCHGATE_APT_LOCK_WAIT_SECONDS: "300" },
      });

      const result = await vm.run();

      expect(result.code).toBe(0);
      const apt = vm.calls().filter((call) => call.startsWith("apt-get"));
      expect(apt.length).toBeGreaterThan(0);
      for (const call of apt) expect(call).toMatch(/-o DPkg::Lock::Timeout=[1-5] /);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a snap store that never answers, on an Ubuntu AMI without the AWS CLI",
    async () => {
      const vm = instance({ ...SHORT, os: "ubuntu", without: ["aws", "cloud-init"] });
      vm.scenario("snap-store-hangs");

      const result = await vm.run();

      expect(result.stdout).toMatch(
        /launchgate: snap install aws-cli did not finish within [1-5]s \(all that was left of the bootstrap document's execution timeout of 8s\): the snap store \(api\.snapcraft\.io\) must be reachable/,
      );
      expect(lastLine(result.stdout)).toBe("launchgate: FAILED step prerequisites (exit 1)");
    },
    TEST_TIMEOUT_MS,
  );
});

describe("the deadline comes from the document", () => {
  it("settings.env carries the step's execution timeout", async () => {
    const vm = instance({ executionTimeoutSeconds: 1200 });

    const result = await vm.run("prepare");

    expect(result.code).toBe(0);
    expect(readFileSync(join(vm.root, "settings.env"), "utf8")).toContain("EXECUTION_TIMEOUT_SECONDS=1200\n");
  });
});
