import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
