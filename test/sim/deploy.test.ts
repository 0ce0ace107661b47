import { beforeAll, describe, expect, it } from "vitest";
import { RECONCILE_INTERVAL_SECONDS } from "../../shared/gate/heartbeat-timing.js";
import { accessRequests } from "../../sim/aws/authorization.js";
import { DeployError } from "../../sim/deploy/deploy-checks.js";
import { type Deployment, deploy } from "../../sim/deploy/deployment.js";
import { isAllowed, type PolicyStatement } from "../../sim/deploy/policy.js";
import { type SynthesizedStack, synthesizeForSimulation } from "../../sim/deploy/synthesize.js";
import { Random } from "../../sim/engine/random.js";
import { CNT_GROUP } from "../../sim/scenario.js";
import { configFor } from "../../sim/world.js";

/**
 * The simulated world is built from the synthesized stack: these check that "deploying" it reads
 * what the template says (and nothing else), and refuses what AWS would refuse.
 */

let stack: SynthesizedStack;
let deployment: Deployment;
beforeAll(() => {
  stack = synthesizeForSimulation(configFor({ name: "t", title: "t", groups: [CNT_GROUP] }));
  deployment = deploy(stack, new Random(1));
});

/** The template with one resource's properties changed, as a broken stack would be. */
function withChange(
  logicalIdPart: string,
  change: (props: Record<string, unknown>) => void,
): SynthesizedStack {
  const template = structuredClone(stack.template) as {
    Resources: Record<string, { Properties?: Record<string, unknown> }>;
  };
  const [id] = Object.keys(template.Resources).filter((key) => key.includes(logicalIdPart));
  const resource = template.Resources[id ?? ""];
  if (!resource?.Properties) throw new Error(`no resource ${logicalIdPart}`);
  change(resource.Properties);
  return { ...stack, template: template as SynthesizedStack["template"] };
}

describe("deploying the synthesized stack", () => {
  it("runs each function from the source its bundle is built from, with its resolved environment", () => {
    const folders = deployment.functions.map((fn) => fn.sourceModule).sort();
    expect(folders).toEqual([
      "functions/command-result/handler.ts",
      "functions/launch/handler.ts",
      "functions/operations/handler.ts",
      "functions/rebootstrap/handler.ts",
      "functions/reconcile/handler.ts",
    ]);
    const launch = deployment.functions.find((fn) => fn.sourceModule.includes("/launch/"));
    const runtime = JSON.parse(launch?.environment.LAUNCHGATE_RUNTIME ?? "{}");
    expect(runtime.stateTableName).toBe(deployment.outputs.GateStateTable);
    expect(deployment.queues.map((q) => q.url)).toContain(runtime.recheckQueueUrls.operations);
  });

  it("gives every queue but the failure queue a consumer, as the template wires them", () => {
    const consumed = new Set(deployment.mappings.map((m) => m.queueArn));
    const unread = deployment.queues.filter((q) => !consumed.has(q.arn)).map((q) => q.logicalId);
    expect(unread).toHaveLength(1);
    expect(unread[0]).toMatch(/^LaunchGateFailures/);
  });

  it("reads the hook, the reconciler's schedule and the document from the template", () => {
    expect(deployment.hooks).toEqual([
      expect.objectContaining({
        groupName: "cnt-backend-asg",
        heartbeatTimeoutSeconds: 600,
        defaultResult: "ABANDON",
      }),
    ]);
    expect(deployment.rules.filter((r) => r.rateSeconds !== undefined).map((r) => r.rateSeconds)).toEqual([
      RECONCILE_INTERVAL_SECONDS,
    ]);
    expect(deployment.documents[0]?.parameters.phase?.allowedValues).toEqual([
      "all",
      "prepare",
      "start",
      "drain",
    ]);
  });

  it("refuses a queue whose visibility timeout is shorter than its consumer's timeout, as Lambda does", () => {
    const broken = withChange("OperationStepsFunction", (props) => {
      props.Timeout = 900;
    });
    expect(() => deploy(broken, new Random(1))).toThrow(DeployError);
    expect(() => deploy(broken, new Random(1))).toThrow(
      /Queue visibility timeout: 180 seconds is less than Function timeout: 900 seconds/,
    );
  });

  it("refuses an environment over Lambda's 4 KB", () => {
    const broken = withChange("LaunchFunction", (props) => {
      (props.Environment as { Variables: Record<string, unknown> }).Variables.PADDING = "x".repeat(5000);
    });
    expect(() => deploy(broken, new Random(1))).toThrow(/over the 4 KB limit/);
  });
});

describe("simulated IAM", () => {
  const send: PolicyStatement[] = [
    {
      Effect: "Allow",
      Action: "ssm:SendCommand",
      Resource: "arn:aws:ec2:eu-west-2:123456789012:instance/*",
      Condition: { StringEquals: { "ssm:resourceTag/aws:autoscaling:groupName": ["cnt-backend-asg"] } },
    },
  ];
  const instance = "arn:aws:ec2:eu-west-2:123456789012:instance/i-0123456789abcdef0";
  const tag = (group?: string) => ({ "ssm:resourceTag/aws:autoscaling:groupName": group });

  it("allows a call whose resource and condition keys match", () => {
    expect(
      isAllowed(send, { action: "ssm:SendCommand", resource: instance, context: tag("cnt-backend-asg") }),
    ).toBe(true);
  });

  it("scopes an UpdateItem to the items whose key has a prefix (dynamodb:LeadingKeys, ForAllValues)", () => {
    const table = "arn:aws:dynamodb:eu-west-2:123456789012:table/state";
    const update: PolicyStatement[] = [
      {
        Effect: "Allow",
        Action: "dynamodb:UpdateItem",
        Resource: table,
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["watch#*"] } },
      },
    ];
    const directory = {
      groupArn: () => "",
      groupOfInstance: () => undefined,
      queueArn: () => "",
      partitionKeyOf: () => "instanceId",
    };
    const on = (key: string) =>
      accessRequests("UpdateItem", { TableName: "state", Key: { instanceId: { S: key } } }, directory);
    const allowed = (key: string) => on(key).every((request) => isAllowed(update, request));
    expect(allowed("watch#agent#cnt-backend-asg")).toBe(true);
    expect(allowed("i-0123456789abcdef0")).toBe(false);
    expect(allowed("drain#i-0123456789abcdef0")).toBe(false);
    // A put's key is found by the table's key attribute, wherever it sits in the item.
    const put = (key: string) =>
      accessRequests(
        "PutItem",
        { TableName: "state", Item: { phase: { S: "watch#x" }, instanceId: { S: key } } },
        directory,
      );
    const puts: PolicyStatement[] = [{ ...update[0], Action: "dynamodb:PutItem" } as PolicyStatement];
    expect(put("watch#agent#g").every((request) => isAllowed(puts, request))).toBe(true);
    expect(put("i-0123456789abcdef0").every((request) => isAllowed(puts, request))).toBe(false);
  });

  it("denies another group's instance, an instance without the tag, and any other action", () => {
    expect(
      isAllowed(send, { action: "ssm:SendCommand", resource: instance, context: tag("other-asg") }),
    ).toBe(false);
    expect(isAllowed(send, { action: "ssm:SendCommand", resource: instance, context: tag(undefined) })).toBe(
      false,
    );
    expect(
      isAllowed(send, { action: "ssm:ListCommands", resource: instance, context: tag("cnt-backend-asg") }),
    ).toBe(false);
  });

  it("lets an explicit Deny win", () => {
    const policy: PolicyStatement[] = [...send, { Effect: "Deny", Action: "ssm:*", Resource: "*" }];
    expect(
      isAllowed(policy, { action: "ssm:SendCommand", resource: instance, context: tag("cnt-backend-asg") }),
    ).toBe(false);
  });

  it("refuses a condition operator it does not model, rather than guess", () => {
    const policy: PolicyStatement[] = [
      { Effect: "Allow", Action: "*", Resource: "*", Condition: { NumericLessThan: { "x:y": "1" } } },
    ];
    expect(() => isAllowed(policy, { action: "a:b", resource: "r", context: { "x:y": "0" } })).toThrow(
      /not modelled/,
    );
  });
});
