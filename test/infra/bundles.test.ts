import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleDir } from "../../infra/constructs/function-code.js";
import { functionNames } from "../../scripts/functions.js";
import { type Synthesized, synthesize } from "./synth.js";

/** What the cold path of every deployed function must not pay for (see scripts/build-functions.ts). */
describe("the deployed function bundles (built by the global setup)", () => {
  let app: Synthesized;
  beforeAll(() => {
    app = synthesize();
  });

  it.each(functionNames())("%s: no source map is loaded at run time", (name) => {
    const code = readFileSync(join(bundleDir(name), "index.mjs"), "utf8");
    expect(code).not.toMatch(/sourceMappingURL/);
  });

  it.each(functionNames())(
    "%s: takes credentials from the environment only, never the full chain",
    (name) => {
      const code = readFileSync(join(bundleDir(name), "index.mjs"), "utf8");
      // Markers of the default chain's other sources: web identity, SSO.
      expect(code).not.toMatch(/AWS_WEB_IDENTITY_TOKEN_FILE|sso_start_url/);
      expect(code).toMatch(/AWS_SECRET_ACCESS_KEY/);
    },
  );

  it("no function turns source maps on with NODE_OPTIONS", () => {
    const functions = app.template.findResources("AWS::Lambda::Function");
    expect(Object.keys(functions).length).toBeGreaterThan(0);
    for (const fn of Object.values(functions)) {
      const variables = (fn.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
      expect(String(variables.NODE_OPTIONS ?? "")).not.toMatch(/source-maps/);
    }
  });
});
