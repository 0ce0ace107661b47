import { describe, expect, it } from "vitest";
import { runBounded } from "../../../shared/gate/bounded-run.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("runBounded", () => {
  it("keeps the items' order in its results, whatever order they finish in", async () => {
    const results = await runBounded(
      [3, 1, 2],
      { concurrency: 3, canStart: () => true },
      async (n) => {
        for (let i = 0; i < n; i += 1) await tick();
        return n * 10;
      },
      () => -1,
    );
    expect(results).toEqual([30, 10, 20]);
  });

  it("once it may not start, starts nothing more, and hands every remaining item to notStarted", async () => {
    const started: number[] = [];
    let allowed = 2;
    const results = await runBounded(
      [1, 2, 3, 4],
      { concurrency: 1, canStart: () => allowed-- > 0 },
      async (n) => {
        started.push(n);
        return "done";
      },
      () => "skipped",
    );
    expect(started).toEqual([1, 2]);
    expect(results).toEqual(["done", "done", "skipped", "skipped"]);
  });

  it("handles no items", async () => {
    expect(
      await runBounded(
        [],
        { concurrency: 8, canStart: () => true },
        async () => 1,
        () => 0,
      ),
    ).toEqual([]);
  });
});
