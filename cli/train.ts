/**
 * `cnnlab train`: builds the model from the registry, trains it, checkpoints after each epoch,
 * and writes the run directory.
 * @module
 */
import {
  embeddingMetrics,
  type EpochRecord,
  evaluate,
  fit,
  Model,
  type Optimizer,
  type Registry,
  Rng,
  saveCheckpoint,
} from "@cnnlab/core";
import type { CliOptions } from "./options.ts";
import { Progress } from "./progress.ts";
import { createRunDir, writeJson, writeJsonLines } from "./run_dir.ts";
import { modelSpec, openData, openDevice, openRegistry } from "./session.ts";
import { environment } from "./environment.ts";
import { computeInsights, readRun, renderReport, writeReport } from "@cnnlab/reports";

/** What `train` returns (also printed with --json). */
export interface TrainResult {
  readonly out: string;
  readonly summary: Record<string, unknown>;
}

/**
 * Builds the optimizer from CLI flags; the CLI's optimizer defaults live here.
 *
 * @param registry The registry.
 * @param o Options.
 * @returns The optimizer.
 */
export function cliOptimizer(registry: Registry, o: CliOptions): Optimizer {
  const schedule = o.schedule === "none"
    ? undefined
    : o.schedule === "step"
    ? { type: "step", stepSize: Math.max(1, Math.round(o.epochs / 3)), gamma: 0.1 }
    : { type: "cosine" };
  const options: Record<string, unknown> = { weightDecay: o.weightDecay };
  if (o.lr !== undefined) options.lr = o.lr;
  if (schedule) options.schedule = schedule;
  if (o.optimizer === "sgd") {
    options.momentum = o.momentum ?? 0.9;
    options.lr ??= 0.01;
  } else if (o.momentum !== undefined) options.momentum = o.momentum;
  return registry.optimizer(o.optimizer)(options);
}

/**
 * Runs `cnnlab train`.
 *
 * @param o Parsed options.
 * @param argv The raw arguments, recorded in config.json.
 * @returns The run directory and summary.
 */
export async function train(o: CliOptions, argv: readonly string[]): Promise<TrainResult> {
  const started = performance.now();
  const registry = await openRegistry(o.plugins);
  const device = await openDevice(registry, o.backend, o.backendOptions);
  const { train: trainSet, test } = await openData(registry, o);
  const spec = await modelSpec(registry, o, trainSet);
  const rng = new Rng(o.seed);
  const model = new Model(spec, { registry, device, rng: rng.fork() });
  const loss = registry.loss(o.loss)(o.lossOptions);
  const batchSize = o.batchSize ?? (loss.output === "embedding" ? 100 : 32);
  // Cosine decay lifts the class-score losses (hinge L2 on MNIST: 96.9% → 97.9%) but lowers the
  // embedding losses' Recall@1 (histogram 97.2% → 96.75%, LDA 97.45% → 96.5%): each family its default.
  const schedule = o.schedule ?? (loss.output === "embedding" ? "none" : "cosine");
  const optimizer = cliOptimizer(registry, { ...o, schedule });
  const out = o.out ?? `runs/${spec.name ?? "model"}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const dir = await createRunDir(out);
  await writeJson(dir.config, {
    command: ["cnnlab", ...argv].join(" "),
    argv,
    options: { ...o, batchSize, schedule },
    plugins: registry.plugins.map((p) => ({ name: p.name, version: p.version })),
    pluginSpecifiers: o.plugins,
    seed: o.seed,
    model: spec,
    optimizer: { name: optimizer.name, options: optimizer.options },
    loss: { name: loss.name, options: loss.options },
    dataset: { name: o.dataset, data: o.data ?? null, trainSize: trainSet.size, testSize: test.size },
  });
  const progress = o.json ? undefined : new Progress(batchSize);
  const records: EpochRecord[] = [];
  const history = await fit({
    model,
    loss,
    optimizer,
    train: trainSet,
    test,
    epochs: o.epochs,
    batchSize,
    rng,
    onStep: (p) => progress?.step(p),
    onEpoch: async (r) => {
      records.push(r);
      progress?.epoch(r, o.epochs);
      await writeJsonLines(dir.metrics, records);
      const state = optimizer.state();
      const tensors = new Map(model.parameters());
      for (const [k, t] of state.tensors) tensors.set(`optimizer/${k}`, t);
      await saveCheckpoint(dir.checkpoint, {
        spec,
        tensors,
        scalars: state.scalars,
        meta: { epoch: r.epoch, optimizer: optimizer.name, loss: loss.name, dataset: o.dataset },
      });
    },
  });
  const inferStart = performance.now();
  const final = await evaluate(model, loss, test, { batchSize: 256 });
  const inferSeconds = (performance.now() - inferStart) / 1000;
  const last = history[history.length - 1];
  const metric = loss.embeddingMetric ?? "euclidean";
  const embedding = final.embeddings
    ? embeddingMetrics(device, final.embeddings, test.labels, { metric })
    : undefined;
  const rawPixels = final.embeddings
    ? embeddingMetrics(device, test.images, test.labels).recallAt1
    : undefined;
  if (embedding && !o.json) {
    console.error(
      `Recall@1 on ${test.size} test examples: ${(embedding.recallAt1 * 100).toFixed(2)}% ` +
        `(raw-pixel baseline ${(rawPixels! * 100).toFixed(2)}%)`,
    );
  }
  const trainSeconds = history.reduce((s, r) => s + r.seconds, 0);
  const summaryModel = model.summary();
  const summary = {
    model: {
      name: summaryModel.name,
      parameters: summaryModel.totalParameters,
      flops: summaryModel.totalFlops,
    },
    dataset: { name: o.dataset, source: trainSet.source, trainSize: trainSet.size, testSize: test.size },
    epochs: o.epochs,
    metrics: {
      test: {
        accuracy: final.accuracy,
        loss: final.loss,
        recallAt1: embedding?.recallAt1,
        embeddingMetric: embedding && metric,
        rawPixelRecallAt1: rawPixels,
        distances: embedding &&
          { binEdges: embedding.binEdges, positive: embedding.positive, negative: embedding.negative },
      },
      train: { accuracy: last.trainAccuracy, loss: last.trainLoss },
    },
    throughput: {
      trainImagesPerSecond: (trainSet.size * o.epochs) / trainSeconds,
      inferImagesPerSecond: test.size / inferSeconds,
    },
    seconds: (performance.now() - started) / 1000,
    environment: environment(device),
    layers: summaryModel.layers,
  };
  await writeJson(dir.summary, summary);
  await writeJson(dir.insights, await computeInsights(model, test, final));
  await writeReport(dir.report, await renderReport([await readRun(out)]));
  return { out, summary };
}
