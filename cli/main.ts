import { ConfigError } from "../shared/config/parse-config.js";
import type { LaunchgateConfig } from "../shared/config/schema.js";
import { type ConfigOverrides, parseCommandLine } from "./args.js";
import {
  diagnose,
  doctorExitCode,
  doctorReport,
  renderDiagnosis,
  renderUnchecked,
} from "./commands/doctor.js";
import { followOperation, rebootstrap } from "./commands/rebootstrap.js";
import { gatherStatus, renderStatus } from "./commands/status.js";
import {
  type CliContext,
  createClients,
  readCliConfig,
  selectGroups,
  stackOutputsReader,
} from "./context.js";
import { CliError, EXIT, explainAwsError, UsageError } from "./errors.js";
import { usageOf } from "./usage.js";

export interface CliIo {
  readonly print: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Makes the AWS clients; tests inject mocks here, and check it is never called on a usage error. */
  readonly context?: (config: LaunchgateConfig) => CliContext;
}

/** Runs the CLI; returns the exit code. Every failure is explained on stderr, never a stack trace. */
export async function main(
  argv: readonly string[],
  io: CliIo,
  printError: (line: string) => void,
): Promise<number> {
  try {
    return await run(argv, io, printError);
  } catch (error) {
    if (error instanceof UsageError) {
      printError(`launchgate: ${error.message}\n\n${error.usage}`);
      return error.exitCode;
    }
    if (error instanceof CliError) {
      printError(`launchgate: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      printError(error.message);
      return EXIT.usage;
    }
    printError(`launchgate: ${explainAwsError(error)}`);
    return EXIT.failed;
  }
}

/**
 * Everything local comes first — the command line, the config, the group names — so that a mistake
 * there exits 2 before an AWS client exists; only then is the context (clients, stack outputs) made.
 */
async function run(argv: readonly string[], io: CliIo, printError: (line: string) => void): Promise<number> {
  const invocation = parseCommandLine(argv);
  if (invocation.command === "help") {
    io.print(usageOf(invocation.topic));
    return EXIT.ok;
  }
  const config = cliConfig(invocation.overrides);
  const connect = () => io.context?.(config) ?? defaultContext(config);
  const printJson = (value: unknown) => io.print(JSON.stringify(value, null, 2));

  switch (invocation.command) {
    case "status": {
      const groups = selectGroups(config, invocation.group);
      const ctx = connect();
      const status = await gatherStatus(ctx, groups);
      if (invocation.json) printJson(status);
      else for (const line of renderStatus(status, ctx.now())) io.print(line);
      return EXIT.ok;
    }
    case "doctor": {
      const groups = selectGroups(config, invocation.group);
      const diagnoses = await diagnose(connect(), groups);
      const { allowUnchecked } = invocation;
      if (invocation.json) printJson(doctorReport(diagnoses, allowUnchecked));
      else for (const line of renderDiagnosis(diagnoses, allowUnchecked)) io.print(line);
      for (const line of renderUnchecked(diagnoses, allowUnchecked)) printError(line);
      return doctorExitCode(diagnoses, allowUnchecked);
    }
    case "rebootstrap": {
      if (invocation.options.group !== undefined) selectGroups(config, invocation.options.group);
      return rebootstrap(connect(), invocation.options, io.print, io.sleep);
    }
    case "follow-operation":
      return followOperation(connect(), invocation.operationId, invocation.json, io.print, io.sleep);
  }
}

function cliConfig(overrides: ConfigOverrides): LaunchgateConfig {
  const fileConfig = readCliConfig(overrides.configFile);
  return {
    ...fileConfig,
    region: overrides.region ?? fileConfig.region,
    stackName: overrides.stackName ?? fileConfig.stackName,
  };
}

function defaultContext(config: LaunchgateConfig): CliContext {
  const clients = createClients(config.region);
  return {
    config,
    clients,
    outputs: stackOutputsReader(clients, config.stackName, config.region),
    now: Date.now,
  };
}
