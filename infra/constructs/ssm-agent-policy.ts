import * as iam from "aws-cdk-lib/aws-iam";

/**
 * The SSM agent's own calls: the actions of the AWS managed policy AmazonSSMManagedInstanceCore except
 * its parameter reads (`ssm:GetParameter`, `ssm:GetParameters` on `*`, which would let every instance
 * read every parameter of the account). Granted on `*` as the managed policy grants them: the instance
 * they act for has no ID before launch (docs/aws-facts.md, IAM scoping: "What
 * AmazonSSMManagedInstanceCore allows").
 */
export const SSM_AGENT_ACTIONS = {
  /** Register and report (DescribeInstanceInformation's PingStatus, which the gate waits for). */
  ssm: [
    "ssm:DescribeAssociation",
    "ssm:GetDeployablePatchSnapshotForInstance",
    "ssm:GetDocument",
    "ssm:DescribeDocument",
    "ssm:GetManifest",
    "ssm:ListAssociations",
    "ssm:ListInstanceAssociations",
    "ssm:PutInventory",
    "ssm:PutComplianceItems",
    "ssm:PutConfigurePackageResult",
    "ssm:UpdateAssociationStatus",
    "ssm:UpdateInstanceAssociationStatus",
    "ssm:UpdateInstanceInformation",
  ],
  /** The agent's control channel (agent 3.x takes commands through it) and Session Manager's. */
  ssmmessages: [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
  ],
  /** Run Command's message delivery: the bootstrap document's commands and their replies. */
  ec2messages: [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
  ],
} as const;

/**
 * What an instance role needs for the SSM agent to come Online and run launchgate's bootstrap, as three
 * statements (Sids `SsmAgent`, `SsmAgentChannels`, `SsmAgentMessages`): AmazonSSMManagedInstanceCore
 * without its `ssm:GetParameter(s)` on every parameter of the account. New objects on each call, e.g.
 * `for (const statement of ssmAgentPolicyStatements()) role.addToPrincipalPolicy(statement);`.
 * The bootstrap's own reads (the secrets path, ECR, the output log group) are not in them.
 */
export function ssmAgentPolicyStatements(): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: "SsmAgent",
      actions: [...SSM_AGENT_ACTIONS.ssm],
      resources: ["*"],
    }),
    new iam.PolicyStatement({
      sid: "SsmAgentChannels",
      actions: [...SSM_AGENT_ACTIONS.ssmmessages],
      resources: ["*"],
    }),
    new iam.PolicyStatement({
      sid: "SsmAgentMessages",
      actions: [...SSM_AGENT_ACTIONS.ec2messages],
      resources: ["*"],
    }),
  ];
}
