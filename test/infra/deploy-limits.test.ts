import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/build-app.js";
import {
  DOCUMENT_CONTENT_LIMIT_BYTES,
  ENVIRONMENT_LIMIT_BYTES,
  estimateJsonBytes,
  measureDeploySizes,
  nameProblem,
  type ReferenceLengths,
  STACK_NAME_LIMIT,
} from "../../infra/constructs/deploy-limits.js";
import { ROOT } from "../../infra/constructs/function-code.js";
import type { LaunchgateStack } from "../../infra/stacks/launchgate-stack.js";
import { parseConfig } from "../../shared/config/parse-config.js";
import { simulatedCode } from "../../sim/deploy/simulated-code.js";

/**
 * Synthesizes as `cdk synth` does (validations, cdk-nag), with stand-ins for the bundles so that these
 * tests do not depend on a build; returns the synthesis error, if any, and the measured sizes.
 */
function synth(raw: unknown, mutate?: (stack: LaunchgateStack) => void) {
  const config = parseConfig(raw);
  const app = new App();
  const stack = buildApp(app, config, simulatedCode());
  mutate?.(stack);
  let error: Error | undefined;
  try {
    app.synth();
  } catch (caught) {
    error = caught as Error;
  }
  return { error, sizes: measureDeploySizes(stack.gate, config) };
}

const groups = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ name: `my-app-asg-${i}`, targetGroups: [`my-app-tg-${i}`] }));

describe("deploy-time limits at synth", () => {
  it("the default config synthesizes, with its document and environments measured under the limits", () => {
    const { error, sizes } = synth({});
    expect(error).toBeUndefined();
    expect(sizes.documents).toHaveLength(1);
    // About 41 KB today: most of it is bootstrap.sh, base64-encoded. A measure of nothing would be ~0.
    expect(sizes.documents[0]?.bytes).toBeGreaterThan(30_000);
    expect(sizes.documents[0]?.bytes).toBeLessThan(DOCUMENT_CONTENT_LIMIT_BYTES);
    expect(sizes.environments.length).toBeGreaterThanOrEqual(5);
    for (const { bytes } of sizes.environments) {
      expect(bytes).toBeGreaterThan(1_000);
      expect(bytes).toBeLessThan(ENVIRONMENT_LIMIT_BYTES);
    }
    expect(sizes.guesses).toEqual([]);
  });

  it("the example config synthesizes", () => {
    const example = JSON.parse(readFileSync(join(ROOT, "launchgate.config.example.json"), "utf8"));
    expect(synth(example).error).toBeUndefined();
  });

  it("a bootstrap document over 64 KB fails synth, naming the document, its size and the compose file", () => {
    const environment = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`LARGE_SETTING_${i}`, "x".repeat(4000)]),
    );
    const { error } = synth({
      groups: [
        {
          name: "big-asg",
          targetGroups: ["big-tg"],
          app: { services: [{ name: "api", image: "nginx:1.27", environment }] },
        },
      ],
    });
    expect(error?.message).toMatch(
      /SSM document launchgate-cnt-backend-big-asg-bootstrap is 1\d\d,\d{3} bytes, over SSM's 64 KB limit on document content \(64,000 bytes\); 10\d,\d{3} bytes of it are the compose file of groups\[0\], base64-encoded: shorten its services' environment values/,
    );
  });

  it("more groups than the 4 KB of Lambda environment can carry fail synth with the estimate", () => {
    expect(synth({ groups: groups(5) }).error).toBeUndefined();
    const { error } = synth({ groups: groups(8) });
    expect(error?.message).toMatch(
      /the environment of Lambda functions Launch, CommandResult, Reconcile, Rebootstrap, OperationSteps can take up to \d,\d{3} bytes, over Lambda's 4 KB limit \(4,000 bytes\): it carries the runtime config of all 8 group\(s\); split the groups over stacks/,
    );
  });

  it("two groups whose document names are the same once cut to 128 characters fail synth", () => {
    // 80 + "-" + 47 characters of the shared prefix make 128: the rest of each group name is cut off.
    const prefix = "g".repeat(50);
    const { error } = synth({
      stackName: `s${"x".repeat(79)}`,
      groups: [
        { name: `${prefix}-one`, targetGroups: ["tg-one"] },
        { name: `${prefix}-two`, targetGroups: ["tg-two"] },
      ],
    });
    expect(error?.message).toMatch(
      /SSM document name "sx{66}…" is given to both LaunchGate\/Group-g{50}-one\/BootstrapDocument and LaunchGate\/Group-g{50}-two\/BootstrapDocument: document names are "<stackName>-<group name>-bootstrap", cut to 128 characters: shorten stackName or groups\[0\]\.name/,
    );
  });

  it("a stackName that gives the document a prefix SSM reserves fails synth", () => {
    expect(synth({ stackName: "aws-gate" }).error?.message).toMatch(
      /SSM document name "aws-gate-cnt-backend-asg-bootstrap" starts with "aws", a prefix SSM reserves \(aws, amazon, amzn\): choose a stackName that does not start with it/,
    );
  });

  it("names set on the gate's resources beyond their service's limit fail synth, each on its own line", () => {
    const { error } = synth({}, (stack) => {
      const launch = stack.gate.launchFunction.function.node.defaultChild as lambda.CfnFunction;
      launch.functionName = `launchgate-${"f".repeat(54)}`;
      new sqs.CfnQueue(stack.gate, "LongQueue", { queueName: "q".repeat(81) });
      new iam.CfnRole(stack.gate, "LongRole", {
        roleName: "r".repeat(65),
        assumeRolePolicyDocument: { Version: "2012-10-17", Statement: [] },
      });
    });
    const message = error?.message ?? "";
    expect(message).toMatch(
      /Lambda function name of LaunchGate\/Launch\/Function\/Resource "launchgate-f{54}" is 65 characters, over the limit of 64: shorten the name set at LaunchGate\/Launch\/Function\/Resource/,
    );
    expect(message).toMatch(
      /SQS queue name of LaunchGate\/LongQueue "q{67}…" is 81 characters, over the limit of 80/,
    );
    expect(message).toMatch(
      /IAM role name of LaunchGate\/LongRole "r{65}" is 65 characters, over the limit of 64/,
    );
  });
});

describe("nameProblem", () => {
  it("names the limit, the length and what to change; nothing when the name fits", () => {
    expect(nameProblem("stack name", "s".repeat(129), { max: STACK_NAME_LIMIT }, "shorten stackName")).toBe(
      `stack name "${"s".repeat(67)}…" is 129 characters, over the limit of 128: shorten stackName`,
    );
    expect(nameProblem("stack name", "s".repeat(128), { max: STACK_NAME_LIMIT }, "x")).toBeUndefined();
    expect(
      nameProblem("lifecycle hook name", "h".repeat(256), { max: 255 }, "shorten groups[0].hookName"),
    ).toMatch(/is 256 characters, over the limit of 255: shorten groups\[0\]\.hookName$/);
    expect(nameProblem("DynamoDB table name", "ab", { min: 3, max: 255 }, "rename it")).toBe(
      'DynamoDB table name "ab" is 2 characters, under the minimum of 3: rename it',
    );
  });
});

describe("estimateJsonBytes", () => {
  const refs = (lengths: Record<string, number>): ReferenceLengths => ({
    lengthOf: (id, attribute) => lengths[`${id}.${attribute}`],
    guesses: [],
  });

  it("is the exact size of plain JSON, escapes and multi-byte characters included", () => {
    const value = { a: 'say "hi"', b: [1, true, null], c: "é" };
    expect(estimateJsonBytes(value, refs({}))).toBe(Buffer.byteLength(JSON.stringify(value)));
  });

  it("counts a reference as its longest value, inside a joined string", () => {
    const value = { V: { "Fn::Join": ["", ['{"table":"', { Ref: "Table" }, '"}']] } };
    // {"V":"{\"table\":\"<255>\"}"}: the literal parts escaped, the reference at its bound.
    expect(estimateJsonBytes(value, refs({ "Table.Ref": 255 }))).toBe(
      JSON.stringify({ V: '{"table":""}' }).length + 255,
    );
    expect(estimateJsonBytes({ "Fn::GetAtt": ["Queue", "Arn"] }, refs({ "Queue.Arn": 100 }))).toBe(102);
  });

  it("counts a reference it cannot bound as 2048 bytes and records it", () => {
    const lengths = refs({});
    expect(estimateJsonBytes({ Ref: "Mystery" }, lengths)).toBe(2050);
    expect(lengths.guesses).toEqual(['{"Ref":"Mystery"}']);
  });
});
