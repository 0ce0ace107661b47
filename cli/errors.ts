/** An error the CLI reports as one line, without a stack trace, and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Turns what the AWS SDK throws into a sentence an operator can act on. Throttling has already been
 * retried by the SDK (adaptive mode, 6 attempts) by the time it reaches here.
 */
export function explainAwsError(error: unknown): string {
  const name = (error as { name?: string } | null)?.name ?? "";
  const message = (error as Error | null)?.message ?? String(error);
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
    return "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`";
  }
  if (/ExpiredToken/i.test(name) || /expired/i.test(message))
    return `your AWS credentials have expired: refresh them (${message})`;
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) return `permission denied: ${message}`;
  if (/Throttl|TooManyRequests|RequestLimitExceeded/i.test(name)) {
    return `AWS throttled the request even after retries (${name}): wait a minute and try again`;
  }
  if (name === "UnknownEndpoint" || /getaddrinfo|ENOTFOUND|ECONNREFUSED/.test(message)) {
    return `cannot reach AWS (${message}): check the network and --region`;
  }
  return `${name || "error"}: ${message}`;
}
