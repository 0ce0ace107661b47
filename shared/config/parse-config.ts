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
 */
export function parseConfig(input: unknown, source = "config"): LaunchgateConfig {
  const result = configSchema.safeParse(input ?? {}, { reportInput: true });
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues), source);
  return result.data;
}
