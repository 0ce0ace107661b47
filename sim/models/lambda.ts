import { runInvocation } from "../aws/invocation.js";
import { awsError } from "../aws/sdk-errors.js";
import type { DeployedFunction } from "../deploy/deployment.js";
import type { WorldContext } from "../world-context.js";

/**
 * SIMULATION — AWS Lambda as the stack configures it (docs/aws-facts.md, Lambda, EventBridge and SQS delivery): each deployed function runs its
 * real handler with its own environment and role, stops at its timeout, and is throttled beyond its
 * reserved concurrency. Asynchronous invocations (EventBridge) are retried after function errors
 * (1 and 2 minutes, up to the function's MaximumRetryAttempts and MaximumEventAgeInSeconds) and after
 * throttles (with backoff), then go to the on-failure destination.
 */

export type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

export type InvokeOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: Error; readonly throttled?: boolean };

export interface LambdaFaults {
  /** Invocations that crash before running the handler: the Nth invocation of a function folder. */
  readonly crashInvocations?: readonly { readonly functionName: string; readonly nth: number }[];
  /** Probability that any invocation crashes (runtime error, out of memory) before its handler runs. */
  readonly crashRate?: number;
  /**
   * Probability that an invocation carrying a group watch's message (shared/gate/watch) crashes before
   * its handler runs: a watch held by invocations that never look.
   */
  readonly watchCrashRate?: number;
}

export interface LoadedFunction {
  readonly deployed: DeployedFunction;
  readonly handler: LambdaHandler;
  /** The function's folder under functions/ (its source), by which scenarios name it. */
  readonly folder: string;
}

export class LambdaModel {
  readonly invocations = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly timeouts = new Map<string, number>();
  readonly throttles = new Map<string, number>();
  /** Async events not settled yet: queued, running, or waiting for a retry. */
  readonly pendingAsync = new Set<unknown>();
  /** Async events that failed every retry and went to a function's on-failure destination. */
  readonly failedAsync: unknown[] = [];
  private readonly inFlight = new Map<string, number>();
  private nextRequest = 0;

  constructor(
    private readonly world: WorldContext,
    private readonly functions: ReadonlyMap<string, LoadedFunction>,
    private readonly faults: LambdaFaults,
    private readonly sendToDestination: (arn: string, body: string) => void,
  ) {}

  /** The function deployed from functions/<folder>, as the stack named it. */
  nameOf(folder: string): string {
    const fn = [...this.functions.values()].find((f) => f.folder === folder);
    if (!fn) throw new Error(`simulation: the stack deploys no function from functions/${folder}`);
    return fn.deployed.name;
  }

  byArnOrName(ref: string): LoadedFunction | undefined {
    return [...this.functions.values()].find((f) => f.deployed.arn === ref || f.deployed.name === ref);
  }

  /** A synchronous invocation (an operator's, or an event-source mapping's). */
  async invoke(functionName: string, event: unknown): Promise<InvokeOutcome> {
    const fn = this.functions.get(functionName);
    if (!fn)
      return {
        ok: false,
        error: awsError("ResourceNotFoundException", `Function not found: ${functionName}`),
      };
    const running = this.inFlight.get(functionName) ?? 0;
    if (fn.deployed.reservedConcurrency !== undefined && running >= fn.deployed.reservedConcurrency) {
      bump(this.throttles, fn.folder);
      return {
        ok: false,
        throttled: true,
        error: awsError("TooManyRequestsException", "Rate Exceeded.", "client", 429),
      };
    }
    const nth = bump(this.invocations, fn.folder);
    this.inFlight.set(functionName, running + 1);
    try {
      return await this.run(fn, event, nth);
    } finally {
      this.inFlight.set(functionName, (this.inFlight.get(functionName) ?? 1) - 1);
    }
  }

  /** An asynchronous invocation (EventBridge): queued by Lambda, retried, then sent to the destination. */
  invokeAsync(functionName: string, event: unknown): void {
    const fn = this.functions.get(functionName);
    if (!fn) throw new Error(`simulation: async invoke of unknown function ${functionName}`);
    const queuedAt = this.world.clock.now();
    this.pendingAsync.add(event);
    const attempt = async (retries: number, throttleBackoff: number): Promise<void> => {
      const outcome = await this.invoke(functionName, event);
      if (outcome.ok) {
        this.pendingAsync.delete(event);
        return;
      }
      const age = this.world.clock.now() - queuedAt;
      const maxAge = fn.deployed.async.maxEventAgeSeconds * 1000;
      if (outcome.throttled) {
        if (age + throttleBackoff < maxAge) {
          this.world.clock.after(throttleBackoff, () =>
            attempt(retries, Math.min(300_000, throttleBackoff * 2)),
          );
          return;
        }
      } else if (retries < fn.deployed.async.maxRetries && age + (retries + 1) * 60_000 < maxAge) {
        this.world.clock.after((retries + 1) * 60_000, () => attempt(retries + 1, throttleBackoff));
        return;
      }
      this.pendingAsync.delete(event);
      this.failedAsync.push(event);
      const destination = fn.deployed.async.onFailureArn;
      this.world.note(
        "lambda",
        `${fn.folder}: event failed every retry; sent to ${destination ? "its on-failure destination" : "nowhere (no destination)"}`,
      );
      if (destination)
        this.sendToDestination(
          destination,
          JSON.stringify({ requestPayload: event, error: outcome.error.message }),
        );
    };
    void attempt(0, 1000);
  }

  private async run(fn: LoadedFunction, event: unknown, nth: number): Promise<InvokeOutcome> {
    const startedAt = this.world.clock.now();
    const deadline = startedAt + fn.deployed.timeoutSeconds * 1000;
    const invocation = {
      fn: fn.deployed,
      requestId: `req-${++this.nextRequest}`,
      startedAt,
      deadline,
      stopped: false,
    };
    const context = {
      functionName: fn.deployed.name,
      awsRequestId: invocation.requestId,
      getRemainingTimeInMillis: () => Math.max(0, deadline - this.world.clock.now()),
    };
    const crash =
      this.faults.crashInvocations?.some((c) => c.functionName === fn.folder && c.nth === nth) ||
      this.world.random.chance(this.faults.crashRate ?? 0) ||
      (carriesWatch(event) && this.world.random.chance(this.faults.watchCrashRate ?? 0));
    const handled = runInvocation(invocation, async () => {
      if (crash) throw new Error(`simulated crash of ${fn.folder} invocation #${nth}`);
      return fn.handler(event, context);
    }).then(
      (result): InvokeOutcome => ({ ok: true, result }),
      (error: unknown): InvokeOutcome => ({ ok: false, error: error as Error }),
    );
    const timedOut = new Promise<InvokeOutcome>((resolve) =>
      this.world.clock.after(
        fn.deployed.timeoutSeconds * 1000,
        () => {
          invocation.stopped = true;
          resolve({
            ok: false,
            error: new Error(`Task timed out after ${fn.deployed.timeoutSeconds}.00 seconds`),
          });
        },
        { background: true },
      ),
    );
    const outcome = await Promise.race([handled, timedOut]);
    if (!outcome.ok) {
      bump(invocation.stopped ? this.timeouts : this.errors, fn.folder);
      const instanceId = /i-0[0-9a-f]{16}/.exec(JSON.stringify(event))?.[0];
      this.world.note("lambda", `${fn.folder} failed: ${outcome.error.message}`, instanceId);
    }
    invocation.stopped = true;
    return outcome;
  }
}

/** Whether an SQS event holds a group watch's message (its body has a `watch` field). */
function carriesWatch(event: unknown): boolean {
  const records = (event as { Records?: { body?: unknown }[] } | null)?.Records;
  return (
    Array.isArray(records) && records.some((r) => typeof r.body === "string" && r.body.includes('"watch":'))
  );
}

function bump(counts: Map<string, number>, key: string): number {
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return n;
}
