import { formatIssues } from "./format-issues.js";
import { configSchema, type LaunchgateConfig } from "./schema.js";

/** A configuration that failed validation; `problems` holds one human line per problem. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly problems: readonly string[],
    source: string,
  ) {
    super(`invalid launchgate config (${source}):\n${problems.map((line) => `  - ${line}`).join("\n")}`);
  }
}

/**
 * Validates raw config (already-parsed JSON) and fills in the cnt-backend defaults.
 * `source` names where the input came from, so the message points the user at the right file or flag.
 * Only `undefined` (no config given at all) means the built-in default: a file or context value that is
 * `null`, a list, a number or a string is a mistake (an emptied file, a quoting slip), never "use the
 * defaults".
 */
export function parseConfig(input: unknown, source = "config"): LaunchgateConfig {
  if (input !== undefined && !isJsonObject(input)) {
    throw new ConfigError(
      [
        `the config is ${describeTopLevel(input)}; it must be a JSON object such as {"region": "eu-west-2"} (write {} for the built-in defaults)`,
      ],
      source,
    );
  }
  const result = configSchema.safeParse(input ?? {}, { reportInput: true });
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues), source);
  return result.data;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What was given instead of an object, short enough for one line. */
function describeTopLevel(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `a list (${value.length} item${value.length === 1 ? "" : "s"})`;
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `a string (${JSON.stringify(shown)})`;
  }
  if (typeof value === "number" || typeof value === "boolean") return `the ${typeof value} ${value}`;
  return `a ${typeof value}`;
}
