import { AsyncLocalStorage } from "node:async_hooks";
import type { DeployedFunction } from "../deploy/deployment.js";

/**
 * SIMULATION — which function invocation is running, for every AWS call and environment read made
 * inside it: the router checks the call against that function's role, and the environment is that
 * function's own, as deployed. Handlers share module-scope clients and one process, so this is carried
 * along the async call chain rather than in a global.
 */
export interface Invocation {
  readonly fn: DeployedFunction;
  readonly requestId: string;
  readonly startedAt: number;
  readonly deadline: number;
  /** Set when the invocation hit its timeout: Lambda stopped it, so it makes no further calls. */
  stopped: boolean;
}

const current = new AsyncLocalStorage<Invocation>();

export function runInvocation<T>(invocation: Invocation, body: () => Promise<T>): Promise<T> {
  return current.run(invocation, body);
}

export function currentInvocation(): Invocation | undefined {
  return current.getStore();
}

/** What the Lambda runtime itself puts in every function's environment (beside the function's own). */
export function runtimeEnvironment(fn: DeployedFunction, region: string): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    _HANDLER: `index.${fn.exportName}`,
    // The simulation's own switches, which the deployed functions would not have but the process needs.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

/**
 * Replaces process.env while the world runs: inside an invocation, reads see only the function's
 * deployed variables and the runtime's; outside, the process's own. Returns the restore function.
 */
export function installFunctionEnvironments(region: string): () => void {
  const real = process.env;
  const envOf = () => {
    const invocation = current.getStore();
    return invocation
      ? { ...invocation.fn.environment, ...runtimeEnvironment(invocation.fn, region) }
      : undefined;
  };
  process.env = new Proxy(real, {
    get: (target, key) => {
      const env = envOf();
      return env && typeof key === "string" ? env[key] : Reflect.get(target, key);
    },
    has: (target, key) => {
      const env = envOf();
      return env && typeof key === "string" ? key in env : Reflect.has(target, key);
    },
    ownKeys: (target) => {
      const env = envOf();
      return env ? Object.keys(env) : Reflect.ownKeys(target);
    },
    getOwnPropertyDescriptor: (target, key) => {
      const env = envOf();
      if (!env || typeof key !== "string") return Reflect.getOwnPropertyDescriptor(target, key);
      return key in env
        ? { value: env[key], enumerable: true, configurable: true, writable: true }
        : undefined;
    },
  });
  return () => {
    process.env = real;
  };
}

/**
 * What a function writes to stdout goes to its log group, as in Lambda, not to the simulation's report:
 * `capture` gets each write made inside an invocation (embedded metrics, and any log line). Returns the
 * restore function.
 */
export function installFunctionOutput(capture: (fn: DeployedFunction, text: string) => void): () => void {
  const stdout = process.stdout;
  const realWrite = stdout.write;
  stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const invocation = current.getStore();
    if (!invocation) return (realWrite as (...args: unknown[]) => boolean).call(stdout, chunk, ...rest);
    capture(invocation.fn, String(chunk));
    const done = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof stdout.write;
  return () => {
    stdout.write = realWrite;
  };
}

/**
 * Timers set inside an invocation (a handler that pauses between retries, a caller waiting on an
 * operation) run on the virtual clock: a real timer would let the world move on without them and make
 * runs depend on the machine's speed. Outside invocations, timers are the process's own. Returns the
 * restore function.
 */
export function installVirtualTimers(after: (ms: number, action: () => void) => void): () => void {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const cancelled = new WeakSet<object>();
  const virtualSet = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const invocation = current.getStore();
    if (!invocation) return realSet(callback, ms, ...args);
    const handle = { virtual: true, ref: () => handle, unref: () => handle, hasRef: () => true };
    // A timer's callback runs in the invocation that set it, as Node's async context carries it.
    after(ms ?? 0, () => {
      if (!cancelled.has(handle)) current.run(invocation, () => callback(...args));
    });
    return handle;
  };
  const virtualClear = (handle: unknown) => {
    if (handle && typeof handle === "object" && "virtual" in handle) cancelled.add(handle);
    else realClear(handle as Parameters<typeof clearTimeout>[0]);
  };
  globalThis.setTimeout = virtualSet as unknown as typeof setTimeout;
  globalThis.clearTimeout = virtualClear as typeof clearTimeout;
  return () => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  };
}
