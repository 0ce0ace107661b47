import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCliConfig } from "../../../cli/context.js";
import {
  CONFIG_CONTEXT_KEY,
  CONFIG_FILE_CONTEXT_KEY,
  loadConfig,
} from "../../../infra/config/load-config.js";

const context = (values: Record<string, unknown>) => (key: string) => values[key];

describe("loadConfig", () => {
  it("uses the built-in default without context", () => {
    expect(loadConfig(context({})).groups[0]?.name).toBe("cnt-backend-asg");
  });

  it("reads an object from cdk.json context", () => {
    const config = loadConfig(context({ [CONFIG_CONTEXT_KEY]: { region: "us-east-1" } }));
    expect(config.region).toBe("us-east-1");
  });

  it("reads a JSON string from -c", () => {
    const config = loadConfig(context({ [CONFIG_CONTEXT_KEY]: '{"region":"eu-central-1"}' }));
    expect(config.region).toBe("eu-central-1");
  });

  it("reads a config file", () => {
    const dir = mkdtempSync(join(tmpdir(), "launchgate-"));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ stackName: "my-gate" }));
    expect(loadConfig(context({ [CONFIG_FILE_CONTEXT_KEY]: file })).stackName).toBe("my-gate");
  });

  it("names the file in errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "launchgate-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ region: 42 }));
    expect(() => loadConfig(context({ [CONFIG_FILE_CONTEXT_KEY]: file }))).toThrow(
      `invalid launchgate config (${file}):\n  - region: got 42; allowed: an AWS region code such as eu-west-2`,
    );
  });

  it("rejects invalid JSON and a missing file with the reason", () => {
    expect(() => loadConfig(context({ [CONFIG_CONTEXT_KEY]: "{region:" }))).toThrow(/not valid JSON/);
    expect(() => loadConfig(context({ [CONFIG_FILE_CONTEXT_KEY]: "/nonexistent/launchgate.json" }))).toThrow(
      /cannot read config file \/nonexistent\/launchgate.json/,
    );
  });

  it("refuses both sources at once", () => {
    expect(() =>
      loadConfig(context({ [CONFIG_CONTEXT_KEY]: {}, [CONFIG_FILE_CONTEXT_KEY]: "x.json" })),
    ).toThrow(/set either context "launchgate" or "launchgate:configFile", not both/);
  });
});

describe("a config that is not a JSON object is refused from every source", () => {
  const refusal = (what: string) =>
    `the config is ${what}; it must be a JSON object such as {"region": "eu-west-2"} (write {} for the built-in defaults)`;
  const cases: [string, string][] = [
    ["null", "null"],
    ["[]", "a list (0 items)"],
    ["7", "the number 7"],
    ['"eu-west-1"', 'a string ("eu-west-1")'],
  ];
  const fileWith = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), "launchgate-"));
    const file = join(dir, "launchgate.config.json");
    writeFileSync(file, text);
    return { dir, file };
  };

  it.each(cases)("a config file containing %s", (text, what) => {
    const { file } = fileWith(text);
    expect(() => loadConfig(context({ [CONFIG_FILE_CONTEXT_KEY]: file }))).toThrow(
      `invalid launchgate config (${file}):\n  - ${refusal(what)}`,
    );
  });

  it.each(cases)("a -c launchgate JSON string %s", (text, what) => {
    expect(() => loadConfig(context({ [CONFIG_CONTEXT_KEY]: text }))).toThrow(
      `invalid launchgate config (context launchgate):\n  - ${refusal(what)}`,
    );
  });

  // A string in context is JSON text to parse (the -c case above), so only the other kinds apply here.
  it.each(cases.slice(0, 3))("a cdk.json context value %s", (text, what) => {
    expect(() => loadConfig(context({ [CONFIG_CONTEXT_KEY]: JSON.parse(text) }))).toThrow(
      `invalid launchgate config (context launchgate):\n  - ${refusal(what)}`,
    );
  });

  it("the CLI's --config file and cdk.json context, through readCliConfig", () => {
    const { file, dir } = fileWith("null");
    expect(() => readCliConfig(file, dir)).toThrow(refusal("null"));
    writeFileSync(join(dir, "cdk.json"), JSON.stringify({ context: { [CONFIG_CONTEXT_KEY]: null } }));
    expect(() => readCliConfig(undefined, dir)).toThrow(refusal("null"));
  });
});
