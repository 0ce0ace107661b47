/**
 * The CLI's exit codes. Every usage text documents them, and scripts depend on them: keep them stable.
 * `unchecked` is distinct from `failed` so that a gate can tell "the deployment is wrong" from
 * "nobody could look" (no credentials, AWS unreachable, a permission the checker lacks).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unchecked: 3,
} as const;

/** An error the CLI reports as one line, without a stack trace, and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name: string = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

/**
 * A command line that does not parse (unknown command or option, extra arguments): reported with the
 * usage of the command it was meant for, exit 2, before anything is read from AWS.
 */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message, EXIT.usage);
  }
}

/** What Node's sockets and DNS report when AWS cannot be reached at all (offline, firewall, bad endpoint). */
const UNREACHABLE =
  /getaddrinfo|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up/;

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
  const code = (error as { code?: unknown } | null)?.code;
  if (
    name === "UnknownEndpoint" ||
    name === "TimeoutError" ||
    UNREACHABLE.test(message) ||
    (typeof code === "string" && UNREACHABLE.test(code))
  ) {
    return `cannot reach AWS (${message}): check the network and --region`;
  }
  return `${name || "error"}: ${message}`;
}
