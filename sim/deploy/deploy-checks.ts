import type { Deployment } from "./deployment.js";
import { isAllowed } from "./policy.js";

/** SIMULATION — a stack CloudFormation would fail to create; the message lists every reason. */
export class DeployError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the stack would not deploy:\n  - ${problems.join("\n  - ")}`);
    this.name = "DeployError";
  }
}

/** Lambda's limit on a function's environment variables, keys and values together. */
const ENVIRONMENT_LIMIT_BYTES = 4096;
/** SSM's limit on a document's content. */
const DOCUMENT_LIMIT_BYTES = 64 * 1024;

/**
 * What the services check when the stack is created (not at run time): an SQS event source needs a
 * queue visibility timeout at least the function's timeout and a role that can receive and delete;
 * an on-failure destination needs a role that can send to it; environments and documents have size
 * limits.
 */
export function checkDeployable(deployment: Deployment): void {
  const problems: string[] = [];
  const queueByArn = new Map(deployment.queues.map((q) => [q.arn, q]));
  for (const mapping of deployment.mappings) {
    const fn = deployment.functions.find((f) => f.name === mapping.functionName);
    const queue = queueByArn.get(mapping.queueArn);
    if (!fn || !queue) {
      problems.push(
        `event source mapping ${mapping.queueArn} → ${mapping.functionName}: unknown queue or function`,
      );
      continue;
    }
    if (queue.visibilityTimeoutSeconds < fn.timeoutSeconds) {
      problems.push(
        `Lambda: Invalid request provided: Queue visibility timeout: ${queue.visibilityTimeoutSeconds} seconds is less than Function timeout: ${fn.timeoutSeconds} seconds (queue ${queue.logicalId}, function ${fn.logicalId})`,
      );
    }
    for (const action of ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]) {
      if (!isAllowed(fn.policy, { action, resource: queue.arn, context: {} })) {
        problems.push(
          `Lambda: The provided execution role does not have permissions to call ${action.slice(4)} on SQS (function ${fn.logicalId}, queue ${queue.logicalId})`,
        );
      }
    }
  }
  for (const fn of deployment.functions) {
    const bytes = Object.entries(fn.environment).reduce((sum, [k, v]) => sum + k.length + v.length, 0);
    if (bytes > ENVIRONMENT_LIMIT_BYTES) {
      problems.push(
        `Lambda: the environment variables of ${fn.logicalId} take ${bytes} bytes, over the 4 KB limit`,
      );
    }
    const destination = fn.async.onFailureArn;
    if (
      destination &&
      !isAllowed(fn.policy, { action: "sqs:SendMessage", resource: destination, context: {} })
    ) {
      problems.push(
        `Lambda: the execution role of ${fn.logicalId} does not have permissions to call SendMessage on its on-failure destination ${destination}`,
      );
    }
  }
  for (const document of deployment.documents) {
    if (document.contentBytes > DOCUMENT_LIMIT_BYTES) {
      problems.push(`SSM: document ${document.name} is ${document.contentBytes} bytes, over the 64 KB limit`);
    }
  }
  if (problems.length > 0) throw new DeployError(problems);
}
