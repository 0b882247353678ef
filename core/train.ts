/**
 * The training loop and evaluation.
 *
 * One step runs inside a `tidy` scope: forward, loss, gradients, optimizer update; only the
 * loss value is read back, so tensors stay on their backend and memory does not grow.
 * @module
 */
import { gradients } from "./autograd.ts";
import { balancedBatches, type Batch, batches, type Dataset } from "./dataset.ts";
import { embeddingMetrics } from "./metrics.ts";
import { TrainingError } from "./errors.ts";
import type { Loss } from "./loss.ts";
import type { Model } from "./model.ts";
import type { Optimizer } from "./optimizer.ts";
import { Rng } from "./rng.ts";
import { noGrad, type Tensor, tidy } from "./tensor.ts";

/** Metrics of one epoch. */
export interface EpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  /** Fraction correct on the training batches as seen (scores models only). */
  readonly trainAccuracy?: number;
  readonly testLoss?: number;
  readonly testAccuracy?: number;
  /** Nearest-neighbour Recall@1 among the test embeddings (embedding models). */
  readonly testRecallAt1?: number;
  readonly learningRate: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

/** Progress within an epoch. */
export interface StepProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly imagesPerSecond: number;
}

/** Options of `fit`. */
export interface FitOptions {
  readonly model: Model;
  readonly loss: Loss;
  readonly optimizer: Optimizer;
  readonly train: Dataset;
  /** Evaluated after every epoch when given. */
  readonly test?: Dataset;
  readonly epochs: number;
  readonly batchSize: number;
  /** Shuffles batches and feeds layers (dropout, mixed pooling). */
  readonly rng: Rng;
  /**
   * How batches are drawn: `"shuffle"` (every example once per epoch) or `"balanced"` (class-balanced
   * P×K batches, which pair and triplet losses need). Default: balanced for embedding losses, else shuffle.
   */
  readonly sampler?: "shuffle" | "balanced";
  /** Called after each step. */
  readonly onStep?: (p: StepProgress) => void;
  /** Called after each epoch (after evaluation); may be async (checkpointing). */
  readonly onEpoch?: (r: EpochRecord) => void | Promise<void>;
}

/** Result of `evaluate`. */
export interface Evaluation {
  readonly loss: number;
  /** Fraction correct (scores models). */
  readonly accuracy?: number;
  /** Predicted class per example (scores models). */
  readonly predictions?: Int32Array;
  /** Top scores per example, row-major `[size, numClasses]` (scores models). */
  readonly scores?: Float32Array;
  /** Model outputs per example, row-major `[size, dim]` (embedding models). */
  readonly embeddings?: Float32Array;
}

/**
 * Trains a model.
 *
 * @param options Model, loss, optimizer, data, epochs, batch size, RNG and callbacks.
 * @returns One record per epoch.
 * @throws {TrainingError} If the loss becomes NaN or infinite, naming the epoch and step.
 */
export async function fit(options: FitOptions): Promise<EpochRecord[]> {
  const { model, loss, optimizer, train, epochs, batchSize, rng } = options;
  const params = model.parameters();
  const names = [...params.keys()];
  const paramList = [...params.values()];
  for (const p of paramList) p.requiresGrad = true;
  const device = model.device;
  const steps = Math.ceil(train.size / batchSize);
  const history: EpochRecord[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    optimizer.startEpoch(epoch, epochs);
    const started = performance.now();
    let lossSum = 0, correct = 0, seen = 0, step = 0;
    const sampler = options.sampler ?? (loss.output === "embedding" ? "balanced" : "shuffle");
    const epochBatches = sampler === "balanced"
      ? balancedBatches(train, { batchSize, rng })
      : batches(train, { batchSize, rng });
    for (const batch of epochBatches) {
      step++;
      const [lossT, outT] = tidy(() => {
        const x = device.tensor(batch.x, [batch.count, ...train.inputShape]);
        const y = device.tensor(batch.y, [batch.count]);
        const out = model.forward(x, { training: true, rng });
        const l = loss.compute(out, y, { training: true, rng, labels: batch.y });
        const grads = gradients(l, paramList);
        noGrad(() => optimizer.step(params, new Map(names.map((n, i) => [n, grads[i]]))));
        return [l, loss.output === "scores" ? out : undefined] as const;
      });
      const value = await lossT.item();
      lossT.dispose();
      if (!Number.isFinite(value)) {
        outT?.dispose();
        throw new TrainingError(
          `Cannot continue training: the loss is ${value} at epoch ${epoch}, step ${step}; lower --lr or check the data for NaN`,
        );
      }
      if (outT) {
        correct += countCorrect(await outT.data(), batch.y, outT.shape[1]);
        outT.dispose();
      }
      lossSum += value * batch.count;
      seen += batch.count;
      options.onStep?.({
        epoch,
        epochs,
        step,
        steps,
        loss: value,
        imagesPerSecond: seen / ((performance.now() - started) / 1000),
      });
    }
    const seconds = (performance.now() - started) / 1000;
    const evaluation = options.test
      ? await evaluate(model, loss, options.test, { batchSize: 256 })
      : undefined;
    const record: EpochRecord = {
      epoch,
      trainLoss: lossSum / seen,
      trainAccuracy: loss.output === "scores" ? correct / seen : undefined,
      testLoss: evaluation?.loss,
      testAccuracy: evaluation?.accuracy,
      testRecallAt1: evaluation?.embeddings && options.test
        ? embeddingMetrics(device, evaluation.embeddings, options.test.labels, {
          metric: loss.embeddingMetric,
        }).recallAt1
        : undefined,
      learningRate: optimizer.learningRate,
      seconds,
      imagesPerSecond: seen / seconds,
    };
    history.push(record);
    await options.onEpoch?.(record);
  }
  return history;
}

function countCorrect(scores: Float32Array, labels: Float32Array, k: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores[i * k + j] > scores[i * k + best]) best = j;
    if (best === labels[i]) correct++;
  }
  return correct;
}

/**
 * Evaluates a model in inference mode.
 *
 * @param model The model.
 * @param loss The loss to report.
 * @param ds The dataset.
 * @param options Batch size.
 * @returns Mean loss, and for classifiers the accuracy, predictions and scores.
 */
export async function evaluate(
  model: Model,
  loss: Loss,
  ds: Dataset,
  options: { batchSize: number },
): Promise<Evaluation> {
  const device = model.device;
  const k = model.outputShape.reduce((p, d) => p * d, 1);
  const outputs = new Float32Array(ds.size * k);
  const embedding = loss.output === "embedding";
  let lossSum = 0;
  const rng = new Rng(0);
  const forward = (batch: Batch, withLoss: boolean): [Tensor | undefined, Tensor] =>
    noGrad(() =>
      tidy(() => {
        const out = model.forward(device.tensor(batch.x, [batch.count, ...ds.inputShape]), {
          training: false,
          rng,
        });
        const y = device.tensor(batch.y, [batch.count]);
        return [withLoss ? loss.compute(out, y, { training: false, rng, labels: batch.y }) : undefined, out];
      })
    );
  for (const batch of batches(ds, { batchSize: options.batchSize })) {
    const [l, out] = forward(batch, !embedding);
    if (l) lossSum += (await l.item()) * batch.count;
    outputs.set(await out.data(), batch.indices[0] * k);
    l?.dispose();
    out.dispose();
  }
  if (embedding) {
    // Pair and triplet losses need several examples per class in a batch: measure them on
    // class-balanced batches of the evaluation set, drawn with a fixed seed.
    let seen = 0;
    for (const batch of balancedBatches(ds, { batchSize: options.batchSize, rng: new Rng(0) })) {
      const [l, out] = forward(batch, true);
      lossSum += (await l!.item()) * batch.count;
      seen += batch.count;
      l!.dispose();
      out.dispose();
    }
    return { loss: lossSum / seen, embeddings: outputs };
  }
  const scores = outputs;
  const predictions = new Int32Array(ds.size);
  let correct = 0;
  for (let i = 0; i < ds.size; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores[i * k + j] > scores[i * k + best]) best = j;
    predictions[i] = best;
    if (best === ds.labels[i]) correct++;
  }
  return { loss: lossSum / ds.size, accuracy: correct / ds.size, predictions, scores };
}
