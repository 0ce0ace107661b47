import { type ParseArgsConfig, parseArgs } from "node:util";
import { type RebootstrapOptions, rebootstrapRequest } from "./commands/rebootstrap.js";
import { CliError, EXIT, UsageError } from "./errors.js";
import { type CommandName, isCommandName, usageOf } from "./usage.js";
import {
  checkBatch,
  checkDocumentVersion,
  checkDrainSeconds,
  checkInstanceId,
  checkOperationId,
  checkRegion,
} from "./validation.js";

/**
 * Turns argv into what to run, checking everything that can be checked without AWS: the command, its
 * options (each command accepts only its own), the number of arguments, and the shape of instance ids,
 * operation ids, regions, drain waits and document versions, and options that contradict each other
 * (--surge and --force). Whatever is wrong here exits 2 before any AWS client exists.
 */

/** Where the config comes from, and what the command line overrides in it. */
export interface ConfigOverrides {
  readonly configFile?: string;
  readonly region?: string;
  readonly stackName?: string;
}

export type Invocation =
  | { readonly command: "help"; readonly topic?: CommandName }
  | {
      readonly command: "status";
      readonly group?: string;
      readonly json: boolean;
      readonly overrides: ConfigOverrides;
    }
  | {
      readonly command: "doctor";
      readonly group?: string;
      readonly json: boolean;
      readonly allowUnchecked: boolean;
      readonly overrides: ConfigOverrides;
    }
  | {
      readonly command: "rebootstrap";
      readonly options: RebootstrapOptions;
      readonly overrides: ConfigOverrides;
    }
  | {
      readonly command: "follow-operation";
      readonly operationId: string;
      readonly json: boolean;
      readonly overrides: ConfigOverrides;
    };

type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

const COMMON_OPTIONS = {
  config: { type: "string" },
  region: { type: "string" },
  stack: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

/** The options each command accepts (any other is a usage error); its usage text documents each one. */
export const COMMAND_OPTIONS = {
  status: { ...COMMON_OPTIONS, json: { type: "boolean" } },
  doctor: { ...COMMON_OPTIONS, json: { type: "boolean" }, "allow-unchecked": { type: "boolean" } },
  rebootstrap: {
    ...COMMON_OPTIONS,
    json: { type: "boolean" },
    group: { type: "string" },
    all: { type: "boolean" },
    wait: { type: "boolean" },
    phase: { type: "string" },
    "dry-run": { type: "boolean" },
    surge: { type: "boolean" },
    force: { type: "boolean" },
    "drain-seconds": { type: "string" },
    "document-version": { type: "string" },
    batch: { type: "string" },
    operation: { type: "string" },
  },
} as const satisfies Record<CommandName, OptionSpecs>;

/** Every option of every command: a first, lenient pass needs their types to tell values from arguments. */
const ANY_OPTION: OptionSpecs = Object.assign({}, ...Object.values(COMMAND_OPTIONS));

export function parseCommandLine(argv: readonly string[]): Invocation {
  const { tokens } = parseArgs({
    args: [...argv],
    options: ANY_OPTION,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const options = tokens.filter((token) => token.kind === "option");
  const positionals = tokens.flatMap((token) => (token.kind === "positional" ? [token.value] : []));
  const wantsHelp = options.some((option) => option.name === "help");
  const [command, ...rest] = positionals;

  if (command === undefined) {
    const stray = options.find((option) => option.name !== "help");
    if (stray) throw new UsageError(`${stray.rawName} needs a command`, usageOf());
    return { command: "help" };
  }
  if (command === "help") return helpTopic(rest, options);
  if (!isCommandName(command)) throw new UsageError(`unknown command "${command}"`, usageOf());
  // Asking for help wins over anything else on the line: the usage is what the operator is missing.
  if (wantsHelp) return { command: "help", topic: command };

  const usage = usageOf(command);
  const unknown = options.find((option) => !Object.hasOwn(COMMAND_OPTIONS[command], option.name));
  if (unknown) throw new UsageError(`${command} has no option ${unknown.rawName}`, usage);

  let parsed: ReturnType<typeof strictParse>;
  try {
    parsed = strictParse(argv, COMMAND_OPTIONS[command]);
  } catch (error) {
    // Node's messages for a missing or misplaced value are clear but span lines: keep them on one.
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, " "), usage);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const [, ...args] = parsed.positionals;
  if (args.length > 1)
    throw new UsageError(
      `unexpected argument${args.length > 2 ? "s" : ""}: ${args.slice(1).join(" ")}`,
      usage,
    );

  const overrides: ConfigOverrides = {
    configFile: text(values.config),
    region: values.region === undefined ? undefined : checkRegion(String(values.region)),
    stackName: text(values.stack),
  };
  const json = values.json === true;
  const argument = args[0];
  switch (command) {
    case "status":
      return { command, group: argument, json, overrides };
    case "doctor":
      return {
        command,
        group: argument,
        json,
        allowUnchecked: values["allow-unchecked"] === true,
        overrides,
      };
    case "rebootstrap":
      return rebootstrapInvocation(argument, values, json, overrides);
  }
}

function helpTopic(
  rest: readonly string[],
  options: readonly { name: string; rawName: string }[],
): Invocation {
  const stray = options.find((option) => option.name !== "help");
  if (stray) throw new UsageError(`help has no option ${stray.rawName}`, usageOf());
  const [topic, ...extra] = rest;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`, usageOf());
  if (topic === undefined) return { command: "help" };
  if (!isCommandName(topic)) throw new UsageError(`no help for "${topic}": it is not a command`, usageOf());
  return { command: "help", topic };
}

function rebootstrapInvocation(
  instanceId: string | undefined,
  values: Record<string, string | boolean | undefined>,
  json: boolean,
  overrides: ConfigOverrides,
): Invocation {
  const operation = text(values.operation);
  if (operation !== undefined) {
    // --wait is implied (following is what --operation does), so it is tolerated; the rest would be ignored.
    const ignored = [
      instanceId !== undefined && "the instance id",
      values.group !== undefined && "--group",
      values.all !== undefined && "--all",
      values.phase !== undefined && "--phase",
      values["dry-run"] !== undefined && "--dry-run",
      values.surge !== undefined && "--surge",
      values.force !== undefined && "--force",
      values["drain-seconds"] !== undefined && "--drain-seconds",
      values["document-version"] !== undefined && "--document-version",
      values.batch !== undefined && "--batch",
    ].filter((item) => typeof item === "string");
    if (ignored.length > 0)
      throw new CliError(
        `--operation follows an operation already started: drop ${ignored.join(", ")}`,
        EXIT.usage,
      );
    return { command: "follow-operation", operationId: checkOperationId(operation), json, overrides };
  }
  const phase = values.phase ?? "start";
  if (phase !== "start" && phase !== "all")
    throw new CliError(`--phase must be start or all (got "${phase}")`, EXIT.usage);
  const group = text(values.group);
  if (values.all === true && group === undefined)
    throw new CliError(
      "--all goes with --group GROUP (it confirms re-bootstrapping a whole group)",
      EXIT.usage,
    );
  const options: RebootstrapOptions = {
    instanceId: instanceId === undefined ? undefined : checkInstanceId(instanceId),
    group,
    all: values.all === true,
    phase,
    dryRun: values["dry-run"] === true,
    wait: values.wait === true,
    json,
    surge: values.surge === true,
    force: values.force === true,
    drainSeconds:
      values["drain-seconds"] === undefined ? undefined : checkDrainSeconds(String(values["drain-seconds"])),
    documentVersion:
      values["document-version"] === undefined
        ? undefined
        : checkDocumentVersion(String(values["document-version"])),
    batch: values.batch === undefined ? undefined : checkBatch(String(values.batch)),
  };
  // The same check the command makes before invoking the function, made here so it comes before AWS.
  rebootstrapRequest(options);
  return { command: "rebootstrap", options, overrides };
}

function strictParse(argv: readonly string[], options: OptionSpecs) {
  return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
}

function text(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}
