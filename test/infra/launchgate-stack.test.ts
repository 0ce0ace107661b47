import { Match } from "aws-cdk-lib/assertions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { UNSAVED_RETRIES } from "../../shared/ops/advance-operation.js";
import { retryDelaySeconds } from "../../shared/runtime/run-event.js";
import { asList, policyStatements, type Synthesized, synthesize } from "./synth.js";

let defaultApp: Synthesized;
beforeAll(() => {
  defaultApp = synthesize();
});

describe("lifecycle hook", () => {
  it("is created on the configured group with explicit ABANDON and heartbeat, and no notification target", () => {
    defaultApp.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 1);
    defaultApp.template.hasResourceProperties("AWS::AutoScaling::LifecycleHook", {
      AutoScalingGroupName: "cnt-backend-asg",
      LifecycleHookName: "launchgate-launch",
      LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      DefaultResult: "ABANDON",
      HeartbeatTimeout: 600,
      NotificationTargetARN: Match.absent(),
      RoleARN: Match.absent(),
    });
  });
});

describe("EventBridge rules", () => {
  it("route launch lifecycle actions of the configured group and hook only", () => {
    defaultApp.template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.autoscaling"],
        "detail-type": ["EC2 Instance-launch Lifecycle Action"],
        detail: { AutoScalingGroupName: ["cnt-backend-asg"], LifecycleHookName: ["launchgate-launch"] },
      },
    });
  });

  it("route possibly-final status changes of our document only", () => {
    defaultApp.template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.ssm"],
        "detail-type": ["EC2 Command Invocation Status-change Notification"],
        detail: {
          "document-name": ["launchgate-cnt-backend-cnt-backend-asg-bootstrap"],
          status: [{ "anything-but": ["Pending", "InProgress", "Delayed", "Cancelling"] }],
        },
      },
    });
  });

  it("have a dead-letter queue and bounded retries", () => {
    const rules = Object.values(defaultApp.template.findResources("AWS::Events::Rule")).filter(
      (rule) => rule.Properties.EventPattern !== undefined,
    );
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.Properties.Targets[0]).toMatchObject({
        DeadLetterConfig: { Arn: expect.anything() },
        RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
      });
    }
  });

  it("run the reconciler every 2 minutes", () => {
    defaultApp.template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(2 minutes)",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^LaunchGateReconcileFunction"), "Arn"] },
        }),
      ],
    });
  });
});

describe("queues", () => {
  const queueArnOf = (logicalId: string) => ({ "Fn::GetAtt": [logicalId, "Arn"] });

  it("every queue but the failure queue has a consumer, whose timeout its visibility allows six times over", () => {
    const queues = defaultApp.template.findResources("AWS::SQS::Queue");
    const mappings = Object.values(defaultApp.template.findResources("AWS::Lambda::EventSourceMapping"));
    const functions = defaultApp.template.findResources("AWS::Lambda::Function");
    const failureQueue = Object.keys(queues).filter((id) => id.includes("Failures"));
    expect(failureQueue).toHaveLength(1);
    for (const [id, queue] of Object.entries(queues)) {
      const consumers = mappings.filter(
        (m) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify(queueArnOf(id)),
      );
      if (failureQueue.includes(id)) {
        expect(consumers, `${id} is read by operators, not a function`).toHaveLength(0);
        continue;
      }
      expect(consumers, `queue ${id} has no event-source mapping: nobody reads it`).toHaveLength(1);
      const [consumer] = consumers;
      expect(consumer?.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
      const functionId = consumer?.Properties.FunctionName.Ref as string;
      const timeout = functions[functionId]?.Properties.Timeout as number;
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    }
  });

  it("the operations function takes one operation per invocation (a pass over a wave is up to 10 lane steps)", () => {
    const queues = defaultApp.template.findResources("AWS::SQS::Queue");
    const [operationsQueue] = Object.keys(queues).filter((id) => id.includes("OperationRechecks"));
    expect(operationsQueue).toBeDefined();
    defaultApp.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: queueArnOf(operationsQueue ?? ""),
      BatchSize: 1,
    });
  });

  it("an operation re-check waits for its pass's save longer than the operations function can run (else a re-check due at once could give up on a save still in flight, and leave the operation with no chain)", () => {
    const queues = defaultApp.template.findResources("AWS::SQS::Queue");
    const [operationsQueue] = Object.keys(queues).filter((id) => id.includes("OperationRechecks"));
    const [mapping] = Object.values(
      defaultApp.template.findResources("AWS::Lambda::EventSourceMapping"),
    ).filter(
      (m) =>
        JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify(queueArnOf(operationsQueue ?? "")),
    );
    const functions = defaultApp.template.findResources("AWS::Lambda::Function");
    const timeout = functions[mapping?.Properties.FunctionName.Ref as string]?.Properties.Timeout as number;
    expect(timeout).toBeGreaterThan(0);
    // A pass schedules its next re-check, then saves, within one invocation: the save lands within the
    // function's timeout or never. The re-check gives up after its retries' delays.
    let waited = 0;
    for (let attempt = 1; attempt <= UNSAVED_RETRIES; attempt++) waited += retryDelaySeconds(attempt);
    expect(waited).toBeGreaterThan(timeout);
  });

  it("the reconciler never runs twice at once", () => {
    defaultApp.template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("drives every instance waiting"),
      ReservedConcurrentExecutions: 1,
    });
  });
});

describe("functions", () => {
  it("run nodejs22.x on arm64 with explicit memory, timeout and a failure destination, without X-Ray", () => {
    defaultApp.template.resourcePropertiesCountIs("AWS::SQS::Queue", { VisibilityTimeout: 180 }, 4);
    defaultApp.template.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      {
        Runtime: "nodejs22.x",
        Architectures: ["arm64"],
        MemorySize: 256,
        Timeout: 300,
        TracingConfig: Match.absent(),
      },
      1,
    );
    defaultApp.template.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      {
        Runtime: "nodejs22.x",
        Architectures: ["arm64"],
        MemorySize: 256,
        Timeout: 30,
        TracingConfig: Match.absent(),
      },
      3, // launch, command-result, operation steps
    );
    defaultApp.template.resourcePropertiesCountIs(
      "AWS::Lambda::EventInvokeConfig",
      { DestinationConfig: { OnFailure: { Destination: Match.anyValue() } }, MaximumRetryAttempts: 2 },
      4,
    );
    // A missed reconciler run is harmless: no retries, no failure destination, a short maximum age.
    defaultApp.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      DestinationConfig: Match.absent(),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 120,
    });
    // One per function, and one for the bootstrap's own output (SSM's CloudWatchOutputConfig).
    defaultApp.template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 6);
    defaultApp.template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: "/launchgate/launchgate-cnt-backend/bootstrap-output",
      RetentionInDays: 30,
    });
  });

  it("receive the runtime config with the group, its hook, document and allow-list", () => {
    const functions = Object.values(defaultApp.template.findResources("AWS::Lambda::Function"));
    const env = JSON.stringify(functions[0]?.Properties.Environment.Variables.LAUNCHGATE_RUNTIME);
    for (const expected of [
      "cnt-backend-asg",
      "launchgate-launch",
      "cnt-backend-tg",
      "launchgate-cnt-backend-cnt-backend-asg-bootstrap",
    ]) {
      expect(env).toContain(expected);
    }
  });

  it("receive the configured poll intervals (the defaults unless set)", () => {
    const runtimeOf = (app: Synthesized) => {
      const functions = Object.values(app.template.findResources("AWS::Lambda::Function"));
      return JSON.stringify(functions[0]?.Properties.Environment.Variables.LAUNCHGATE_RUNTIME);
    };
    const intervals = (agent: number, health: number) =>
      new RegExp(`pollIntervalSeconds\\W+agent\\W+${agent}\\W+health\\W+${health}\\W`);
    expect(runtimeOf(defaultApp)).toMatch(intervals(2.5, 3));
    expect(runtimeOf(synthesize({ pollIntervalSeconds: { agent: 4, health: 5 } }))).toMatch(intervals(4, 5));
  });
});

describe("IAM is least privilege", () => {
  const statementsWith = (action: string) =>
    policyStatements(defaultApp.template).filter((statement) => asList(statement.Action).includes(action));

  it("hook actions only on the configured group, and only for the functions that decide a wait", () => {
    const completing = statementsWith("autoscaling:CompleteLifecycleAction");
    expect(completing).toHaveLength(3); // launch, command-result, reconcile
    for (const statement of [
      ...completing,
      ...statementsWith("autoscaling:RecordLifecycleActionHeartbeat"),
    ]) {
      expect(JSON.stringify(statement.Resource)).toContain(
        ":autoScalingGroup:*:autoScalingGroupName/cnt-backend-asg",
      );
    }
    // The re-bootstrap function may keep a waiting hook alive (resuming a launch), never decide it.
    expect(statementsWith("autoscaling:RecordLifecycleActionHeartbeat")).toHaveLength(4);
  });

  it("gives each function exactly the actions its code calls", () => {
    const policies = Object.entries(defaultApp.template.findResources("AWS::IAM::Policy"));
    const actionsOf = (prefix: string) =>
      [
        ...new Set(
          policies
            .filter(([id]) => id.startsWith(prefix))
            .flatMap(([, policy]) =>
              policy.Properties.PolicyDocument.Statement.flatMap((st: { Action: string | string[] }) =>
                asList(st.Action),
              ),
            )
            .filter((action) => !action.startsWith("logs:")),
        ),
      ].sort();
    const sqsSend = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"];
    const sqsConsume = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"];
    const sorted = (...actions: string[]) => [...new Set(actions)].sort();
    expect(actionsOf("LaunchGateLaunch")).toEqual(
      sorted(
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:RecordLifecycleActionHeartbeat",
        "dynamodb:BatchGetItem", // a batch of agent re-checks reads its records at once
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem", // the agent watch's items, and heartbeats' notes on gate records (see below)
        "elasticloadbalancing:DeregisterTargets",
        "ssm:DescribeInstanceInformation",
        "ssm:ListCommands",
        "ssm:SendCommand",
        ...sqsSend,
        ...sqsConsume,
      ),
    );
    expect(actionsOf("LaunchGateRebootstrap")).toEqual(
      sorted(
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:RecordLifecycleActionHeartbeat",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "elasticloadbalancing:DescribeTargetHealth", // refusing to drain the last healthy target
        ...sqsSend,
      ),
    );
    expect(actionsOf("LaunchGateOperationSteps")).toEqual(
      sorted(
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:SetDesiredCapacity", // surge, and its end
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "elasticloadbalancing:DeregisterTargets", // drain first
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:RegisterTargets", // back in after the command
        "ssm:GetCommandInvocation",
        "ssm:ListCommands", // a retried step adopts the command it already sent
        "ssm:SendCommand",
        ...sqsSend,
        ...sqsConsume,
      ),
    );
    expect(actionsOf("LaunchGateReconcile")).toEqual(
      sorted(
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeWarmPool", // waits into a warm pool are listed by the pool
        "autoscaling:RecordLifecycleActionHeartbeat",
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem", // its heartbeats' notes on gate records (see below)
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:DescribeTargetHealth",
        ...sqsSend,
      ),
    );
    // Watches (gate/watch) update their items in place: only the two functions that run them may, and
    // only on the state table. Heartbeats are noted on gate records in place too (one attribute, on the
    // version read): by the reconciler and the steps a watch runs, under instances' and drains' keys only.
    const updaters = policies.flatMap(([id, policy]) =>
      policy.Properties.PolicyDocument.Statement.filter((st: { Action: string | string[] }) =>
        asList(st.Action).includes("dynamodb:UpdateItem"),
      ).map((st: { Resource: unknown; Condition?: unknown; Action: string | string[] }) => ({
        id: id.replace(/RoleDefaultPolicy.*$/, ""),
        resource: st.Resource,
        condition: st.Condition,
        actions: asList(st.Action),
      })),
    );
    const watchUpdates = { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["watch#*"] } };
    const recordKeys = { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["i-*", "drain#i-*"] } };
    const waitKeys = { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["i-*"] } };
    const updatersOf = (condition: unknown) =>
      new Set(
        updaters.filter((u) => JSON.stringify(u.condition) === JSON.stringify(condition)).map((u) => u.id),
      );
    expect(updatersOf(watchUpdates)).toEqual(new Set(["LaunchGateLaunch", "LaunchGateCommandResult"]));
    expect(updatersOf(waitKeys)).toEqual(
      new Set(["LaunchGateLaunch", "LaunchGateCommandResult", "LaunchGateReconcile"]),
    );
    const stateTable = Object.entries(defaultApp.template.findResources("AWS::DynamoDB::GlobalTable")).find(
      ([id]) => id.startsWith("LaunchGateState"),
    )?.[0];
    for (const { resource, condition, actions } of updaters) {
      expect(resource).toEqual({ "Fn::GetAtt": [stateTable, "Arn"] });
      // Either a watch's own items only, or a launch wait's record (a heartbeat's note): never a drain's.
      expect([watchUpdates, waitKeys]).toContainEqual(condition);
      expect(actions).toEqual(["dynamodb:UpdateItem"]);
    }
    // Gate records are put only under an instance's or a drain's key: never over a watch's item.
    const puts = policies.flatMap(([, policy]) =>
      policy.Properties.PolicyDocument.Statement.filter(
        (st: { Action: string | string[]; Resource: unknown }) =>
          asList(st.Action).includes("dynamodb:PutItem") &&
          JSON.stringify(st.Resource).includes(`"${stateTable}"`),
      ),
    );
    expect(puts.length).toBeGreaterThanOrEqual(4); // launch, command-result, reconcile, rebootstrap
    for (const statement of puts) {
      expect(asList(statement.Action)).toEqual(["dynamodb:PutItem"]);
      expect(statement.Condition).toEqual(recordKeys);
    }
    // The rebootstrap function never notes a heartbeat: it only puts.
    expect(actionsOf("LaunchGateRebootstrap")).not.toContain("dynamodb:UpdateItem");
    // Only the reconciler lists warm pools.
    for (const prefix of ["LaunchGateLaunch", "LaunchGateCommandResult", "LaunchGateRebootstrap"])
      expect(actionsOf(prefix)).not.toContain("autoscaling:DescribeWarmPool");
    for (const prefix of ["LaunchGateRebootstrap", "LaunchGateReconcile"])
      expect(actionsOf(prefix)).not.toContain("elasticloadbalancing:RegisterTargets");
    expect(actionsOf("LaunchGateOperationSteps")).not.toContain("autoscaling:CompleteLifecycleAction");
  });

  it("SendCommand only with our document, and only on instances tagged with the gated group", () => {
    const statements = statementsWith("ssm:SendCommand");
    expect(statements).toHaveLength(4); // a document statement and an instance statement, per function that sends
    for (const statement of statements) {
      const resource = JSON.stringify(statement.Resource);
      if (resource.includes(":document/")) {
        expect(resource).toContain(":document/launchgate-cnt-backend-cnt-backend-asg-bootstrap");
        expect(statement.Condition).toBeUndefined();
      } else {
        expect(resource).toContain(":instance/*");
        expect(statement.Condition).toEqual({
          StringEquals: { "ssm:resourceTag/aws:autoscaling:groupName": ["cnt-backend-asg"] },
        });
      }
    }
  });

  it("gives SendCommand to the launch and operations functions only, RegisterTargets to command-result and operations only", () => {
    const roles = Object.entries(defaultApp.template.findResources("AWS::IAM::Policy"));
    const actionsOf = (prefix: string) =>
      roles
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(([, policy]) =>
          policy.Properties.PolicyDocument.Statement.flatMap((st: { Action: string | string[] }) =>
            asList(st.Action),
          ),
        );
    expect(actionsOf("LaunchGateReconcile")).not.toContain("ssm:SendCommand");
    expect(actionsOf("LaunchGateReconcile")).not.toContain("elasticloadbalancing:RegisterTargets");
    expect(actionsOf("LaunchGateCommandResult")).not.toContain("ssm:SendCommand");
    expect(actionsOf("LaunchGateLaunch")).not.toContain("elasticloadbalancing:RegisterTargets");
    expect(actionsOf("LaunchGateLaunch")).toContain("ssm:SendCommand");
    expect(actionsOf("LaunchGateOperationSteps")).toContain("ssm:SendCommand");
    expect(actionsOf("LaunchGateOperationSteps")).toContain("elasticloadbalancing:RegisterTargets");
    expect(actionsOf("LaunchGateOperationSteps")).toEqual(expect.arrayContaining(["dynamodb:DeleteItem"]));
    // The re-bootstrap function only starts operations: it runs no command itself.
    expect(actionsOf("LaunchGateRebootstrap")).not.toContain("ssm:SendCommand");
    expect(actionsOf("LaunchGateLaunch")).not.toContain("dynamodb:DeleteItem");
  });

  it("Register/DeregisterTargets only on the allowed target group", () => {
    for (const action of ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]) {
      for (const statement of statementsWith(action)) {
        expect(JSON.stringify(statement.Resource)).toContain(":targetgroup/cnt-backend-tg/*");
      }
    }
    // command-result (the launch gate) and the operation steps (drain-first re-bootstrap).
    expect(statementsWith("elasticloadbalancing:RegisterTargets")).toHaveLength(2);
  });

  it("allows on Resource * exactly the read-only APIs that lack resource-level permissions", () => {
    const onEverything = policyStatements(defaultApp.template)
      .filter((statement) => statement.Resource === "*")
      .flatMap((statement) => asList(statement.Action));
    expect([...new Set(onEverything)].sort()).toEqual([
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeWarmPool",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "ssm:DescribeInstanceInformation",
      "ssm:GetCommandInvocation",
      "ssm:ListCommands",
    ]);
  });

  it("scopes per group when several groups are configured", () => {
    const { template } = synthesize({
      groups: [
        { name: "web-asg", targetGroups: ["web-tg"] },
        { name: "ws-asg", targetGroups: ["ws-tg", "ws-tg-2"] },
      ],
    });
    template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 2);
    template.resourceCountIs("AWS::SSM::Document", 2);
    const register = policyStatements(template).find((s) =>
      asList(s.Action).includes("elasticloadbalancing:RegisterTargets"),
    );
    const resources = JSON.stringify(register?.Resource);
    for (const tg of ["web-tg", "ws-tg", "ws-tg-2"]) expect(resources).toContain(`:targetgroup/${tg}/*`);
    const send = policyStatements(template).find(
      (s) => asList(s.Action).includes("ssm:SendCommand") && s.Condition !== undefined,
    );
    expect(send?.Condition).toEqual({
      StringEquals: { "ssm:resourceTag/aws:autoscaling:groupName": ["web-asg", "ws-asg"] },
    });
  });
});

describe("outputs", () => {
  it("name the gate state table and the failure queue for operators", () => {
    defaultApp.template.hasOutput("GateStateTable", { Value: Match.anyValue() });
    defaultApp.template.hasOutput("FailureQueueUrl", { Value: Match.anyValue() });
    defaultApp.template.hasOutput("RebootstrapFunctionName", { Value: Match.anyValue() });
    defaultApp.template.hasOutput("OperationsTable", { Value: Match.anyValue() });
  });
});

describe("bootstrap document", () => {
  it("is schema 2.2 with every parameter constrained to fixed values", () => {
    const documents = Object.values(defaultApp.template.findResources("AWS::SSM::Document"));
    expect(documents).toHaveLength(1);
    const document = documents[0]?.Properties;
    expect(document).toMatchObject({
      Name: "launchgate-cnt-backend-cnt-backend-asg-bootstrap",
      DocumentType: "Command",
      UpdateMethod: "NewVersion",
    });
    expect(document.Content.schemaVersion).toBe("2.2");
    for (const parameter of Object.values<{ allowedValues?: string[]; allowedPattern?: string }>(
      document.Content.parameters,
    )) {
      expect(parameter.allowedValues ?? parameter.allowedPattern).toBeDefined();
    }
    expect(document.Content.parameters.phase.allowedValues).toEqual(["all", "prepare", "start", "drain"]);
    expect(document.Content.mainSteps[0].inputs.timeoutSeconds).toBe("1200");
    expect(JSON.stringify(document.Content).length).toBeLessThan(64 * 1024);
  });
});

describe("cdk-nag AwsSolutions", () => {
  it("passes with only reasoned, finding-level acknowledgements", () => {
    expect(defaultApp.nagViolations).toEqual([]);
  });

  it("still catches a new violation", () => {
    const { nagViolations } = synthesize({}, (stack) => {
      new sqs.Queue(stack, "Unencrypted", { encryption: sqs.QueueEncryption.UNENCRYPTED });
    });
    expect(nagViolations.some((v) => v.startsWith("AwsSolutions-SQS4") && v.includes("Unencrypted"))).toBe(
      true,
    );
  });
});
