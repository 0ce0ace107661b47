import type { OperationRecord } from "./operation.js";
import type { OperationStore } from "./ports.js";

/** Polling pace while a caller waits on an operation (the work itself is driven by re-checks). */
export const WAIT_POLL_SECONDS = 5;

/**
 * Waits until the operation finishes or `remainingMs()` drops under a safety margin, then returns
 * its latest state. The waiting caller only reads: if it gives up, the operation carries on.
 */
export async function awaitOperation(
  store: OperationStore,
  operationId: string,
  remainingMs: () => number,
  sleep: (ms: number) => Promise<void>,
): Promise<OperationRecord | undefined> {
  let op = await store.load(operationId);
  while (op?.status === "running" && remainingMs() > (WAIT_POLL_SECONDS + 10) * 1000) {
    await sleep(WAIT_POLL_SECONDS * 1000);
    op = await store.load(operationId);
  }
  return op;
}
