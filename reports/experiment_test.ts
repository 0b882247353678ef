import { aggregateVariants, meanStd, parseExperiment, planRuns } from "./experiment.ts";
import type { RunData } from "./run_data.ts";
import assert from "node:assert/strict";

const spec = {
  name: "pooling",
  base: ["--epochs", "2"],
  variants: [{ name: "lp p=2", args: ["--set", "pooling=lpPool2d"] }, { name: "max", args: [] }],
  seeds: [1, 2, 3],
};

Deno.test("parseExperiment accepts a grid and names what is wrong otherwise", () => {
  assert.equal(parseExperiment(spec, "p.json"), spec);
  assert.throws(() => parseExperiment([], "p.json"), /p\.json: "name"/);
  assert.throws(() => parseExperiment({ ...spec, seeds: [1.5] }, "p.json"), /"seeds"/);
  assert.throws(
    () => parseExperiment({ ...spec, base: ["--seed", "3"] }, "p.json"),
    /--seed is set by the experiment/,
  );
  assert.throws(
    () =>
      parseExperiment({ ...spec, variants: [{ name: "a", args: [] }, { name: "a", args: [] }] }, "p.json"),
    /distinct/,
  );
});

Deno.test("planRuns makes one run per variant and seed with a safe directory name", () => {
  const runs = planRuns(spec, "out");
  assert.equal(runs.length, 6);
  assert.deepEqual(runs[0], {
    variant: "lp p=2",
    seed: 1,
    dir: "lp_p_2-seed1",
    argv: ["train", "--epochs", "2", "--set", "pooling=lpPool2d", "--seed", "1", "--out", "out/lp_p_2-seed1"],
  });
});

Deno.test("meanStd uses the sample standard deviation and ignores non-finite values", () => {
  const r = meanStd([0.9, 0.95, 1.0, NaN]);
  assert.equal(r.n, 3);
  assert.ok(Math.abs(r.mean - 0.95) < 1e-12);
  assert.ok(Math.abs(r.std - 0.05) < 1e-12);
  assert.deepEqual(meanStd([4]), { mean: 4, std: 0, n: 1 });
  assert.ok(Number.isNaN(meanStd([]).mean));
});

Deno.test("aggregateVariants computes the train − test gap per run before averaging", () => {
  const run = (test: number, train: number) =>
    ({
      summary: {
        metrics: { test: { accuracy: test, loss: 0.1 }, train: { accuracy: train, loss: 0.01 } },
        seconds: 3,
      },
    }) as unknown as RunData;
  const [v] = aggregateVariants([{ name: "max", runs: [run(0.9, 1), run(0.8, 0.95)] }]);
  assert.ok(Math.abs(v.gap.mean - 0.125) < 1e-12);
  assert.ok(Math.abs(v.gap.std - Math.SQRT1_2 * 0.05) < 1e-12);
  assert.ok(Math.abs(v.testAccuracy.mean - 0.85) < 1e-12);
  assert.equal(v.seconds.mean, 3);
});
