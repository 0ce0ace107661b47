import { describe, expect, it } from "vitest";
import { COMMAND_OPTIONS } from "../../cli/args.js";
import { type CommandName, GLOBAL_USAGE, usageOf } from "../../cli/usage.js";
import { awsCalls, runCli } from "./cli-harness.js";

const COMMANDS: readonly CommandName[] = ["status", "rebootstrap", "doctor"];

describe("launchgate help", () => {
  it.each([[[]], [["--help"]], [["-h"]], [["help"]]])(
    "launchgate %j prints the global usage",
    async (argv) => {
      const { code, stdout, stderr, context, mocks } = await runCli(argv);
      expect(code).toBe(0);
      expect(stdout).toEqual([GLOBAL_USAGE]);
      expect(stderr).toEqual([]);
      expect(context).not.toHaveBeenCalled();
      expect(awsCalls(mocks)).toEqual([]);
    },
  );

  describe.each(COMMANDS)("%s", (command) => {
    it.each([[[command, "--help"]], [[command, "-h"]], [["help", command]], [["--help", command]]])(
      "launchgate %j prints the command's own usage, and touches nothing",
      async (argv) => {
        const { code, stdout, stderr, context } = await runCli(argv);
        expect(code).toBe(0);
        expect(stdout).toEqual([usageOf(command)]);
        expect(stdout[0]).toMatch(new RegExp(`^usage: launchgate ${command} `));
        expect(stdout[0]).not.toBe(GLOBAL_USAGE);
        expect(stderr).toEqual([]);
        expect(context).not.toHaveBeenCalled();
      },
    );

    it("has arguments or options, examples and exit codes", () => {
      const usage = usageOf(command);
      for (const section of ["options:", "examples:", "exit codes:"])
        expect(usage).toContain(`\n${section}\n`);
      expect(usage).toMatch(/\n {2}0 {2}\S/);
      expect(usage).toMatch(/\n {2}2 {2}usage error/);
    });

    it("documents every option the command accepts, and no other", () => {
      const usage = usageOf(command);
      const accepted = Object.keys(COMMAND_OPTIONS[command]);
      for (const option of accepted) expect(usage).toContain(`--${option}`);
      const documented = new Set([...usage.matchAll(/--([a-z][a-z-]*)/g)].map((match) => match[1]));
      expect([...documented].filter((option) => !accepted.includes(option ?? ""))).toEqual([]);
    });
  });

  it("help wins over everything else on the line, even an invalid instance id", async () => {
    const { code, stdout, context } = await runCli(["rebootstrap", "i-NOPE", "--colour", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toEqual([usageOf("rebootstrap")]);
    expect(context).not.toHaveBeenCalled();
  });

  it("doctor's usage gives its exit codes: 1 for a failed check, 3 for a check that did not run", () => {
    const usage = usageOf("doctor");
    expect(usage).toContain("  1  a check failed");
    expect(usage).toContain("  3  none failed, but a check could not run");
    expect(usage).toContain("--allow-unchecked    count a check that could not run as a warning");
    expect(GLOBAL_USAGE).toContain("  3  doctor only: a check could not run");
  });

  it("help for something that is not a command is a usage error, exit 2", async () => {
    const { code, stdout, stderr } = await runCli(["help", "deploy"]);
    expect(code).toBe(2);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([`launchgate: no help for "deploy": it is not a command\n\n${GLOBAL_USAGE}`]);
  });

  it("an unknown command is a usage error with the global usage, exit 2", async () => {
    const { code, stderr, context } = await runCli(["stauts"]);
    expect(code).toBe(2);
    expect(stderr).toEqual([`launchgate: unknown command "stauts"\n\n${GLOBAL_USAGE}`]);
    expect(context).not.toHaveBeenCalled();
  });

  it("an option without a command is a usage error, exit 2", async () => {
    const { code, stderr } = await runCli(["--json"]);
    expect(code).toBe(2);
    expect(stderr).toEqual([`launchgate: --json needs a command\n\n${GLOBAL_USAGE}`]);
  });
});
