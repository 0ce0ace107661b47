import type {
  WatchKind,
  WatchLease,
  WatchMember,
  WatchMessage,
  WatchMessages,
  WatchState,
  WatchStore,
} from "../../shared/gate/watch/watch.js";

/** One stored watch: members by instance id, and the lease (as DynamoWatchStore's item holds them). */
interface StoredWatch {
  members: Map<string, WatchMember>;
  leaseUntil?: number;
  lease?: WatchLease;
}

export type WatchStoreCall =
  | { op: "join"; kind: WatchKind; groupName: string; member: WatchMember }
  | { op: "claim"; kind: WatchKind; groupName: string; lease: WatchLease; now: number; leaseUntil: number }
  | {
      op: "renew";
      kind: WatchKind;
      groupName: string;
      held: WatchLease;
      nextHop: number;
      leaseUntil: number;
      leaving: readonly string[];
    }
  | { op: "release"; kind: WatchKind; groupName: string; held: WatchLease; leaving: readonly string[] };

/**
 * WatchStore with DynamoWatchStore's semantics: join upserts its member (creating the watch) and returns
 * the watch after; claim succeeds only when no lease was ever taken or leaseUntil < now; renew and
 * release only for the exact chain and hop that hold it (release sets leaseUntil 0 and keeps the hop);
 * every answer is a copy. Calls are recorded in `calls`; `failNext` makes the next call of an op throw.
 */
export class InMemoryWatchStore implements WatchStore {
  readonly watches = new Map<string, StoredWatch>();
  readonly calls: WatchStoreCall[] = [];
  private readonly failures = new Map<WatchStoreCall["op"], Error[]>();
  /** Called after a call is recorded, before it takes effect: lets a test interleave another writer. */
  beforeOp?: (call: WatchStoreCall) => void | Promise<void>;

  /** The next call of `op` throws `error` instead of taking effect. */
  failNext(op: WatchStoreCall["op"], error = new Error(`${op} failed`)): void {
    const queue = this.failures.get(op) ?? [];
    queue.push(error);
    this.failures.set(op, queue);
  }

  async join(kind: WatchKind, groupName: string, member: WatchMember): Promise<WatchState> {
    await this.enter({ op: "join", kind, groupName, member: structuredClone(member) });
    const watch = this.watchOf(kind, groupName, true);
    watch.members.set(member.instanceId, structuredClone(member));
    return toState(watch);
  }

  async claim(
    kind: WatchKind,
    groupName: string,
    lease: WatchLease,
    now: number,
    leaseUntil: number,
  ): Promise<boolean> {
    await this.enter({ op: "claim", kind, groupName, lease: { ...lease }, now, leaseUntil });
    const existing = this.watchOf(kind, groupName, false);
    if (existing?.leaseUntil !== undefined && !(existing.leaseUntil < now)) return false;
    const watch = this.watchOf(kind, groupName, true);
    watch.lease = { chain: lease.chain, hop: lease.hop };
    watch.leaseUntil = leaseUntil;
    return true;
  }

  async renew(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    nextHop: number,
    leaseUntil: number,
    leaving: readonly string[],
  ): Promise<WatchState | undefined> {
    await this.enter({
      op: "renew",
      kind,
      groupName,
      held: { ...held },
      nextHop,
      leaseUntil,
      leaving: [...leaving],
    });
    return this.holderUpdate(kind, groupName, held, nextHop, leaseUntil, leaving);
  }

  async release(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    leaving: readonly string[],
  ): Promise<WatchState | undefined> {
    await this.enter({ op: "release", kind, groupName, held: { ...held }, leaving: [...leaving] });
    return this.holderUpdate(kind, groupName, held, held.hop, 0, leaving);
  }

  /** The watch as a reader would see it now (a copy); empty when absent. */
  state(kind: WatchKind, groupName: string): WatchState {
    const watch = this.watchOf(kind, groupName, false);
    return watch ? toState(watch) : { members: [], leaseUntil: 0 };
  }

  /** Sets the watch's lease directly, as another holder would have (a test's setup). */
  setLease(kind: WatchKind, groupName: string, lease: WatchLease, leaseUntil: number): void {
    const watch = this.watchOf(kind, groupName, true);
    watch.lease = { ...lease };
    watch.leaseUntil = leaseUntil;
  }

  /** Adds or replaces a member directly, without recording a call (a test's setup). */
  putMember(kind: WatchKind, groupName: string, member: WatchMember): void {
    this.watchOf(kind, groupName, true).members.set(member.instanceId, structuredClone(member));
  }

  /** The recorded calls of one op. */
  callsOf<Op extends WatchStoreCall["op"]>(op: Op): Extract<WatchStoreCall, { op: Op }>[] {
    return this.calls.filter((call): call is Extract<WatchStoreCall, { op: Op }> => call.op === op);
  }

  private holderUpdate(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    nextHop: number,
    leaseUntil: number,
    leaving: readonly string[],
  ): WatchState | undefined {
    const watch = this.watchOf(kind, groupName, false);
    if (!watch?.lease || watch.lease.chain !== held.chain || watch.lease.hop !== held.hop) return undefined;
    watch.lease = { chain: held.chain, hop: nextHop };
    watch.leaseUntil = leaseUntil;
    for (const id of leaving) watch.members.delete(id);
    return toState(watch);
  }

  private async enter(call: WatchStoreCall): Promise<void> {
    this.calls.push(call);
    const error = this.failures.get(call.op)?.shift();
    if (error) throw error;
    await this.beforeOp?.(call);
  }

  private watchOf(kind: WatchKind, groupName: string, create: true): StoredWatch;
  private watchOf(kind: WatchKind, groupName: string, create: false): StoredWatch | undefined;
  private watchOf(kind: WatchKind, groupName: string, create: boolean): StoredWatch | undefined {
    const key = `${kind}#${groupName}`;
    let watch = this.watches.get(key);
    if (!watch && create) {
      watch = { members: new Map() };
      this.watches.set(key, watch);
    }
    return watch;
  }
}

function toState(watch: StoredWatch): WatchState {
  return {
    members: [...watch.members.values()].map((member) => structuredClone(member)),
    leaseUntil: watch.leaseUntil ?? 0,
    ...(watch.lease ? { lease: { ...watch.lease } } : {}),
  };
}

/** WatchMessages that records what is sent; `failNext` makes the next send reject. */
export class RecordingWatchMessages implements WatchMessages {
  readonly sent: { message: WatchMessage; delaySeconds: number }[] = [];
  private failures: Error[] = [];

  failNext(error = new Error("SendMessage failed")): void {
    this.failures.push(error);
  }

  async send(message: WatchMessage, delaySeconds: number): Promise<void> {
    const error = this.failures.shift();
    if (error) throw error;
    this.sent.push({ message: structuredClone(message), delaySeconds });
  }
}
