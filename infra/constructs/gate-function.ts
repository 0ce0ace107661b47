import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { FunctionCode } from "./function-code.js";

export interface GateFunctionProps {
  /** Folder name under functions/; its bundle in dist/functions/<name> is the code. */
  readonly functionName: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** Async invocations (EventBridge) that fail every retry land here, with the event. */
  readonly failureQueue: sqs.IQueue;
  /** The function's code, by its folder name. */
  readonly code: FunctionCode;
  /** @default Duration.seconds(30) — each invocation does one short step; waits go through SQS. */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * Asynchronous invocations: Lambda's retries after a function error and how old an event may get.
   * Without a failure destination, an event that fails them is dropped.
   * @default 2 retries, 1 hour, failures to `failureQueue`
   */
  readonly asyncInvocation?: { readonly retryAttempts: number; readonly maxEventAge: Duration };
  /** At most this many concurrent invocations (Lambda throttles the rest). @default unreserved */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The one way launchgate creates a Lambda: Node.js 22 on arm64, the code it is given (the bundle),
 * its own log group with retention, a failure destination, and a role with
 * no managed policies (grants are added next to the resource they concern).
 */
export class GateFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GateFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `launchgate ${props.functionName} function`,
    });
    this.logGroup = logGroup;
    logGroup.grantWrite(this.role);
    this.function = new lambda.Function(this, "Function", {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: "index.handler",
      code: props.code(props.functionName),
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // No X-Ray: the SDK clients are not instrumented, so traces would show only the invocation, which
      // the logs (request id, cold start) and the metrics already tell.
      tracing: lambda.Tracing.DISABLED,
      environment: {
        POWERTOOLS_SERVICE_NAME: "launchgate",
        POWERTOOLS_LOG_LEVEL: "INFO",
        ...props.environment,
      },
      ...(props.asyncInvocation ?? {
        onFailure: new SqsDestination(props.failureQueue),
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    });
  }
}
