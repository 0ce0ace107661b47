import { describe, expect, it } from "vitest";
import { instance, lastLine, stepsOf } from "./instance.js";

/**
 * A stock Ubuntu AMI on first boot: cloud-init and then unattended-upgrades hold the dpkg lock after
 * the SSM agent is Online, and there is no AWS CLI (docs/aws-facts.md, instance bootstrap).
 */

const ubuntu = (options: Parameters<typeof instance>[0] = {}) => instance({ os: "ubuntu", ...options });
const indexOfCall = (calls: string[], prefix: string) => calls.findIndex((call) => call.startsWith(prefix));

describe("bootstrap document on a stock Ubuntu AMI", () => {
  it("waits for cloud-init before apt, installs the AWS CLI from snap, and comes up", async () => {
    const vm = ubuntu({ without: ["aws"] });
    vm.scenario("dpkg-locked", "held"); // released when cloud-init finishes

    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(stepsOf(result)).toContain("prerequisites");
    const calls = vm.calls();
    expect(indexOfCall(calls, "cloud-init status --wait")).toBeGreaterThanOrEqual(0);
    expect(indexOfCall(calls, "cloud-init status --wait")).toBeLessThan(indexOfCall(calls, "apt-get"));
    // snapd refuses to install before it has seeded (first boot): the script waits for that first.
    expect(indexOfCall(calls, "snap wait system seed.loaded")).toBeGreaterThanOrEqual(0);
    expect(indexOfCall(calls, "snap wait system seed.loaded")).toBeLessThan(
      indexOfCall(calls, "snap install aws-cli --classic"),
    );
    expect(result.stdout).toContain("launchgate: installing the AWS CLI (snap aws-cli)");
    expect(calls.some((call) => call.startsWith("aws ssm get-parameters-by-path --region eu-west-2"))).toBe(
      true,
    );
    const installs = calls.filter((call) => call.startsWith("apt-get") && call.includes(" install "));
    expect(installs.map((call) => call.split(" ").at(-1))).toEqual(["docker.io", "docker-compose-v2"]);
    for (const call of calls.filter((c) => c.startsWith("apt-get"))) {
      expect(call).toContain("-o DPkg::Lock::Timeout=30");
    }
  });

  it("retries apt-get while unattended-upgrades still holds the lock after cloud-init", async () => {
    const vm = ubuntu();
    vm.scenario("dpkg-locked", "3");

    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(
      result.stdout
        .split("\n")
        .filter((line) => line.includes("the package manager is locked by another process; retrying")),
    ).toHaveLength(3);
    expect(vm.calls().filter((call) => call.startsWith("apt-get") && call.endsWith(" update"))).toHaveLength(
      4,
    );
  });

  it("gives up at install-docker, saying so, when the lock is never released", async () => {
    const vm = ubuntu({
      without: ["cloud-init"],
      env: { LAUNCHGATE_APT_LOCK_WAIT_SECONDS: "1", LAUNCHGATE_APT_RETRY_SECONDS: "0.2" },
    });
    vm.scenario("dpkg-locked", "held");

    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      "launchgate: apt-get update: the package manager stayed locked by another process for 1s (unattended-upgrades?)",
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step install-docker (exit 1)");
  });

  it("fails at prerequisites, saying why, when the AWS CLI is missing and snap cannot install it", async () => {
    const vm = ubuntu({ without: ["aws"] });
    vm.scenario("snap-fails");

    const result = await vm.run();

    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      "launchgate: snap install aws-cli failed (exit 1): the snap store (api.snapcraft.io) must be reachable from the instance's subnet, or install the AWS CLI v2 in the AMI",
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step prerequisites (exit 1)");
    expect(vm.calls().some((call) => call.startsWith("apt-get"))).toBe(false);
  });

  it("fails at prerequisites, saying why, when snapd is still seeding after the bound", async () => {
    const vm = ubuntu({ without: ["aws"], env: { LAUNCHGATE_SNAP_WAIT_SECONDS: "1" } });
    vm.scenario("snap-seeding-forever");

    const result = await vm.run();

    expect(result.stdout).toContain(
      "launchgate: snapd was still seeding after 1s, so the AWS CLI snap cannot be installed: install the AWS CLI v2 in the AMI",
    );
    expect(lastLine(result.stdout)).toBe("launchgate: FAILED step prerequisites (exit 1)");
    expect(vm.calls()).not.toContain("snap install aws-cli --classic");
  });

  it("an AMI baked with docker.io still updates the package lists before installing compose", async () => {
    const vm = ubuntu();
    vm.scenario("docker-installed");
    vm.scenario("docker-running");

    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("launchgate: docker already installed; skipping");
    const apt = vm.calls().filter((call) => call.startsWith("apt-get"));
    expect(apt.map((call) => call.split(" ").slice(-2).join(" "))).toEqual([
      "-qq update",
      "install docker-compose-v2",
    ]);
  });

  it("keeps the archive's compose: composeVersion is the Amazon Linux download's, not the apt package's", async () => {
    const vm = ubuntu();
    for (const marker of ["docker-installed", "docker-running", "compose-installed"]) vm.scenario(marker);
    vm.scenario("compose-version", "2.24.6+ds1-0ubuntu2");

    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("launchgate: docker compose 2.24.6 already installed; skipping");
    expect(
      vm.calls().filter((call) => call.startsWith("apt-get") || call.includes("releases/download")),
    ).toEqual([]);
  });

  it("updates the package lists once, however many packages it installs", async () => {
    const vm = ubuntu();

    const result = await vm.run();

    expect(result.code).toBe(0);
    const apt = vm.calls().filter((call) => call.startsWith("apt-get"));
    expect(apt.map((call) => call.split(" ").slice(-2).join(" "))).toEqual([
      "-qq update",
      "install docker.io",
      "install docker-compose-v2",
    ]);
  });

  it("carries on after a cloud-init that reported errors (its user data is not ours to judge)", async () => {
    const vm = ubuntu();
    vm.scenario("cloud-init-exit", "1");

    const result = await vm.run();

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("launchgate: cloud-init reported an error (exit 1); continuing");
  });
});
