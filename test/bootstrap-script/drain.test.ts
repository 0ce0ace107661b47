import { afterEach, describe, expect, it } from "vitest";
import { DRAIN_COMMAND_OVERHEAD_SECONDS } from "../../infra/constructs/drain-limits.js";
import { instance, killRunning, lastLine } from "./instance.js";

/**
 * Graceful drain on scale-in (issue 13): the `drain` phase stops the app taking work (SIGTERM to its
 * containers), waits up to groups[].drain.timeoutSeconds for its sessions to end (the docker stand-in's
 * containers exit session-seconds after the signal), then stops the containers with compose down; a
 * drain that overruns its limit is cut there, the containers killed, and the command fails saying so.
 */
afterEach(killRunning);

const env = { LAUNCHGATE_DRAIN_POLL_SECONDS: "1" };

async function started(drainTimeoutSeconds: number, executionTimeoutSeconds?: number) {
  const vm = instance({ drainTimeoutSeconds, env, executionTimeoutSeconds });
  const up = await vm.run("all");
  expect(up.code).toBe(0);
  expect(vm.container("api")).toBeDefined();
  return vm;
}

describe("drain phase", () => {
  it("sessions that end before the limit: signalled, waited for, then compose down", async () => {
    const vm = await started(10);
    vm.scenario("session-seconds", "2");
    const before = vm.calls().length;
    const t0 = Date.now();

    const drain = await vm.run("drain");

    expect(drain.code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(9000);
    const calls = vm.calls().slice(before);
    const kill = calls.findIndex((call) => / kill --signal SIGTERM/.test(call));
    const down = calls.findIndex((call) => / down /.test(call) || call.endsWith(" down --remove-orphans"));
    expect(kill).toBeGreaterThanOrEqual(0);
    expect(down).toBeGreaterThan(kill);
    expect(drain.stdout).toMatch(/launchgate: step drain/);
    expect(drain.stdout).toMatch(/launchgate: the containers of project \S+ exited after \d+s/);
    expect(lastLine(drain.stdout)).toBe("launchgate: drain finished (phase drain)");
    expect(vm.container("api")).toBeUndefined();
    // No install and no lock: a drain never waits behind a bootstrap.
    expect(drain.stdout).not.toMatch(/step lock/);
  }, 30_000);

  it("switches the containers' restart policy off before the signal, so one that ends is not brought back", async () => {
    const vm = await started(10);
    vm.scenario("session-seconds", "1");
    vm.scenario("kill-restarts", "");
    const before = vm.calls().length;

    const drain = await vm.run("drain");

    expect(drain.code).toBe(0);
    const calls = vm.calls().slice(before);
    const update = calls.findIndex((call) => /^docker update --restart=no \S/.test(call));
    const kill = calls.findIndex((call) => / kill --signal SIGTERM/.test(call));
    expect(update).toBeGreaterThanOrEqual(0);
    expect(kill).toBeGreaterThan(update);
    expect(lastLine(drain.stdout)).toBe("launchgate: drain finished (phase drain)");
  }, 30_000);

  it("drains on when switching the restart policy off fails (a container gone meanwhile), saying so", async () => {
    const vm = await started(10);
    vm.scenario("session-seconds", "1");
    vm.scenario("update-fails", "");

    const drain = await vm.run("drain");

    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(/docker update --restart=no failed \(exit 1\).*draining on/);
    expect(lastLine(drain.stdout)).toBe("launchgate: drain finished (phase drain)");
  }, 30_000);

  it("a drain that overruns its limit is cut at the limit: containers killed, the command fails saying so", async () => {
    const vm = await started(3);
    vm.scenario("session-seconds", "600");
    const t0 = Date.now();

    const drain = await vm.run("drain");

    const took = Date.now() - t0;
    expect(drain.code).toBe(3);
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(10_000);
    expect(drain.stdout).toMatch(
      /launchgate: drain overran its limit of 3s: the containers still running were killed/,
    );
    expect(lastLine(drain.stdout)).toBe("launchgate: FAILED step stop-containers (exit 3)");
    expect(vm.container("api")).toBeUndefined();
  }, 30_000);

  it("a compose ps that fails is a failed drain, not an app with nothing running", async () => {
    const vm = await started(10);
    vm.scenario("fail-ps");

    const drain = await vm.run("drain");

    expect(drain.code).toBe(1);
    expect(drain.stdout).not.toMatch(/nothing to drain|drain finished/);
    expect(drain.stdout).toMatch(
      /launchgate: docker compose ps failed \(exit 1\): cannot tell whether the app's containers still run/,
    );
    expect(lastLine(drain.stdout)).toBe("launchgate: FAILED step drain (exit 1)");
  }, 30_000);

  it("an instance with no app has nothing to drain", async () => {
    const vm = instance({ drainTimeoutSeconds: 10, env });
    const drain = await vm.run("drain");
    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(/nothing to drain/);
  });

  it("a document without drain configured refuses the phase", async () => {
    const vm = instance({ env });
    const drain = await vm.run("drain");
    expect(drain.code).toBe(1);
    expect(drain.stdout).toMatch(/no DRAIN_TIMEOUT_SECONDS/);
  });
});

/**
 * Why synth refuses a drain limit that does not fit in the execution timeout with
 * DRAIN_COMMAND_OVERHEAD_SECONDS to spare (infra/constructs/drain-limits.ts): the script's own deadline
 * then ends the drain before its limit.
 */
describe("drain limit vs the execution timeout", () => {
  it("a limit synth accepts (timeout = limit + overhead) is waited in full", async () => {
    const vm = await started(3, 3 + DRAIN_COMMAND_OVERHEAD_SECONDS);
    vm.scenario("session-seconds", "600");

    const drain = await vm.run("drain");

    expect(drain.code).toBe(3);
    expect(drain.stdout).toMatch(/drain overran its limit of 3s: the containers still running were killed/);
  }, 60_000);

  it("a limit synth refuses is cut short by the execution timeout, still stopping the containers", async () => {
    // 20 s of drain under a 30 s timeout: the deadline (15 s margin) comes at 15 s, and the wait
    // ends 10 s before it, to stop the containers in time.
    expect(20 + DRAIN_COMMAND_OVERHEAD_SECONDS).toBeGreaterThan(30);
    const vm = await started(20, 30);
    vm.scenario("session-seconds", "600");
    const t0 = Date.now();

    const drain = await vm.run("drain");

    expect(drain.code).toBe(3);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(drain.stdout).toMatch(
      /drain overran its limit of [1-5]s \(all that was left of the bootstrap document's execution timeout of 30s\): the containers still running were killed/,
    );
    expect(lastLine(drain.stdout)).toBe("launchgate: FAILED step stop-containers (exit 3)");
    expect(vm.container("api")).toBeUndefined();
  }, 60_000);
});
