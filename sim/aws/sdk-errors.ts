/**
 * SIMULATION — errors shaped like the AWS SDK v3's service exceptions: `name` is the error code, the
 * message is AWS's text where we know it, `$fault` and `$metadata` as the SDK sets them.
 */
export function awsError(
  name: string,
  message: string,
  fault: "client" | "server" = "client",
  status = 400,
): Error {
  const error = new Error(message) as Error & { $fault: string; $metadata: { httpStatusCode: number } };
  error.name = name;
  error.$fault = fault;
  error.$metadata = { httpStatusCode: status };
  return error;
}

/** What Auto Scaling answers for a token that is no longer active (docs/aws-facts.md, lifecycle hooks; exact name UNCONFIRMED). */
export function noActiveLifecycleAction(token: string): Error {
  return awsError("ValidationError", `No active Lifecycle Action found with token ${token}`);
}

export function throttling(api: string): Error {
  return awsError("ThrottlingException", `Rate exceeded (simulated throttling of ${api})`);
}

export function internalFailure(api: string): Error {
  return awsError("InternalFailure", `simulated transient failure of ${api}`, "server", 500);
}

/** A service that is down: the request never reached it (nothing was done). */
export function serviceUnavailable(api: string): Error {
  return awsError("ServiceUnavailable", `simulated outage: ${api} is unavailable`, "server", 503);
}
