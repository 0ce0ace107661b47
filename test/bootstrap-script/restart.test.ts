import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { bootstrapFailed, failedStep } from "../../shared/gate/reasons.js";
import {
  asInvocation,
  type Container,
  type Instance,
  instance,
  lastLine,
  type RunResult,
  SECRETS,
  stepsOf,
} from "./instance.js";

/**
 * Real restarts (issue 10): `docker compose up -d` leaves an unchanged running container alone, hung or
 * not, so a re-bootstrap or a remediation recreates every container and proves that each one's start
 * time changed. A launch keeps plain `up`: it creates the containers.
 */

const SERVICES = ["api", "livekit"];
const RESTARTING_TRIGGERS = ["rebootstrap", "remediate"];

function expectNoSecrets(result: RunResult): void {
  for (const secret of SECRETS) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

function containerOf(vm: Instance, service: string): Container {
  const container = vm.container(service);
  if (!container) throw new Error(`no container for ${service}`);
  return container;
}

const upCalls = (calls: string[]) => calls.filter((call) => /^docker compose .* up /.test(call));

/** The shortest health check the config allows: a hung app fails it in seconds, not minutes. */
const QUICK = { app: { healthCheckTimeoutSeconds: 10 } };

let vm: Instance;
/** Each service's container as the launch left it, serving. */
let launched: Record<string, Container>;
beforeEach(async () => {
  vm = instance(QUICK);
  const launch = await vm.run();
  expect(launch.code).toBe(0);
  launched = Object.fromEntries(SERVICES.map((service) => [service, containerOf(vm, service)]));
});

describe("the docker stand-in behaves as compose does", () => {
  it("up leaves a hung container running as it was: the launch trigger's start does not fix it", async () => {
    vm.hang("api");
    const before = vm.calls().length;

    const result = await vm.run("start");

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("launchgate: http://127.0.0.1:8000/health did not answer 2xx within 10s");
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step health-check (exit 1)");
    expect(containerOf(vm, "api")).toEqual({ ...launched.api, hung: true });
    // Today's launch behaviour: plain up, no proof of a restart.
    const calls = vm.calls().slice(before);
    expect(upCalls(calls)).toHaveLength(1);
    expect(upCalls(calls)[0]).toMatch(/ up --detach --remove-orphans --quiet-pull$/);
    expect(calls.filter((call) => / ps --all --quiet$|^docker inspect /.test(call))).toEqual([]);
    expect(result.stdout).not.toMatch(/restarted|was not restarted/);
  });

  it("up recreates a container whose configuration changed (a new secret), and only then", async () => {
    vm.scenario("parameters.json", JSON.stringify([["/cnt-backend/env/LIVEKIT_API_SECRET", "rotated"]]));

    const result = await vm.run("start");

    expect(result.code).toBe(0);
    // Both services read the env file, so both changed; the ids say they are new containers.
    for (const service of SERVICES) {
      expect(containerOf(vm, service).id).not.toBe(launched[service]?.id);
    }
    // The same secret again: nothing changed, nothing is recreated.
    const recreated = containerOf(vm, "api");
    const again = await vm.run("start");
    expect(again.code).toBe(0);
    expect(containerOf(vm, "api")).toEqual(recreated);
  });
});

describe("a re-bootstrap or remediation restarts every container, and proves it", () => {
  it.each(RESTARTING_TRIGGERS.flatMap((trigger) => ["start", "all"].map((phase) => [trigger, phase])))(
    "%s %s: a hung container is recreated, and the output shows its start time changed",
    async (trigger, phase) => {
      vm.hang("api");
      const before = vm.calls().length;

      const result = await vm.run(phase, trigger);

      expect(result.code).toBe(0);
      const calls = vm.calls().slice(before);
      expect(upCalls(calls)).toHaveLength(1);
      expect(upCalls(calls)[0]).toMatch(
        /^docker compose --project-name cnt-backend --file \S+ up --detach --remove-orphans --quiet-pull --force-recreate$/,
      );
      for (const service of SERVICES) {
        const now = containerOf(vm, service);
        expect(now.hung).toBe(false);
        expect(now.startedAt).not.toBe(launched[service]?.startedAt);
        expect(result.stdout).toContain(
          `launchgate: service ${service} restarted (started ${now.startedAt}, was ${launched[service]?.startedAt})`,
        );
      }
      expect(result.stdout).toContain("launchgate: http://127.0.0.1:8000/health is healthy");
      // The proof is part of compose-up: the step list is the one the gate and the README know.
      expect(stepsOf(result).slice(-3)).toEqual(["write-env", "compose-up", "health-check"]);
      for (const line of result.stdout.trim().split("\n")) expect(line).toMatch(/^launchgate: /);
      expectNoSecrets(result);
    },
  );

  it("a docker whose --force-recreate keeps the containers fails compose-up, naming each service", async () => {
    vm.hang("api");
    vm.scenario("recreate-ignored");

    const result = await vm.run("start", "remediate");

    expect(result.code).not.toBe(0);
    const api = launched.api?.startedAt;
    const livekit = launched.livekit?.startedAt;
    const reason =
      `launchgate: service api was not restarted (started ${api}, unchanged); ` +
      `service livekit was not restarted (started ${livekit}, unchanged): ` +
      "docker compose up --force-recreate did not recreate it (see its output on stderr)";
    expect(result.stdout).toContain(reason);
    expect(result.stderr).toContain(reason);
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step compose-up (exit 1)");
    expect(stepsOf(result)).not.toContain("health-check");
    // What the gate (or the operation) reports: the step and the service.
    const invocation = asInvocation(result);
    expect(failedStep(invocation)).toBe("compose-up");
    const reported = bootstrapFailed("cmd-1", invocation);
    expect(reported).toContain('bootstrap step "compose-up" failed (command cmd-1, status Failed): ');
    expect(reported).toContain(`service api was not restarted (started ${api}, unchanged)`);
    expectNoSecrets(result);
  });

  it("a service left as it was is named alone; the others are reported restarted", async () => {
    vm.scenario("recreate-ignored", "api\n");

    const result = await vm.run("start", "remediate");

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      `launchgate: service livekit restarted (started ${containerOf(vm, "livekit").startedAt}, was ${launched.livekit?.startedAt})`,
    );
    expect(result.stdout).toContain(
      `launchgate: service api was not restarted (started ${launched.api?.startedAt}, unchanged): `,
    );
    expect(result.stdout).not.toContain("service livekit was not restarted");
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step compose-up (exit 1)");
  });

  it("an instance with no containers yet (warm pool, prepare only) starts them, saying so", async () => {
    const warm = instance(QUICK);
    expect((await warm.run("prepare")).code).toBe(0);
    expect(warm.container("api")).toBeUndefined();

    const result = await warm.run("start", "remediate");

    expect(result.code).toBe(0);
    for (const service of SERVICES) {
      expect(result.stdout).toContain(
        `launchgate: service ${service} started ${containerOf(warm, service).startedAt} (it had no container)`,
      );
    }
  });

  it("prepare with a restarting trigger touches no container", async () => {
    const before = vm.calls().length;

    const result = await vm.run("prepare", "remediate");

    expect(result.code).toBe(0);
    expect(upCalls(vm.calls().slice(before))).toEqual([]);
    expect(containerOf(vm, "api")).toEqual(launched.api);
  });

  it("runs again and again, each run restarting the containers", async () => {
    const first = await vm.run("start", "remediate");
    const afterFirst = containerOf(vm, "api");
    const second = await vm.run("start", "remediate");

    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(afterFirst.startedAt).not.toBe(launched.api?.startedAt);
    expect(containerOf(vm, "api").startedAt).not.toBe(afterFirst.startedAt);
    expect(second.stdout).toContain(`was ${afterFirst.startedAt})`);
  });

  it("two concurrent restarts are serialized by the lock, and each proves its own restart", async () => {
    vm.scenario("slow-up");
    const [first, second] = await Promise.all([vm.run("start", "remediate"), vm.run("start", "rebootstrap")]);

    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    // The launch's own up comes first.
    const marks = readFileSync(join(vm.state, "up.log"), "utf8").trim().split("\n").slice(2);
    expect(marks.map((line) => line.split(" ")[0])).toEqual(["start", "end", "start", "end"]);
    const restarted = (result: RunResult) =>
      /launchgate: service api restarted \(started (\S+), was (\S+)\)/.exec(result.stdout)?.slice(1);
    const pairs = [restarted(first), restarted(second)];
    // The run that went first saw the launch's container; the other saw the one the first one started.
    const earlier = pairs.find((pair) => pair?.[1] === launched.api?.startedAt);
    const later = pairs.find((pair) => pair !== earlier);
    expect(earlier).toBeDefined();
    expect(later?.[1]).toBe(earlier?.[0]);
    expect(later?.[0]).toBe(containerOf(vm, "api").startedAt);
  });
});
