/**
 * Experiment grids: the file format (`experiments/*.json`), its expansion into runs, and the
 * mean ± standard deviation of each variant's final metrics over seeds.
 * @module
 */
import type { RunData } from "./run_data.ts";

/** An experiment file: a base command line, variants that add flags to it, and seeds. */
export interface ExperimentSpec {
  readonly name: string;
  /** What the experiment tests (shown in the report), e.g. the survey's claim. */
  readonly description?: string;
  /** `cnnlab train` flags every run shares (epochs, training-subset size …), e.g. `["--epochs", "5"]`. */
  readonly base: readonly string[];
  /** Each variant's name and the flags it adds. */
  readonly variants: readonly { readonly name: string; readonly args: readonly string[] }[];
  /** One run per seed per variant. */
  readonly seeds: readonly number[];
}

/** One run of the grid. */
export interface PlannedRun {
  readonly variant: string;
  readonly seed: number;
  /** Directory name under the experiment's output. */
  readonly dir: string;
  /** `cnnlab` arguments, starting with `train`. */
  readonly argv: readonly string[];
}

/**
 * Checks an experiment file's contents.
 *
 * @param value Parsed JSON.
 * @param file The file name, for messages.
 * @returns The spec.
 * @throws {TypeError} Naming the file and the field that is wrong.
 * @example
 * ```ts
 * import { parseExperiment } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseExperiment({ name: "x", base: [], variants: [], seeds: [1] }, "x.json"), /variants/);
 * ```
 */
export function parseExperiment(value: unknown, file: string): ExperimentSpec {
  const v = value as Partial<ExperimentSpec> | null;
  const fail = (what: string): never => {
    throw new TypeError(`Cannot read experiment ${file}: ${what}`);
  };
  if (!v || typeof v !== "object") fail("it is not a JSON object");
  if (typeof v!.name !== "string" || !v!.name) fail(`"name" must be a non-empty string`);
  if (!Array.isArray(v!.base) || v!.base.some((a) => typeof a !== "string")) {
    fail(`"base" must be a list of flag strings, e.g. ["--epochs", "5"]`);
  }
  if (!Array.isArray(v!.variants) || v!.variants.length === 0) {
    fail(`"variants" must list at least one variant`);
  }
  for (const [i, variant] of v!.variants!.entries()) {
    if (typeof variant?.name !== "string" || !Array.isArray(variant.args)) {
      fail(`variant ${i + 1} needs a "name" and an "args" list`);
    }
  }
  const names = v!.variants!.map((x) => x.name);
  if (new Set(names).size !== names.length) fail(`variant names must be distinct`);
  if (!Array.isArray(v!.seeds) || v!.seeds.length === 0 || v!.seeds.some((s) => !Number.isInteger(s))) {
    fail(`"seeds" must list at least one integer seed`);
  }
  for (const flag of ["--seed", "--out"]) {
    if (v!.base!.includes(flag) || v!.variants!.some((x) => x.args.includes(flag))) {
      fail(`${flag} is set by the experiment itself; remove it from "base" and "args"`);
    }
  }
  return v as ExperimentSpec;
}

/**
 * Expands a grid into one run per variant and seed.
 *
 * @param spec The experiment.
 * @param out The experiment's output directory.
 * @returns The runs, variant by variant.
 * @example
 * ```ts
 * import { planRuns } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * const runs = planRuns({ name: "p", base: ["--epochs", "1"], variants: [{ name: "max", args: [] }], seeds: [1, 2] }, "out");
 * assert.deepEqual(runs.map((r) => r.dir), ["max-seed1", "max-seed2"]);
 * assert.deepEqual(runs[1].argv, ["train", "--epochs", "1", "--seed", "2", "--out", "out/max-seed2"]);
 * ```
 */
export function planRuns(spec: ExperimentSpec, out: string): PlannedRun[] {
  return spec.variants.flatMap((variant) =>
    spec.seeds.map((seed) => {
      const dir = `${variant.name.replace(/[^A-Za-z0-9_.-]+/g, "_")}-seed${seed}`;
      return {
        variant: variant.name,
        seed,
        dir,
        argv: ["train", ...spec.base, ...variant.args, "--seed", String(seed), "--out", `${out}/${dir}`],
      };
    })
  );
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export interface MeanStd {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/**
 * Mean and sample standard deviation of the finite values.
 *
 * @param values The values.
 * @returns Mean, std and count (NaN mean when none is finite).
 * @example
 * ```ts
 * import { meanStd } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * assert.deepEqual(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
 * ```
 */
export function meanStd(values: readonly number[]): MeanStd {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  if (!n) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** A variant's aggregate over its seeds. */
export interface VariantResult {
  readonly name: string;
  readonly runs: readonly RunData[];
  readonly testAccuracy: MeanStd;
  readonly trainAccuracy: MeanStd;
  /** Final train accuracy − test accuracy: the overfitting the survey's pooling claims are about. */
  readonly gap: MeanStd;
  readonly testLoss: MeanStd;
  readonly trainLoss: MeanStd;
  readonly seconds: MeanStd;
}

/**
 * Aggregates each variant's runs: final test and train accuracy and loss, their gap, and time.
 * Train accuracy is measured on the training batches as seen in the last epoch (dropout and
 * random pooling active), which is what the train–test gap compares.
 *
 * @param groups Variant names and their runs.
 * @returns One result per variant.
 * @example
 * ```ts
 * import { aggregateVariants, type RunData } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * const run = (acc: number) => ({ summary: { metrics: { test: { accuracy: acc }, train: { accuracy: 1 } } } }) as unknown as RunData;
 * const [r] = aggregateVariants([{ name: "max", runs: [run(0.9), run(0.8)] }]);
 * assert.ok(Math.abs(r.gap.mean - 0.15) < 1e-12);
 * ```
 */
export function aggregateVariants(
  groups: readonly { readonly name: string; readonly runs: readonly RunData[] }[],
): VariantResult[] {
  return groups.map(({ name, runs }) => {
    const pick = (f: (r: RunData) => unknown) => runs.map((r) => Number(f(r)));
    const test = pick((r) => r.summary.metrics?.test?.accuracy);
    const train = pick((r) => r.summary.metrics?.train?.accuracy);
    return {
      name,
      runs,
      testAccuracy: meanStd(test),
      trainAccuracy: meanStd(train),
      gap: meanStd(train.map((t, i) => t - test[i])),
      testLoss: meanStd(pick((r) => r.summary.metrics?.test?.loss)),
      trainLoss: meanStd(pick((r) => r.summary.metrics?.train?.loss)),
      seconds: meanStd(pick((r) => r.summary.seconds)),
    };
  });
}
