import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, parseConfig } from "../../shared/config/parse-config.js";
import type { LaunchgateConfig } from "../../shared/config/schema.js";

/** CDK context key holding the config, as an object (cdk.json) or a JSON string (`-c launchgate='{…}'`). */
export const CONFIG_CONTEXT_KEY = "launchgate";
/** CDK context key naming a JSON file with the config (`-c launchgate:configFile=./my-config.json`). */
export const CONFIG_FILE_CONTEXT_KEY = "launchgate:configFile";

type ContextReader = (key: string) => unknown;

/**
 * Reads the user's config from CDK context and validates it. Absent context means the built-in
 * cnt-backend default. Both sources at once is refused: which one wins would be a guess.
 */
export function loadConfig(readContext: ContextReader): LaunchgateConfig {
  const inline = readContext(CONFIG_CONTEXT_KEY);
  const file = readContext(CONFIG_FILE_CONTEXT_KEY);
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(
      [`set either context "${CONFIG_CONTEXT_KEY}" or "${CONFIG_FILE_CONTEXT_KEY}", not both`],
      "CDK context",
    );
  }
  if (file !== undefined) {
    if (typeof file !== "string") {
      throw new ConfigError([`${CONFIG_FILE_CONTEXT_KEY}: expected a file path`], "CDK context");
    }
    return parseConfig(parseJson(readConfigFile(file), file), file);
  }
  if (typeof inline === "string") {
    return parseConfig(parseJson(inline, `context ${CONFIG_CONTEXT_KEY}`), `context ${CONFIG_CONTEXT_KEY}`);
  }
  // Only an absent key means the default: `"launchgate": null` in cdk.json is refused by parseConfig.
  return parseConfig(inline, inline === undefined ? "built-in default" : `context ${CONFIG_CONTEXT_KEY}`);
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(resolve(path), "utf8");
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as Error).message}`], path);
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`not valid JSON: ${(error as Error).message}`], source);
  }
}
