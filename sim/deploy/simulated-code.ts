import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type { FunctionCode } from "../../infra/constructs/function-code.js";

/**
 * SIMULATION — the stand-in for a function's bundle: an asset holding one file that names the source
 * module the simulated Lambda runs. It follows the build's own convention (functions/<name>/handler.ts
 * is bundled as function <name>), so the world runs exactly the code the bundle would contain.
 */
export const SOURCE_MARKER = "launchgate-simulated-source.json";

export function simulatedCode(): FunctionCode {
  const root = mkdtempSync(join(tmpdir(), "launchgate-sim-code-"));
  return (functionName) => {
    const dir = join(root, functionName);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, SOURCE_MARKER),
      JSON.stringify({ module: `functions/${functionName}/handler.ts` }),
    );
    return lambda.Code.fromAsset(dir);
  };
}
