import type {
  CompleteLifecycleActionCommandInput,
  DescribeAutoScalingGroupsCommandInput,
  DescribeAutoScalingGroupsCommandOutput,
  DescribeAutoScalingInstancesCommandInput,
  DescribeAutoScalingInstancesCommandOutput,
  DescribeWarmPoolCommandInput,
  DescribeWarmPoolCommandOutput,
  RecordLifecycleActionHeartbeatCommandInput,
  SetDesiredCapacityCommandInput,
  SetInstanceHealthCommandInput,
} from "@aws-sdk/client-auto-scaling";
import { LAUNCHING_TRANSITION } from "../../shared/events/parse-lifecycle-action.js";
import { TERMINATING_TRANSITION } from "../../shared/events/parse-terminate-action.js";
import {
  LAUNCH_LIFECYCLE_DETAIL_TYPE,
  TERMINATE_LIFECYCLE_DETAIL_TYPE,
} from "../../shared/events/patterns.js";
import { awsError, noActiveLifecycleAction } from "../aws/sdk-errors.js";
import type { InstanceBehaviour, WorldContext } from "../world-context.js";

/**
 * SIMULATION — EC2 Auto Scaling, as far as the gate touches it (docs/aws-facts.md, lifecycle hooks; load balancer registration and target health):
 * - a launch waits in Pending:Wait with a token; the hook's heartbeat timeout applies its default
 *   result (ABANDON) unless a heartbeat or a completion comes first;
 * - CONTINUE → the group registers the instance with its target groups → InService;
 * - ABANDON → terminate (deregistering from the target groups) → a replacement launches;
 * - completing a wait that is no longer active fails with "No active Lifecycle Action found";
 * - the group's launch hook is the one the stack deployed: a group without one is not gated at all;
 * - Describe* lag behind the lifecycle event by up to a few seconds (eventual consistency): a wait
 *   can still be listed as `Pending` when its event arrives.
 * - a group may have a warm pool (docs/aws-facts.md, warm pools): it is kept at AWS's size for it,
 *   max(minSize, (maxGroupPreparedCapacity, else the group's max size) − desired) (`poolTarget`), with
 *   instances launched into it (`Warmed:Pending` → `Warmed:Pending:Wait`, event EC2 → WarmPool), which
 *   a CONTINUE stops there (`Warmed:Pending:Proceed` → `Warmed:Stopped`: agent offline, app not
 *   running) or, for a pool state Running, leaves running (`Warmed:Running`: agent still Online, app
 *   not started — `prepare` does not start it). A scale-out draws on the pool first (→ `Pending` →
 *   `Pending:Wait`, event WarmPool → AutoScalingGroup): a stopped instance boots again, so its agent
 *   comes back after its boot delay; a running one does not boot, its agent is Online throughout. It
 *   launches directly (EC2 → AutoScalingGroup) when the pool is empty; the pool is refilled.
 *   DescribeWarmPool and DescribeAutoScalingGroups report the pool's `PoolState`.
 *   Pool instances are listed by DescribeWarmPool, not in DescribeAutoScalingGroups' `Instances` (the
 *   cautious reading of an UNCONFIRMED fact); DescribeAutoScalingInstances lists every instance.
 * - a group may have a terminate hook (groups[].drain: the stack's drain hook, see useTerminateHooks): an
 *   InService instance leaving the group (scale-in, Unhealthy, an operator) is deregistered from its
 *   target groups first (`Terminating`), and only once their deregistration delay (the longest of their
 *   attributes) has passed does it wait in Terminating:Wait (docs/aws-facts.md, terminate lifecycle
 *   hooks) — the event "EC2 Instance-terminate Lifecycle Action" (AutoScalingGroup → EC2) is sent then —
 *   until
 *   CompleteLifecycleAction (either result: the instance terminates) or the heartbeat timeout (its
 *   default result), then Terminating:Proceed → Terminated (docs/aws-facts.md, terminate lifecycle hooks).
 *   A terminate wait that only its timeout ends is a violation: the drain must always complete it.
 * Guess, marked: launch-to-event and CONTINUE-to-InService latencies (1 s), replacement delay (10 s),
 * the Describe* lag (uniform 0–4 s), stopping a pool instance (15 s), a running pool instance's
 * `Warmed:Pending:Proceed` → `Warmed:Running` (1 s).
 */

export interface SimHook {
  readonly name: string;
  readonly heartbeatTimeoutSeconds: number;
  readonly defaultResult: string;
}

export interface SimGroup {
  readonly name: string;
  readonly arn: string;
  /** The launch hook the stack put on the group; absent: launches are not held at all. */
  readonly hook?: SimHook;
  readonly targetGroupArns: readonly string[];
  desired: number;
  /** Cap on launches, so a scenario whose every launch fails still ends. */
  readonly maxLaunches: number;
  launches: number;
  /** The group's warm pool, sized by AWS's rule (`poolTarget`); absent: none. */
  readonly warmPool?: SimWarmPool;
  /** The group's maximum capacity (it sizes a warm pool without maxGroupPreparedCapacity). @default 200, as DescribeAutoScalingGroups reports */
  readonly maxSize?: number;
  /** The terminate (drain) hook the stack put on the group; absent: instances terminate at once. */
  terminateHook?: SimHook;
}

/** The pool states the simulation models (Hibernated is not: docs/aws-facts.md, warm pools). */
export type SimPoolState = "Stopped" | "Running";

export interface SimWarmPool {
  readonly minSize: number;
  /**
   * Instances allowed in the pool and the group together (PutWarmPool `MaxGroupPreparedCapacity`); the
   * pool holds max(minSize, this − desired). The reference environment sets it to minSize. @default the
   * group's max size (docs/aws-facts.md, warm pools: pool size)
   */
  readonly maxGroupPreparedCapacity?: number;
  /** @default "Stopped" */
  readonly poolState?: SimPoolState;
}

export interface SimInstance {
  readonly id: string;
  readonly group: SimGroup;
  readonly behaviour: InstanceBehaviour;
  readonly launchedAt: number;
  readonly launchIndex: number;
  state: string;
  token?: string;
  hookExpiresAt?: number;
  /** Until then, Describe* still list a new wait as `Pending`. */
  waitListedAt?: number;
  /** How each wait ended; `byInstanceId`: CompleteLifecycleAction named it without a token. */
  completions: { at: number; result: string; token: string; byInstanceId?: boolean }[];
  inServiceAt?: number;
  terminatedAt?: number;
  /** When a scale-out took the instance out of the warm pool (absent: it never was in one, or is still). */
  leftPoolAt?: number;
  /** The pool state it left the warm pool from (with leftPoolAt). */
  leftPoolState?: SimPoolState;
  /** When the group decided the instance leaves, for an instance held by a terminate hook. */
  leavingAt?: number;
  /** When the instance began to wait at the terminate hook (absent: it never did). */
  terminateWaitAt?: number;
}

/** Where a launch wait comes from and goes to (the lifecycle event's Origin and Destination). */
type Transition = {
  readonly origin: "EC2" | "WarmPool";
  readonly destination: "AutoScalingGroup" | "WarmPool";
};

/** How long stopping a prepared instance in the warm pool takes (a guess). */
const POOL_STOP_MS = 15_000;

/** How long a running pool instance's state changes take (a guess: as CONTINUE → InService). */
const POOL_RUNNING_MS = 1000;

/** The pool states an instance can be drawn from (prepared, done moving). */
const READY_IN_POOL: ReadonlySet<string> = new Set(["Warmed:Stopped", "Warmed:Running"]);

/** A group's max size when the scenario names none (what DescribeAutoScalingGroups reports). */
const DEFAULT_MAX_SIZE = 200;

/**
 * How many instances a group's warm pool holds, by AWS's rule: max(MinSize, (MaxGroupPreparedCapacity,
 * else the group's max size) − desired) (docs/aws-facts.md, warm pools: pool size). 0 without a pool.
 */
export function poolTarget(group: SimGroup): number {
  if (!group.warmPool) return 0;
  const prepared = group.warmPool.maxGroupPreparedCapacity ?? group.maxSize ?? DEFAULT_MAX_SIZE;
  return Math.max(group.warmPool.minSize, prepared - group.desired);
}

export interface AutoScalingPeers {
  /** Emits an event onto the simulated EventBridge bus. */
  emit(event: Record<string, unknown>): void;
  /** An instance boots: launched, or started again out of the warm pool. */
  instanceLaunched(instance: SimInstance): void;
  /** An instance stops running: terminated, or stopped in the warm pool. */
  instanceTerminated(instance: SimInstance): void;
  /** The group's own registration at the end of the hook. */
  registerWithGroupTargets(instance: SimInstance): void;
  deregisterFromGroupTargets(instance: SimInstance): void;
  /** The longest deregistration delay of the instance's target groups (their attribute), in seconds. */
  deregistrationDelaySeconds(instance: SimInstance): number;
  /** Whether every target group of the group reports the instance healthy right now. */
  healthyInAllTargetGroups(instance: SimInstance): boolean;
  /** A launch was completed with ABANDON (checked against what the load balancer last said). */
  abandoned(instance: SimInstance): void;
}

export class AutoScalingModel {
  readonly groups = new Map<string, SimGroup>();
  readonly instances = new Map<string, SimInstance>();
  /** Every CompleteLifecycleAction call, accepted or not, for the "never conflicting" invariant. */
  readonly completionAttempts: { token: string; result: string; accepted: boolean }[] = [];

  constructor(
    private readonly world: WorldContext,
    private readonly peers: AutoScalingPeers,
    private readonly behaviourFor: (group: SimGroup, launchIndex: number) => InstanceBehaviour,
  ) {}

  addGroup(group: SimGroup): void {
    this.groups.set(group.name, group);
    // A warm pool is filled as soon as it exists.
    if (group.warmPool) this.world.clock.after(0, () => this.fillPool(group));
  }

  /** An instance already serving before the scenario starts. */
  addServingInstance(group: SimGroup, behaviour: InstanceBehaviour): SimInstance {
    const instance = this.newInstance(group, behaviour, -1);
    instance.state = "InService";
    instance.inServiceAt = this.world.clock.now();
    return instance;
  }

  setDesiredCapacity(groupName: string, desired: number): void {
    const group = this.required(groupName);
    group.desired = desired;
    this.world.note("asg", `desired capacity of ${groupName} set to ${desired}`);
    this.fillCapacity(group);
    this.shedCapacity(group);
  }

  /** SetDesiredCapacity, as the operations function calls it (a surge, and its end). */
  setDesiredCapacityApi(input: SetDesiredCapacityCommandInput): Record<string, never> {
    this.setDesiredCapacity(String(input.AutoScalingGroupName), Number(input.DesiredCapacity));
    return {};
  }

  /**
   * The stack's terminate hooks (the drain hooks of groups with `drain`), from the deployed template:
   * each configured group with one holds its leaving instances in Terminating:Wait.
   */
  useTerminateHooks(
    hooks: readonly {
      groupName: string;
      hookName: string;
      transition: string;
      heartbeatTimeoutSeconds: number;
      defaultResult: string;
    }[],
  ): void {
    for (const hook of hooks) {
      const group = this.groups.get(hook.groupName);
      if (!group || hook.transition !== TERMINATING_TRANSITION) continue;
      group.terminateHook = {
        name: hook.hookName,
        heartbeatTimeoutSeconds: hook.heartbeatTimeoutSeconds,
        defaultResult: hook.defaultResult,
      };
    }
  }

  /** Terminates an instance from outside the gate (an operator, a spot interruption…). */
  terminateInstance(instanceId: string, why: string): void {
    const instance = this.instances.get(instanceId);
    if (instance) this.terminate(instance, why);
  }

  // --- the API the gate calls -------------------------------------------------------------------

  describeAutoScalingInstances(
    input: DescribeAutoScalingInstancesCommandInput,
  ): DescribeAutoScalingInstancesCommandOutput {
    const ids = input.InstanceIds ?? [];
    const found = ids
      .map((id) => this.instances.get(id))
      .filter((i): i is SimInstance => !!i && i.state !== "Terminated");
    return {
      $metadata: {},
      AutoScalingInstances: found.map((instance) => ({
        InstanceId: instance.id,
        AutoScalingGroupName: instance.group.name,
        AvailabilityZone: instance.behaviour.zone,
        LifecycleState: this.listedState(instance) as never,
        HealthStatus: "HEALTHY",
        ProtectedFromScaleIn: false,
      })),
    };
  }

  describeAutoScalingGroups(
    input: DescribeAutoScalingGroupsCommandInput,
  ): DescribeAutoScalingGroupsCommandOutput {
    const groups = (input.AutoScalingGroupNames ?? [])
      .map((name) => this.groups.get(name))
      .filter((g) => !!g);
    return {
      $metadata: {},
      AutoScalingGroups: groups.map((group) => ({
        AutoScalingGroupName: group.name,
        MinSize: 1,
        MaxSize: group.maxSize ?? DEFAULT_MAX_SIZE,
        DesiredCapacity: group.desired,
        DefaultCooldown: 300,
        AvailabilityZones: ["eu-west-2a", "eu-west-2b", "eu-west-2c"],
        HealthCheckType: "ELB",
        CreatedTime: new Date(0),
        TargetGroupARNs: [...group.targetGroupArns],
        ...(group.warmPool
          ? {
              WarmPoolConfiguration: warmPoolConfiguration(group.warmPool),
              WarmPoolSize: this.poolInstances(group).length,
            }
          : {}),
        Instances: [...this.instances.values()]
          .filter(
            (instance) => instance.group === group && instance.state !== "Terminated" && !inPool(instance),
          )
          .map((instance) => ({
            InstanceId: instance.id,
            AvailabilityZone: instance.behaviour.zone,
            LifecycleState: this.listedState(instance) as never,
            HealthStatus: "Healthy",
            ProtectedFromScaleIn: false,
          })),
      })),
    };
  }

  /** The group's warm pool and its instances, in pages of MaxRecords (at most 50). */
  describeWarmPool(input: DescribeWarmPoolCommandInput): DescribeWarmPoolCommandOutput {
    const group = this.groups.get(String(input.AutoScalingGroupName));
    if (!group) throw awsError("ValidationError", `Group ${input.AutoScalingGroupName} not found`);
    const size = input.MaxRecords ?? 50;
    if (size < 1 || size > 50)
      throw awsError("ValidationError", "MaxRecords must be between 1 and 50 for DescribeWarmPool");
    const pool = group.warmPool ? this.poolInstances(group) : [];
    const start = Number(input.NextToken ?? 0);
    return {
      $metadata: {},
      ...(group.warmPool ? { WarmPoolConfiguration: warmPoolConfiguration(group.warmPool) } : {}),
      Instances: pool.slice(start, start + size).map((instance) => ({
        InstanceId: instance.id,
        AvailabilityZone: instance.behaviour.zone,
        LifecycleState: this.listedState(instance) as never,
        HealthStatus: "Healthy",
        ProtectedFromScaleIn: false,
      })),
      NextToken: start + size < pool.length ? String(start + size) : undefined,
    };
  }

  completeLifecycleAction(input: CompleteLifecycleActionCommandInput): Record<string, never> {
    const result = input.LifecycleActionResult ?? "";
    // A completion by instance id names whichever wait holds the instance: it is counted as that wait's
    // (or, when none does, as the instance's last wait's), so an instance's two waits stay two.
    const wait = input.LifecycleActionToken ?? this.waitNamedByInstance(input.InstanceId);
    const attempt = { token: wait ?? input.InstanceId ?? "", result, accepted: false };
    this.completionAttempts.push(attempt);
    const instance = this.activeWait(
      input.LifecycleActionToken,
      input.InstanceId,
      input.AutoScalingGroupName,
      input.LifecycleHookName,
    );
    attempt.accepted = true;
    if (result !== "CONTINUE" && result !== "ABANDON")
      throw awsError("ValidationError", `invalid result ${result}`);
    instance.completions.push({
      at: this.world.clock.now(),
      result,
      token: instance.token ?? "",
      ...(input.LifecycleActionToken ? {} : { byInstanceId: true }),
    });
    instance.token = undefined;
    if (instance.state === "Terminating:Wait") {
      // On a terminate hook either result lets the instance terminate.
      this.world.note("asg", `terminate hook completed: ${result}`, instance.id);
      this.proceedToTerminate(instance);
      return {};
    }
    if (result === "ABANDON") {
      this.world.note("asg", "hook completed: ABANDON", instance.id);
      this.peers.abandoned(instance);
      this.terminate(instance, "launch abandoned");
      return {};
    }
    if (instance.state === "Warmed:Pending:Wait") {
      // Into the pool: prepared, not serving; nothing is registered, so there is no health to judge.
      this.world.note("asg", "hook completed: CONTINUE (into the warm pool)", instance.id);
      this.proceedIntoPool(instance);
      return {};
    }
    // The invariant the whole product exists for.
    if (!this.peers.healthyInAllTargetGroups(instance)) {
      this.world.violation(`${instance.id} got CONTINUE while not healthy in every target group`);
    }
    this.world.note("asg", "hook completed: CONTINUE", instance.id);
    this.proceed(instance);
    return {};
  }

  /** Pending:Proceed → the group registers the instance with its target groups → InService. */
  private proceed(instance: SimInstance): void {
    instance.state = "Pending:Proceed";
    this.world.clock.after(1000, () => {
      if (instance.state !== "Pending:Proceed") return;
      this.peers.registerWithGroupTargets(instance);
      instance.state = "InService";
      instance.inServiceAt = this.world.clock.now();
      this.world.note("asg", `InService${this.timeToServe(instance)}`, instance.id);
    });
  }

  /** For a group with a warm pool: how long the instance took, from the pool or from its launch. */
  private timeToServe(instance: SimInstance): string {
    if (!instance.group.warmPool || instance.inServiceAt === undefined) return "";
    const from = instance.leftPoolAt ?? instance.launchedAt;
    const seconds = Math.round((instance.inServiceAt - from) / 1000);
    return instance.leftPoolAt === undefined
      ? ` (${seconds} s after launch, cold)`
      : ` (${seconds} s after leaving the warm pool)`;
  }

  /**
   * CONTINUE into the pool: Warmed:Pending:Proceed, then stopped there (agent offline) until drawn on —
   * or, in a Running pool, left running (agent still Online) until drawn on.
   */
  private proceedIntoPool(instance: SimInstance): void {
    instance.state = "Warmed:Pending:Proceed";
    if (poolStateOf(instance.group) === "Running") {
      this.world.clock.after(POOL_RUNNING_MS, () => {
        if (instance.state !== "Warmed:Pending:Proceed") return;
        instance.state = "Warmed:Running";
        this.world.note("asg", "Warmed:Running (prepared, kept running in the warm pool)", instance.id);
        this.fillCapacity(instance.group);
      });
      return;
    }
    this.world.clock.after(POOL_STOP_MS, () => {
      if (instance.state !== "Warmed:Pending:Proceed") return;
      instance.state = "Warmed:Stopped";
      this.peers.instanceTerminated(instance);
      this.world.note("asg", "Warmed:Stopped (prepared, stopped in the warm pool)", instance.id);
      // A scale-out that found the pool still preparing may be short: it draws on the pool now.
      this.fillCapacity(instance.group);
    });
  }

  /** What Describe* report: a new wait shows as `Pending` until the API catches up with the event. */
  private listedState(instance: SimInstance): string {
    const lagging = this.world.clock.now() < (instance.waitListedAt ?? 0);
    if (instance.state === "Pending:Wait" && lagging) return "Pending";
    if (instance.state === "Warmed:Pending:Wait" && lagging) return "Warmed:Pending";
    return instance.state;
  }

  /** Unhealthy: Auto Scaling terminates the instance and launches a replacement (docs/aws-facts.md, remediation APIs). */
  setInstanceHealth(input: SetInstanceHealthCommandInput): Record<string, never> {
    const instance = this.instances.get(input.InstanceId ?? "");
    if (!instance || instance.state === "Terminated")
      throw awsError("ValidationError", `instance ${input.InstanceId} not found`);
    if (input.HealthStatus === "Unhealthy") {
      this.world.note("asg", "marked Unhealthy: will be replaced", instance.id);
      this.terminate(instance, "marked Unhealthy");
    }
    return {};
  }

  recordLifecycleActionHeartbeat(input: RecordLifecycleActionHeartbeatCommandInput): Record<string, never> {
    const instance = this.activeWait(
      input.LifecycleActionToken,
      input.InstanceId,
      input.AutoScalingGroupName,
      input.LifecycleHookName,
    );
    const hook = instance.state === "Terminating:Wait" ? instance.group.terminateHook : instance.group.hook;
    instance.hookExpiresAt = this.world.clock.now() + (hook?.heartbeatTimeoutSeconds ?? 0) * 1000;
    return {};
  }

  /** The token of the wait holding the instance now, else of its last wait (undefined: none). */
  private waitNamedByInstance(instanceId: string | undefined): string | undefined {
    const instance = this.instances.get(instanceId ?? "");
    if (!instance) return undefined;
    return (WAITING.has(instance.state) || instance.state === "Terminating:Wait") && instance.token
      ? instance.token
      : instance.completions.at(-1)?.token;
  }

  /** The instance a lifecycle token belongs (or belonged) to, for per-launch call counts. */
  instanceForToken(token: string): string | undefined {
    for (const instance of this.instances.values()) {
      if (instance.token === token || instance.completions.some((c) => c.token === token)) return instance.id;
    }
    return undefined;
  }

  // --- internals -------------------------------------------------------------------------------

  /**
   * Launches what the group is short of its desired capacity: out of the warm pool first (its prepared
   * instances, stopped or running, oldest first), then directly. The pool is then refilled.
   */
  private fillCapacity(group: SimGroup): void {
    const active = [...this.instances.values()].filter(
      (i) => i.group === group && !i.state.startsWith("Terminat") && !inPool(i),
    ).length;
    const warm = this.poolInstances(group).filter((i) => READY_IN_POOL.has(i.state));
    for (let n = active; n < group.desired; n++) {
      const next = warm.shift();
      if (next) this.leavePool(next);
      else if (group.launches < group.maxLaunches) this.launch(group);
    }
    this.fillPool(group);
  }

  /**
   * Launches into the warm pool until it holds its target (`poolTarget`: preparing instances included).
   * A pool above its target (desired capacity rose) is not shrunk: a scale-out draws on it first.
   */
  private fillPool(group: SimGroup): void {
    if (!group.warmPool) return;
    const pooled = this.poolInstances(group).filter((i) => !i.state.startsWith("Warmed:Terminat")).length;
    for (let n = pooled; n < poolTarget(group) && group.launches < group.maxLaunches; n++)
      this.launch(group, { origin: "EC2", destination: "WarmPool" });
  }

  /** The group's instances in its warm pool (any Warmed:* state but Terminated), oldest first. */
  private poolInstances(group: SimGroup): SimInstance[] {
    return [...this.instances.values()].filter((i) => i.group === group && inPool(i));
  }

  /**
   * A scale-out takes a prepared instance out of the pool, then it waits at the hook. A stopped one boots
   * (its agent comes back after its boot delay); a running one does not boot: its agent stays Online.
   */
  private leavePool(instance: SimInstance): void {
    const running = instance.state === "Warmed:Running";
    instance.state = "Pending";
    instance.leftPoolAt = this.world.clock.now();
    instance.leftPoolState = running ? "Running" : "Stopped";
    if (running) {
      this.world.note("asg", "leaves the warm pool for the group (kept running: no boot)", instance.id);
    } else {
      this.world.note("asg", "leaves the warm pool for the group (started again)", instance.id);
      this.peers.instanceLaunched(instance);
    }
    this.world.clock.after(1000, () =>
      this.enterWait(instance, { origin: "WarmPool", destination: "AutoScalingGroup" }),
    );
  }

  /**
   * Scale-in: terminates InService instances beyond the desired capacity, oldest first (an
   * approximation of the default termination policy, which balances zones first).
   */
  private shedCapacity(group: SimGroup): void {
    const serving = [...this.instances.values()]
      .filter((i) => i.group === group && i.state === "InService")
      .sort((a, b) => (a.inServiceAt ?? 0) - (b.inServiceAt ?? 0));
    const active = [...this.instances.values()].filter(
      (i) => i.group === group && !i.state.startsWith("Terminat") && !inPool(i),
    ).length;
    for (const instance of serving.slice(0, Math.max(0, active - group.desired)))
      this.terminate(instance, "scale-in");
  }

  private launch(
    group: SimGroup,
    transition: Transition = { origin: "EC2", destination: "AutoScalingGroup" },
  ): void {
    const index = group.launches;
    group.launches += 1;
    const instance = this.newInstance(group, this.behaviourFor(group, index), index);
    const intoPool = transition.destination === "WarmPool";
    if (intoPool) instance.state = "Warmed:Pending";
    this.world.note(
      "asg",
      `launched in ${instance.behaviour.zone} (launch #${index + 1} of ${group.name}${intoPool ? ", into the warm pool" : ""})`,
      instance.id,
    );
    this.peers.instanceLaunched(instance);
    this.world.clock.after(1000, () => this.enterWait(instance, transition));
  }

  private enterWait(
    instance: SimInstance,
    transition: Transition = { origin: "EC2", destination: "AutoScalingGroup" },
  ): void {
    const intoPool = transition.destination === "WarmPool";
    if (instance.state !== (intoPool ? "Warmed:Pending" : "Pending")) return;
    const hook = instance.group.hook;
    if (!hook) {
      // No launch hook: nothing holds the instance, whatever it serves.
      if (intoPool) this.proceedIntoPool(instance);
      else this.proceed(instance);
      return;
    }
    const token = `${this.world.random.hex(8)}-${this.world.random.hex(4)}-4${this.world.random.hex(3)}-a${this.world.random.hex(3)}-${this.world.random.hex(12)}`;
    instance.state = intoPool ? "Warmed:Pending:Wait" : "Pending:Wait";
    instance.token = token;
    instance.hookExpiresAt = this.world.clock.now() + hook.heartbeatTimeoutSeconds * 1000;
    instance.waitListedAt = this.world.clock.now() + Math.round(this.world.random.uniform(0, 4000));
    this.world.note(
      "asg",
      `${instance.state} (launch hook holds it${instance.group.warmPool ? `; ${transition.origin} → ${transition.destination}` : ""})`,
      instance.id,
    );
    this.peers.emit({
      version: "0",
      id: `${this.world.random.hex(8)}-lifecycle`,
      "detail-type": LAUNCH_LIFECYCLE_DETAIL_TYPE,
      source: "aws.autoscaling",
      account: "123456789012",
      time: new Date(this.world.clock.now()).toISOString(),
      region: "eu-west-2",
      resources: [],
      detail: {
        LifecycleActionToken: token,
        AutoScalingGroupName: instance.group.name,
        LifecycleHookName: hook.name,
        EC2InstanceId: instance.id,
        LifecycleTransition: LAUNCHING_TRANSITION,
        // Sent for groups with a warm pool (docs/aws-facts.md, events).
        ...(instance.group.warmPool
          ? { Origin: transition.origin, Destination: transition.destination }
          : {}),
      },
    });
    this.watchHeartbeat(instance, token);
  }

  /** The hook's heartbeat timeout: when it passes, Auto Scaling applies the default result, ABANDON. */
  private watchHeartbeat(instance: SimInstance, token: string): void {
    const expiresAt = instance.hookExpiresAt ?? 0;
    this.world.clock.after(expiresAt - this.world.clock.now(), () => {
      if (instance.token !== token || !WAITING.has(instance.state)) return;
      if ((instance.hookExpiresAt ?? 0) > this.world.clock.now()) return this.watchHeartbeat(instance, token);
      const result = instance.group.hook?.defaultResult ?? "ABANDON";
      this.world.violation(
        `${instance.id}: the hook timed out (default result ${result}) without the gate deciding`,
      );
      this.world.note("asg", `hook heartbeat timeout: default result ${result} applied`, instance.id);
      instance.completions.push({ at: this.world.clock.now(), result: "TIMEOUT", token });
      if (result === "CONTINUE" && instance.state === "Warmed:Pending:Wait") this.proceedIntoPool(instance);
      else if (result === "CONTINUE") this.proceed(instance);
      else this.terminate(instance, "hook timed out");
      instance.token = undefined;
    });
  }

  private terminate(instance: SimInstance, why: string): void {
    if (/^(Warmed:)?Terminat/.test(instance.state)) return;
    const hook = instance.group.terminateHook;
    if (hook && instance.state === "InService") {
      this.leaveTargetGroups(instance, hook, why);
      return;
    }
    instance.state = inPool(instance) ? "Warmed:Terminating" : "Terminating";
    instance.token = undefined;
    this.peers.deregisterFromGroupTargets(instance);
    this.world.note("asg", `terminating (${why})`, instance.id);
    this.finishTermination(instance);
  }

  /**
   * With a load balancer, a leaving instance is deregistered first and the group waits out the target
   * groups' deregistration delay before the terminate hook holds it (docs/aws-facts.md, terminate
   * lifecycle hooks): the drain starts only after the load balancer has let go of it.
   */
  private leaveTargetGroups(instance: SimInstance, hook: SimHook, why: string): void {
    instance.state = "Terminating";
    instance.leavingAt = this.world.clock.now();
    this.peers.deregisterFromGroupTargets(instance);
    const delaySeconds =
      instance.group.targetGroupArns.length > 0 ? this.peers.deregistrationDelaySeconds(instance) : 0;
    this.world.note(
      "asg",
      `Terminating (${why}): waits out the deregistration delay (${delaySeconds} s) before the terminate hook`,
      instance.id,
    );
    this.world.clock.after(delaySeconds * 1000, () => this.enterTerminateWait(instance, hook, why));
    // Capacity is replaced once the instance is on its way out, as for any termination.
    this.world.clock.after(10_000, () => this.fillCapacity(instance.group));
  }

  /** Out of its target groups, the instance waits at the terminate hook. */
  private enterTerminateWait(instance: SimInstance, hook: SimHook, why: string): void {
    if (instance.state !== "Terminating") return;
    const token = `${this.world.random.hex(8)}-${this.world.random.hex(4)}-4${this.world.random.hex(3)}-b${this.world.random.hex(3)}-${this.world.random.hex(12)}`;
    instance.state = "Terminating:Wait";
    instance.token = token;
    instance.terminateWaitAt = this.world.clock.now();
    instance.hookExpiresAt = this.world.clock.now() + hook.heartbeatTimeoutSeconds * 1000;
    this.world.note("asg", `Terminating:Wait (${why}; terminate hook holds it)`, instance.id);
    this.peers.emit({
      version: "0",
      id: `${this.world.random.hex(8)}-lifecycle`,
      "detail-type": TERMINATE_LIFECYCLE_DETAIL_TYPE,
      source: "aws.autoscaling",
      account: "123456789012",
      time: new Date(this.world.clock.now()).toISOString(),
      region: "eu-west-2",
      resources: [],
      detail: {
        LifecycleActionToken: token,
        AutoScalingGroupName: instance.group.name,
        LifecycleHookName: hook.name,
        EC2InstanceId: instance.id,
        LifecycleTransition: TERMINATING_TRANSITION,
        Origin: "AutoScalingGroup",
        Destination: "EC2",
      },
    });
    this.watchTerminateHeartbeat(instance, token);
  }

  /** The terminate hook's timeout applies its default result (CONTINUE): the instance terminates anyway. */
  private watchTerminateHeartbeat(instance: SimInstance, token: string): void {
    const expiresAt = instance.hookExpiresAt ?? 0;
    this.world.clock.after(expiresAt - this.world.clock.now(), () => {
      if (instance.token !== token || instance.state !== "Terminating:Wait") return;
      if ((instance.hookExpiresAt ?? 0) > this.world.clock.now())
        return this.watchTerminateHeartbeat(instance, token);
      const result = instance.group.terminateHook?.defaultResult ?? "CONTINUE";
      this.world.violation(
        `${instance.id}: the terminate hook timed out (default result ${result}) without the drain completing it`,
      );
      this.world.note(
        "asg",
        `terminate hook heartbeat timeout: default result ${result} applied`,
        instance.id,
      );
      instance.completions.push({ at: this.world.clock.now(), result: "TIMEOUT", token });
      instance.token = undefined;
      this.proceedToTerminate(instance);
    });
  }

  /** Terminating:Proceed, then Terminated. */
  private proceedToTerminate(instance: SimInstance): void {
    instance.state = "Terminating:Proceed";
    this.world.note("asg", "terminating (after the terminate hook)", instance.id);
    this.finishTermination(instance);
  }

  private finishTermination(instance: SimInstance): void {
    this.world.clock.after(5000, () => {
      instance.state = "Terminated";
      instance.terminatedAt = this.world.clock.now();
      this.peers.instanceTerminated(instance);
    });
    if (instance.leavingAt === undefined)
      this.world.clock.after(10_000, () => this.fillCapacity(instance.group));
  }

  private activeWait(
    token: string | undefined,
    instanceId: string | undefined,
    groupName: string | undefined,
    hookName: string | undefined,
  ): SimInstance {
    const instance = [...this.instances.values()].find(
      (i) =>
        ((WAITING.has(i.state) && i.group.hook?.name === hookName) ||
          (i.state === "Terminating:Wait" && i.group.terminateHook?.name === hookName)) &&
        i.group.name === groupName &&
        (token ? i.token === token : i.id === instanceId),
    );
    if (!instance) throw noActiveLifecycleAction(token ?? instanceId ?? "");
    return instance;
  }

  private newInstance(group: SimGroup, behaviour: InstanceBehaviour, launchIndex: number): SimInstance {
    const instance: SimInstance = {
      id: `i-0${this.world.random.hex(16)}`,
      group,
      behaviour,
      launchedAt: this.world.clock.now(),
      launchIndex,
      state: "Pending",
      completions: [],
    };
    this.instances.set(instance.id, instance);
    return instance;
  }

  private required(name: string): SimGroup {
    const group = this.groups.get(name);
    if (!group) throw new Error(`simulation: no group ${name}`);
    return group;
  }
}

/** The states in which a launch hook holds an instance (docs/aws-facts.md, warm pools). */
const WAITING: ReadonlySet<string> = new Set(["Pending:Wait", "Warmed:Pending:Wait"]);

/** The group's pool state (Stopped unless configured). */
function poolStateOf(group: SimGroup): SimPoolState {
  return group.warmPool?.poolState ?? "Stopped";
}

/** A pool's WarmPoolConfiguration as the Describe* APIs report it (MaxGroupPreparedCapacity only if set). */
function warmPoolConfiguration(pool: SimWarmPool) {
  return {
    MinSize: pool.minSize,
    ...(pool.maxGroupPreparedCapacity === undefined
      ? {}
      : { MaxGroupPreparedCapacity: pool.maxGroupPreparedCapacity }),
    PoolState: pool.poolState ?? ("Stopped" as const),
  };
}

/** In a warm pool: any Warmed:* state (a pool instance that terminates is Warmed:Terminating, then Terminated). */
function inPool(instance: SimInstance): boolean {
  return instance.state.startsWith("Warmed:");
}
