/**
 * `cnnlab report RUN…` (one page comparing runs) and `cnnlab experiment FILE.json` (a grid of
 * variants × seeds, then one page with mean ± std per variant).
 * @module
 */
import {
  aggregateVariants,
  parseExperiment,
  planRuns,
  readRun,
  renderReport,
  type RunData,
  writeReport,
} from "@cnnlab/reports";
import { parseCli } from "./options.ts";
import type { CliOptions } from "./options.ts";
import { train } from "./train.ts";
import { UsageError } from "./usage.ts";
import { writeJson } from "./run_dir.ts";

/**
 * Writes one report for the given run directories: the run's own `report.html` for one run, else
 * `--out` (default `report.html` in the current directory).
 *
 * @param o Options; `o.args` are the run directories.
 * @returns The report's path.
 * @throws {UsageError} If no run directory is given.
 */
export async function reportCommand(o: CliOptions): Promise<string> {
  if (!o.args.length) {
    throw new UsageError("report needs at least one run directory, e.g. cnnlab report runs/demo");
  }
  const runs: RunData[] = [];
  for (const dir of o.args) runs.push(await readRun(dir));
  const path = o.out ?? (runs.length === 1 ? `${runs[0].dir}/report.html` : "report.html");
  await writeReport(path, await renderReport(runs));
  return path;
}

/** What `experimentCommand` returns. */
export interface ExperimentResult {
  readonly out: string;
  readonly report: string;
  readonly variants: readonly {
    readonly name: string;
    readonly testAccuracy: { mean: number; std: number };
    readonly gap: { mean: number; std: number };
  }[];
}

/**
 * Runs an experiment grid: every variant with every seed (a run whose summary.json exists is
 * reused, so an interrupted grid resumes), then writes `OUT/report.html` and `OUT/summary.json`.
 *
 * @param o Options; `o.args[0]` is the experiment file, `--out` its output directory
 *   (default `runs/experiment-NAME`).
 * @param log Progress lines.
 * @returns Where it wrote and the aggregates.
 * @throws {UsageError} If the file is missing or invalid.
 */
export async function experimentCommand(
  o: CliOptions,
  log: (line: string) => void,
): Promise<ExperimentResult> {
  const file = o.args[0];
  if (!file) throw new UsageError("experiment needs a file, e.g. cnnlab experiment experiments/pooling.json");
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new UsageError(`cannot read experiment ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`cannot read experiment ${file}: invalid JSON (${(e as Error).message})`);
  }
  const spec = parseExperiment(json, file);
  const out = o.out ?? `runs/experiment-${spec.name}`;
  const planned = planRuns(spec, out);
  const byVariant = new Map<string, RunData[]>(spec.variants.map((v) => [v.name, []]));
  for (const [i, p] of planned.entries()) {
    const dir = `${out}/${p.dir}`;
    let done = false;
    try {
      done = (await Deno.stat(`${dir}/summary.json`)).isFile;
    } catch { /* not run yet */ }
    const started = performance.now();
    if (!done) {
      const runOptions = parseCli([...p.argv, ...o.plugins.flatMap((s) => ["--plugin", s]), "--json"]);
      if (o.backend !== "cpu" && !p.argv.includes("--backend")) {
        Object.assign(runOptions, { backend: o.backend });
      }
      await train(runOptions, p.argv);
    }
    const run = await readRun(dir);
    byVariant.get(p.variant)!.push(run);
    const acc = run.summary.metrics?.test?.accuracy;
    log(
      `[${i + 1}/${planned.length}] ${p.variant} seed ${p.seed}: test accuracy ${
        typeof acc === "number" ? (acc * 100).toFixed(2) + "%" : "–"
      }${done ? " (already run)" : ` in ${((performance.now() - started) / 1000).toFixed(0)} s`}`,
    );
  }
  const variants = aggregateVariants([...byVariant].map(([name, runs]) => ({ name, runs })));
  const report = `${out}/report.html`;
  await writeReport(
    report,
    await renderReport(variants.flatMap((v) => v.runs), { experiment: { spec, variants }, runLinks: true }),
  );
  const rows = variants.map((v) => ({
    name: v.name,
    runs: v.runs.map((r) => r.name),
    testAccuracy: v.testAccuracy,
    trainAccuracy: v.trainAccuracy,
    gap: v.gap,
    testLoss: v.testLoss,
    seconds: v.seconds,
  }));
  await writeJson(`${out}/summary.json`, { experiment: spec, variants: rows });
  return { out, report, variants: rows };
}
