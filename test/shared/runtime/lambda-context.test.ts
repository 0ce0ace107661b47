import type { Context } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";

/** Fresh modules in an on-demand environment, as Lambda starts them: the logger tracks the cold start. */
async function freshRuntime() {
  vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  vi.resetModules();
  const { log, logger } = await import("../../../shared/logger.js");
  const { withLambdaContext } = await import("../../../shared/runtime/lambda-context.js");
  logger.setLogLevel("INFO");
  return { log, withLambdaContext };
}

const context = (requestId: string) =>
  ({
    awsRequestId: requestId,
    functionName: "launchgate-launch",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-2:123456789012:function:launchgate-launch",
    memoryLimitInMB: "256",
    getRemainingTimeInMillis: () => 30_000,
  }) as unknown as Context;

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("withLambdaContext", () => {
  it("puts each invocation's request id and cold start on every line it logs, and passes the context on", async () => {
    const lines: Record<string, unknown>[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(JSON.parse(String(chunk)));
      return true;
    });
    const { log, withLambdaContext } = await freshRuntime();
    const seen: (string | undefined)[] = [];
    const handler = withLambdaContext(async (_event: unknown, ctx?: Context) => {
      seen.push(ctx?.awsRequestId);
      log.info("step", { instanceId: "i-0123456789abcdef0" });
    });

    await handler({}, context("req-1"));
    await handler({}, context("req-2"));

    expect(seen).toEqual(["req-1", "req-2"]);
    expect(lines.map((line) => [line.function_request_id, line.cold_start])).toEqual([
      ["req-1", true],
      ["req-2", false],
    ]);
    expect(lines[0]).toMatchObject({ function_name: "launchgate-launch", instanceId: "i-0123456789abcdef0" });
  });
});
