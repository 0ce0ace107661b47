/**
 * SIMULATION — a virtual clock with a queue of timed actions (a discrete-event simulation). Nothing
 * sleeps: time jumps to the next action. Actions due at the same instant run concurrently, as Lambda
 * invocations would, so races between them are exercised. An action may itself wait on virtual time
 * (`sleep`: an AWS call's latency, a function's timeout): the clock moves on only once every running
 * action is either finished or parked on such a wait, so invocations overlap and interleave as they
 * would on AWS.
 */

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly action: () => Promise<void> | void;
  /** Housekeeping (a schedule's next tick, a timeout that will likely not fire): not "work pending". */
  readonly background: boolean;
}

export class VirtualClock {
  private current: number;
  private seq = 0;
  private readonly heap: Entry[] = [];
  /** Bumped whenever a running action finishes or parks: the drain loop watches it. */
  private progress = 0;
  /** Entries queued that are real work (not background housekeeping). */
  private foreground = 0;
  private failure: unknown;

  constructor(start: number) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Runs `action` `delayMs` from now (at least the current instant). */
  after(delayMs: number, action: () => Promise<void> | void, options: { background?: boolean } = {}): void {
    const background = options.background ?? false;
    if (!background) this.foreground += 1;
    this.push({ at: this.current + Math.max(0, delayMs), seq: this.seq++, action, background });
  }

  /** Resolves after `delayMs` of virtual time; for code running inside an action. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.progress += 1;
      this.after(delayMs, () => {
        this.progress += 1;
        resolve();
      });
    });
  }

  /**
   * Runs actions in time order until none is left or `until` (epoch ms) is reached. Returns the
   * number of instants processed. An action that throws stops the run with its error.
   */
  async run(until: number, afterInstant?: () => void): Promise<number> {
    let instants = 0;
    while (this.heap.length > 0) {
      const next = this.heap[0];
      if (!next || next.at > until) break;
      this.current = next.at;
      while (this.heap.length > 0 && this.heap[0]?.at === this.current) this.start(this.pop());
      await this.drain();
      if (this.failure !== undefined) throw this.failure;
      afterInstant?.();
      instants += 1;
    }
    return instants;
  }

  private start(entry: Entry): void {
    if (!entry.background) this.foreground -= 1;
    Promise.resolve()
      .then(entry.action)
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.progress += 1;
      });
  }

  /**
   * Lets every started action run until it finishes or parks on `sleep`. Everything the world runs
   * is promise microtasks (the SDK is stubbed, nothing does I/O), which a macrotask turn drains; the
   * loop repeats while the turn made progress.
   */
  private async drain(): Promise<void> {
    for (;;) {
      const before = this.progress;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.progress === before) return;
    }
  }

  /** Real work still queued: background housekeeping (schedules, timeouts) does not count. */
  pending(): number {
    return this.foreground;
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0] as Entry;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left] as Entry, heap[smallest] as Entry)) smallest = left;
        if (right < heap.length && before(heap[right] as Entry, heap[smallest] as Entry)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as Entry, heap[i] as Entry];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
