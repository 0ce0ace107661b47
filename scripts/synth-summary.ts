/** A short, human summary of a synthesized launchgate stack: what `cdk deploy` would create. */

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export function summarizeTemplate(
  stackName: string,
  environment: string,
  template: { Resources: Record<string, Resource> },
): string[] {
  const resources = Object.values(template.Resources);
  const ofType = (type: string) => resources.filter((resource) => resource.Type === type);
  const lines = [
    "",
    `launchgate stack ${stackName} (${environment.replace("aws://unknown-account", "aws://<your account>")})`,
    "  gated Auto Scaling groups:",
  ];
  for (const hook of ofType("AWS::AutoScaling::LifecycleHook")) {
    const p = hook.Properties ?? {};
    lines.push(
      `    - ${p.AutoScalingGroupName}: launch hook "${p.LifecycleHookName}", default result ${p.DefaultResult}, heartbeat ${p.HeartbeatTimeout} s`,
    );
  }
  for (const document of ofType("AWS::SSM::Document")) {
    const size = JSON.stringify(document.Properties?.Content ?? {}).length;
    lines.push(
      `  bootstrap document: ${document.Properties?.Name} (${(size / 1024).toFixed(1)} KiB of the 64 KiB limit)`,
    );
  }
  for (const fn of ofType("AWS::Lambda::Function")) {
    const p = fn.Properties ?? {};
    lines.push(`  function: ${String(p.Description).replace(/^launchgate: /, "")}`);
    lines.push(
      `      ${p.Runtime}, ${(p.Architectures as string[] | undefined)?.join(",")}, ${p.MemorySize} MB, timeout ${p.Timeout} s`,
    );
  }
  for (const rule of ofType("AWS::Events::Rule")) {
    lines.push(`  EventBridge rule: ${String(rule.Properties?.Description).replace(/^launchgate: /, "")}`);
  }
  const statements = ofType("AWS::IAM::Policy").reduce(
    (count, policy) =>
      count +
      ((policy.Properties?.PolicyDocument as { Statement?: unknown[] } | undefined)?.Statement?.length ?? 0),
    0,
  );
  lines.push(
    `  tables: ${ofType("AWS::DynamoDB::GlobalTable").length} (gate state, operations), queues: ${ofType("AWS::SQS::Queue").length} (re-checks per function, and failures)`,
    `  IAM: ${ofType("AWS::IAM::Role").length} roles, ${statements} policy statements; cdk-nag AwsSolutions: passed`,
    `  ${resources.length} resources in all. Deploy with credentials: npx cdk deploy ${stackName}`,
  );
  return lines;
}
