/** SIMULATION — a seeded PRNG (mulberry32): the same seed gives the same run, so scenarios are deterministic. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /**
   * A generator of its own, seeded from `key` (FNV-1a): for draws that must take nothing from the
   * world's stream, and come out the same whenever the thing they are drawn for happens.
   */
  static keyed(key: string): Random {
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    return new Random(hash);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  /** Uniform in [from, to). */
  uniform(from: number, to: number): number {
    return from + (to - from) * this.next();
  }

  /**
   * Log-normal around `median` (half the draws below it), `spread` the σ of its logarithm, clamped to
   * [min, max]: the shape of boot and install times, with a long tail and no negative values.
   */
  logNormal(median: number, spread: number, min: number, max: number): number {
    const u = Math.max(this.next(), Number.EPSILON);
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
    return Math.min(max, Math.max(min, median * Math.exp(spread * normal)));
  }

  hex(length: number): string {
    let out = "";
    while (out.length < length) out += Math.floor(this.next() * 16).toString(16);
    return out;
  }
}
