/**
 * How often a group's watch looks (shared/gate/watch/run-watch.ts), in seconds: a look every 3 s puts the
 * mean reaction about 1.5 s after the change (and the step it runs takes a few tenths more). Each look
 * costs one read for the whole group (for health, one per target group), however many waits it serves.
 * The agent watch looks more often: a burst's agents come Online over the same minute, so its looks are
 * shared by the whole burst, while a target's first passing check comes at a moment of its own. These
 * defaults meet the reaction goals (≤ 2 s per polled phase); longer intervals make fewer control-plane
 * calls and react later — `npm run bench` prints the trade for several settings.
 *
 * No zod here: the functions' runtime config checks the same bounds (runtime-config.ts) with zod/mini.
 */
export const DEFAULT_POLL_INTERVAL_SECONDS = { agent: 2.5, health: 3 } as const;

/** What a poll interval may be: 1 to 10 s, in halves. */
export const POLL_INTERVAL_BOUNDS = { min: 1, max: 10, step: 0.5 } as const;
export const POLL_INTERVAL_ALLOWED = "a number of seconds from 1 to 10, in steps of 0.5";

export function isPollInterval(value: number): boolean {
  const { min, max, step } = POLL_INTERVAL_BOUNDS;
  return value >= min && value <= max && Number.isInteger(value / step);
}
