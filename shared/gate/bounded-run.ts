/**
 * Runs `work` over `items` in their order, at most `concurrency` at a time, and returns the results in
 * the same order. Before starting each item it asks `canStart`; once that says no, no further item is
 * started and each remaining one gets `notStarted(item)` instead — so a caller with a deadline (a
 * Lambda's timeout) finishes what it began and reports the rest, rather than being killed mid-step.
 * `work` must settle every item itself: a rejection fails the whole run.
 */
export async function runBounded<T, R>(
  items: readonly T[],
  options: { readonly concurrency: number; readonly canStart: () => boolean },
  work: (item: T) => Promise<R>,
  notStarted: (item: T) => R,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      stopped ||= !options.canStart();
      results[index] = stopped ? notStarted(item) : await work(item);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
