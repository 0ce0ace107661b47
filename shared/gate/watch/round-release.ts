import { errorMessage } from "../../errors.js";
import { type GateDeps, groupConfig } from "../deps.js";
import { scheduleWatchedRecheck } from "../keep-alive.js";
import type { GateStore } from "../ports.js";
import type { GateRecord } from "../record.js";
import { WATCHED_PACE_SECONDS } from "./join-watch.js";
import type { WatchKind } from "./watch.js";

/**
 * A step the watch runs that saves a new version of its wait in the phase it found it in (the health
 * step registering again, the agent step whose send failed) may make the save of the wait's own round,
 * in flight, stale — and a round that loses a save ends, taking it that the newer writer carries the
 * wait on. The step is that writer: right after such a save it releases the wait's round (at the
 * watched pace: join-watch.ts), as a step that is not the watch's would have scheduled one; the round
 * the step schedules later is kept back as usual — one is out — unless the release failed: then that
 * one goes out. Released at the save, not at the step's end: the step may not get there (the
 * invocation's timeout under throttling). At worst the wait has two rounds until the next save race
 * ends one; without it, none but the watch's looks, which are not its safety net. A save that moves
 * the wait on (a send claimed) releases nothing: the round it needs is the next phase's, which the
 * step schedules as usual.
 */
export class RoundRelease {
  private readonly foundIn = new Map<string, string>();
  private readonly released = new Set<string>();
  private readonly failed = new Set<string>();

  constructor(
    private readonly deps: GateDeps,
    private readonly kind: WatchKind,
    private readonly groupName: string,
  ) {}

  /** The wait's round could not be released: the one its step schedules must go out. */
  releaseFailed(instanceId: string): boolean {
    return this.failed.has(instanceId);
  }

  /** `store`, noting the phase each wait was first read in and releasing its round after a save. */
  store(store: GateStore): GateStore {
    return {
      load: async (instanceId) => {
        const record = await store.load(instanceId);
        if (record && !this.foundIn.has(instanceId)) this.foundIn.set(instanceId, record.phase);
        return record;
      },
      loadMany: (instanceIds) => store.loadMany(instanceIds),
      save: async (record, options) => {
        await store.save(record, options);
        if (this.foundIn.get(record.instanceId) === record.phase) await this.release(record);
      },
      noteHeartbeat: (wait, lastHeartbeatAt) => store.noteHeartbeat(wait, lastHeartbeatAt),
    };
  }

  private async release(record: GateRecord): Promise<void> {
    if (this.released.has(record.instanceId)) return;
    this.released.add(record.instanceId);
    const { instanceId, token, version } = record;
    const dueBy = this.deps.now() + WATCHED_PACE_SECONDS * 1000;
    try {
      const group = groupConfig(this.deps.config, this.groupName);
      await scheduleWatchedRecheck(this.deps, { instanceId, token, dueBy, version }, this.kind, group);
    } catch (error) {
      this.failed.add(instanceId);
      this.deps.log.warn("could not release a watched wait's round after its save; its step's goes out", {
        instanceId,
        error: errorMessage(error),
      });
    }
  }
}
