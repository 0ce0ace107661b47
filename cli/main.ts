import { parseArgs } from "node:util";
import { ConfigError } from "../shared/config/parse-config.js";
import type { OperationRecord } from "../shared/ops/operation.js";
import { diagnose, renderDiagnosis } from "./commands/doctor.js";
import { follow, invoke, rebootstrap } from "./commands/rebootstrap.js";
import { gatherStatus, renderStatus } from "./commands/status.js";
import {
  type CliContext,
  createClients,
  readCliConfig,
  selectGroups,
  stackOutputsReader,
} from "./context.js";
import { CliError, explainAwsError } from "./errors.js";

export const USAGE = `launchgate — operate the launch gate (uses your AWS credentials and the stack's region)

usage:
  launchgate status [GROUP] [--json]
      every instance: lifecycle state, target health per target group, gate state and reason, last command
  launchgate rebootstrap INSTANCE-ID | --group GROUP --all  [--phase start|all] [--dry-run] [--wait]
  launchgate rebootstrap --operation OPERATION-ID
      re-run the bootstrap in place, one instance at a time, each verified healthy before the next
  launchgate doctor [GROUP] [--json]
      preflight checks that explain how a gate would fail, and what to change

options:
  --config FILE   launchgate config (default: cdk.json's context, else the built-in cnt-backend default)
  --region NAME   override the config's region
  --stack NAME    override the config's stack name`;

export interface CliIo {
  readonly print: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly context?: (config: ReturnType<typeof readCliConfig>) => CliContext;
}

/** Runs the CLI; returns the exit code. Every failure is one explained line on stderr, never a stack trace. */
export async function main(
  argv: readonly string[],
  io: CliIo,
  printError: (line: string) => void,
): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof CliError) {
      printError(`launchgate: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      printError(error.message);
      return 2;
    }
    printError(`launchgate: ${explainAwsError(error)}`);
    return 1;
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  const [command, argument, ...extra] = positionals;
  if (values.help || command === undefined || command === "help") {
    io.print(USAGE);
    return 0;
  }
  if (extra.length > 0) throw new CliError(`unexpected arguments: ${extra.join(" ")}\n\n${USAGE}`, 2);
  const fileConfig = readCliConfig(values.config);
  const config = {
    ...fileConfig,
    region: values.region ?? fileConfig.region,
    stackName: values.stack ?? fileConfig.stackName,
  };
  const ctx = io.context?.(config) ?? defaultContext(config);
  const json = (value: unknown) => io.print(JSON.stringify(value, null, 2));

  switch (command) {
    case "status": {
      const groups = await gatherStatus(ctx, selectGroups(config, argument));
      if (values.json) json(groups);
      else for (const line of renderStatus(groups, ctx.now())) io.print(line);
      return 0;
    }
    case "doctor": {
      const diagnoses = await diagnose(ctx, selectGroups(config, argument));
      if (values.json) json(diagnoses);
      else for (const line of renderDiagnosis(diagnoses)) io.print(line);
      return diagnoses.some((d) => d.results.some((r) => r.status === "fail")) ? 1 : 0;
    }
    case "rebootstrap": {
      if (values.operation) {
        const { operation } = (await invoke(ctx, { operationId: values.operation })) as {
          operation: OperationRecord | null;
        };
        if (!operation) throw new CliError(`no operation ${values.operation}`);
        return follow(ctx, operation, io.print, io.sleep);
      }
      if (values.phase !== undefined && values.phase !== "start" && values.phase !== "all") {
        throw new CliError(`--phase must be start or all (got "${values.phase}")`, 2);
      }
      if (values.group) selectGroups(config, values.group);
      return rebootstrap(
        ctx,
        {
          instanceId: argument,
          group: values.group,
          all: values.all ?? false,
          phase: (values.phase as "start" | "all" | undefined) ?? "start",
          dryRun: values["dry-run"] ?? false,
          wait: values.wait ?? false,
        },
        io.print,
        io.sleep,
      );
    }
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`, 2);
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "boolean" },
      group: { type: "string" },
      all: { type: "boolean" },
      wait: { type: "boolean" },
      phase: { type: "string" },
      "dry-run": { type: "boolean" },
      operation: { type: "string" },
      config: { type: "string" },
      region: { type: "string" },
      stack: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function defaultContext(config: ReturnType<typeof readCliConfig>): CliContext {
  const clients = createClients(config.region);
  return {
    config,
    clients,
    outputs: stackOutputsReader(clients, config.stackName, config.region),
    now: Date.now,
  };
}
