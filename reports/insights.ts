/**
 * What a report shows about the inside of a trained network, computed once after training and saved
 * as `insights.json` in the run directory: confusion matrix, per-class accuracy, first-layer filters,
 * feature maps, saliency and Grad-CAM, the most confused test images, the per-layer share of a
 * training step, and (for embedding runs) a 2-D projection of the test embeddings.
 *
 * Saliency is |∂score/∂input| (max over input channels) for the predicted class's score (the
 * pre-softmax output); Grad-CAM (Selvaraju et al., 2017) weights the last convolution's feature maps
 * by the spatial mean of the same score's gradient, keeps the positive part and upsamples it to the
 * input. Both explain the prediction the network made, right or wrong.
 * @module
 */
import {
  type Dataset,
  type Evaluation,
  gradients,
  type Model,
  noGrad,
  ops,
  Rng,
  type Tensor,
  tidy,
} from "@cnnlab/core";
import { type Picture, picture } from "./pictures.ts";
import { pca2d } from "./pca.ts";

export { type Colormap, type Picture, picture, type PictureOptions } from "./pictures.ts";
export { pca2d } from "./pca.ts";

/** One test example shown in the report. */
export interface ExampleView {
  /** Index in the test split. */
  readonly index: number;
  readonly label: number;
  readonly input: Picture;
}

/** Saliency and Grad-CAM for one test example. */
export interface Explanation extends ExampleView {
  readonly predicted: number;
  readonly correct: boolean;
  readonly saliency: Picture;
  /** Absent when the model has no convolution layer. */
  readonly gradCam?: Picture;
}

/** A confidently wrong prediction. */
export interface ConfusedExample extends ExampleView {
  /** The three most probable classes (softmax of the scores), most probable first. */
  readonly top3: readonly { readonly label: number; readonly probability: number }[];
}

/** Time of one layer's forward and backward pass on a batch. */
export interface LayerTime {
  readonly name: string;
  readonly type: string;
  readonly forwardMs: number;
  readonly backwardMs: number;
  /** (forward + backward) / the sum over layers. */
  readonly share: number;
}

/** Everything `computeInsights` measures. */
export interface Insights {
  readonly kind: "classifier" | "embedding";
  readonly numClasses: number;
  readonly classNames?: readonly string[];
  /** `confusion[true][predicted]` counts (classifiers). */
  readonly confusion?: readonly (readonly number[])[];
  /** Fraction correct per true class (classifiers). */
  readonly perClassAccuracy?: readonly number[];
  readonly layerTimes: readonly LayerTime[];
  /** Batch size the layer times were measured with. */
  readonly timingBatch: number;
  /** First convolution's filters (averaged over input channels when there are several). */
  readonly filters?: { readonly layer: string; readonly pictures: readonly Picture[] };
  /** Feature maps of a few test images at each convolution layer. */
  readonly featureMaps?: {
    readonly examples: readonly ExampleView[];
    /** Per layer: `maps[example][channel]`. */
    readonly layers: readonly { readonly name: string; readonly maps: readonly (readonly Picture[])[] }[];
  };
  readonly explanations?: readonly Explanation[];
  /** The convolution layer Grad-CAM used. */
  readonly gradCamLayer?: string;
  readonly confused?: readonly ConfusedExample[];
  /** PCA of the test embeddings (embedding runs). */
  readonly embedding?: {
    readonly x: readonly number[];
    readonly y: readonly number[];
    readonly labels: readonly number[];
  };
}

/** Options of `computeInsights`; each default is set here. */
export interface InsightOptions {
  /** Test images whose feature maps are shown; default 3. */
  readonly featureMapExamples?: number;
  /** Channels shown per layer and image; default 16. */
  readonly maxChannels?: number;
  /** Correct and wrong predictions explained (each); default 4. */
  readonly explain?: number;
  /** Most confused images listed; default 8. */
  readonly confused?: number;
  /** Batch size for the per-layer timing; default 32. */
  readonly timingBatch?: number;
  /** Embeddings plotted at most; default 2000. */
  readonly scatterPoints?: number;
}

function resolve(o: InsightOptions) {
  return {
    featureMapExamples: o.featureMapExamples ?? 3,
    maxChannels: o.maxChannels ?? 16,
    explain: o.explain ?? 4,
    confused: o.confused ?? 8,
    timingBatch: o.timingBatch ?? 32,
    scatterPoints: o.scatterPoints ?? 2000,
  };
}

/**
 * Computes the report's view of a trained model on its test split.
 *
 * @param model The trained model (single input).
 * @param test The test split.
 * @param evaluation `evaluate`'s result on that split (predictions and scores, or embeddings).
 * @param options How many examples to show.
 * @returns The insights, plain JSON-serialisable data.
 * @throws {TypeError} If the evaluation does not match the test split.
 * @example Insights of an untrained two-layer model
 * ```ts
 * import { computeInsights } from "@cnnlab/reports/insights";
 * import { evaluate, Model, Rng } from "@cnnlab/core";
 * import { createRegistry } from "@cnnlab/cnnlab";
 * import assert from "node:assert/strict";
 * const registry = createRegistry();
 * const device = await registry.device("cpu");
 * const test = await registry.dataset("mnist")({ split: "test", limit: 20 });
 * const model = new Model({
 *   input: [1, 28, 28],
 *   layers: [{ type: "conv2d", filters: 2, kernelSize: 5 }, { type: "flatten" }, { type: "dense", units: 10 }],
 * }, { registry, device, rng: new Rng(1) });
 * const loss = registry.loss("softmaxCrossEntropy")({});
 * const insights = await computeInsights(model, test, await evaluate(model, loss, test, { batchSize: 10 }));
 * assert.equal(insights.confusion!.flat().reduce((a, b) => a + b), 20);
 * assert.equal(insights.filters!.pictures.length, 2);
 * ```
 */
export async function computeInsights(
  model: Model,
  test: Dataset,
  evaluation: Evaluation,
  options: InsightOptions = {},
): Promise<Insights> {
  const o = resolve(options);
  const kind = evaluation.embeddings ? "embedding" : "classifier";
  const convs = model.layers.filter((n) => /conv/i.test(n.layer.type) && n.layer.type.endsWith("2d"));
  const base = {
    kind,
    numClasses: test.numClasses,
    classNames: test.classNames,
    timingBatch: Math.min(o.timingBatch, test.size),
    layerTimes: await layerTimes(model, test, Math.min(o.timingBatch, test.size)),
    filters: convs.length
      ? await filters(convs[0].name, convs[0].layer.parameters().get("weight"))
      : undefined,
    featureMaps: convs.length
      ? await featureMaps(model, test, convs.map((c) => c.name), o.featureMapExamples, o.maxChannels)
      : undefined,
  } as const;
  if (evaluation.embeddings) {
    const dim = evaluation.embeddings.length / test.size;
    const n = Math.min(test.size, o.scatterPoints);
    const { x, y } = pca2d(evaluation.embeddings.subarray(0, n * dim), dim);
    return {
      ...base,
      embedding: { x: round(x), y: round(y), labels: [...test.labels.subarray(0, n)] },
    };
  }
  const { predictions, scores } = evaluation;
  if (!predictions || !scores || predictions.length !== test.size) {
    throw new TypeError(
      `Cannot compute insights: the evaluation has ${
        predictions?.length ?? 0
      } predictions for ${test.size} test examples`,
    );
  }
  const k = test.numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < test.size; i++) confusion[test.labels[i]][predictions[i]]++;
  const perClassAccuracy = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[c] / total : 0;
  });
  const wrong: number[] = [], right: number[] = [];
  for (let i = 0; i < test.size; i++) (predictions[i] === test.labels[i] ? right : wrong).push(i);
  const explainIdx = [...right.slice(0, o.explain), ...wrong.slice(0, o.explain)];
  const explained = await explanations(model, test, explainIdx, predictions, convs.at(-1)?.name);
  const confused = mostConfused(test, predictions, scores, wrong, o.confused);
  return {
    ...base,
    confusion,
    perClassAccuracy,
    explanations: explained,
    gradCamLayer: convs.at(-1)?.name,
    confused,
  };
}

function round(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => Math.round(v * 1e4) / 1e4);
}

function inputPicture(test: Dataset, index: number): Picture {
  const [c, h, w] = test.inputShape;
  const size = c * h * w;
  const x = test.images.subarray(index * size, (index + 1) * size);
  return picture(c === 1 ? x : channelMean(x, c, h * w), [h, w]);
}

function channelMean(x: Float32Array, channels: number, plane: number): Float32Array {
  const out = new Float32Array(plane);
  for (let c = 0; c < channels; c++) for (let i = 0; i < plane; i++) out[i] += x[c * plane + i] / channels;
  return out;
}

function batchOf(test: Dataset, indices: readonly number[]): Float32Array {
  const size = test.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(indices.length * size);
  indices.forEach((idx, j) => x.set(test.images.subarray(idx * size, (idx + 1) * size), j * size));
  return x;
}

async function filters(layer: string, weight: Tensor | undefined) {
  if (!weight || weight.rank !== 4) return undefined;
  const [out, inC, kh, kw] = weight.shape;
  const w = await weight.data();
  const pictures: Picture[] = [];
  const range = Math.max(...w.map(Math.abs)) || 1;
  for (let f = 0; f < out; f++) {
    const mean = channelMean(w.subarray(f * inC * kh * kw, (f + 1) * inC * kh * kw), inC, kh * kw);
    pictures.push(picture(mean, [kh, kw], { colormap: "signed", range: [-range, range] }));
  }
  return { layer, pictures };
}

async function featureMaps(
  model: Model,
  test: Dataset,
  layers: readonly string[],
  count: number,
  maxChannels: number,
) {
  const indices = Array.from({ length: Math.min(count, test.size) }, (_, i) => i);
  const device = model.device;
  const captured = noGrad(() =>
    tidy(() => {
      const x = device.tensor(batchOf(test, indices), [indices.length, ...test.inputShape]);
      return [...model.run(x, { training: false, rng: new Rng(0) }, layers).captured.values()];
    })
  );
  const out = [];
  for (const [li, t] of captured.entries()) {
    const [, c, h, w] = t.shape;
    const values = await t.data();
    t.dispose();
    const maps = indices.map((_, e) =>
      Array.from({ length: Math.min(c, maxChannels) }, (_, ch) => {
        const start = (e * c + ch) * h * w;
        return picture(values.subarray(start, start + h * w), [h, w]);
      })
    );
    out.push({ name: layers[li], maps });
  }
  return {
    examples: indices.map((i) => ({ index: i, label: test.labels[i], input: inputPicture(test, i) })),
    layers: out,
  };
}

async function explanations(
  model: Model,
  test: Dataset,
  indices: readonly number[],
  predictions: Int32Array,
  camLayer: string | undefined,
): Promise<Explanation[]> {
  if (!indices.length) return [];
  const device = model.device;
  const [c, h, w] = test.inputShape;
  const k = model.outputShape.reduce((a, b) => a * b, 1);
  const onehot = new Float32Array(indices.length * k);
  indices.forEach((index, j) => onehot[j * k + predictions[index]] = 1);
  // Forward and backward in one scope: the backward pass needs the forward's intermediate tensors.
  const [gx, acts, ga] = tidy(() => {
    const x = device.tensor(batchOf(test, indices), [indices.length, c, h, w]);
    x.requiresGrad = true;
    const { outputs, captured } = model.run(
      x,
      { training: false, rng: new Rng(0) },
      camLayer ? [camLayer] : [],
    );
    const score = ops.sum(
      ops.mul(ops.reshape(outputs[0], [indices.length, k]), device.tensor(onehot, [indices.length, k])),
    );
    const a = camLayer ? captured.get(camLayer) : undefined;
    const [dx, da] = gradients(score, a ? [x, a] : [x]);
    return [dx, a, da] as const;
  });
  const gxv = await gx.data();
  const av = acts ? await acts.data() : undefined;
  const gav = ga ? await ga.data() : undefined;
  const actShape = acts?.shape;
  for (const t of [gx, acts, ga]) t?.dispose();
  const plane = h * w;
  return indices.map((index, j) => {
    const sal = new Float32Array(plane);
    for (let ch = 0; ch < c; ch++) {
      const base = (j * c + ch) * plane;
      for (let i = 0; i < plane; i++) sal[i] = Math.max(sal[i], Math.abs(gxv[base + i]));
    }
    const label = test.labels[index];
    const cam = av && gav && actShape ? gradCam(av, gav, actShape, j, [h, w]) : undefined;
    return {
      index,
      label,
      predicted: predictions[index],
      correct: predictions[index] === label,
      input: inputPicture(test, index),
      saliency: picture(sal, [h, w], { colormap: "heat" }),
      gradCam: cam && picture(cam, [h, w], { colormap: "heat" }),
    };
  });
}

/** ReLU(Σ_c mean(∂score/∂A_c) · A_c) for example `j`, bilinearly upsampled to `[h, w]`. */
function gradCam(
  a: Float32Array,
  ga: Float32Array,
  shape: readonly number[],
  j: number,
  [h, w]: readonly [number, number],
): Float32Array {
  const [, c, ah, aw] = shape;
  const plane = ah * aw;
  const cam = new Float32Array(plane);
  for (let ch = 0; ch < c; ch++) {
    const base = (j * c + ch) * plane;
    let alpha = 0;
    for (let i = 0; i < plane; i++) alpha += ga[base + i];
    alpha /= plane;
    for (let i = 0; i < plane; i++) cam[i] += alpha * a[base + i];
  }
  for (let i = 0; i < plane; i++) cam[i] = Math.max(0, cam[i]);
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(ah - 1, Math.max(0, ((y + 0.5) * ah) / h - 0.5));
    const y0 = Math.floor(sy), y1 = Math.min(ah - 1, y0 + 1), fy = sy - y0;
    for (let x = 0; x < w; x++) {
      const sx = Math.min(aw - 1, Math.max(0, ((x + 0.5) * aw) / w - 0.5));
      const x0 = Math.floor(sx), x1 = Math.min(aw - 1, x0 + 1), fx = sx - x0;
      out[y * w + x] = (1 - fy) * ((1 - fx) * cam[y0 * aw + x0] + fx * cam[y0 * aw + x1]) +
        fy * ((1 - fx) * cam[y1 * aw + x0] + fx * cam[y1 * aw + x1]);
    }
  }
  return out;
}

function softmax(v: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < v.length; i++) m = Math.max(m, v[i]);
  const out = new Float64Array(v.length);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += out[i] = Math.exp(v[i] - m);
  for (let i = 0; i < v.length; i++) out[i] /= s;
  return out;
}

function mostConfused(
  test: Dataset,
  predictions: Int32Array,
  scores: Float32Array,
  wrong: readonly number[],
  count: number,
): ConfusedExample[] {
  const k = scores.length / test.size;
  const ranked = wrong.map((i) => {
    const p = softmax(scores.subarray(i * k, (i + 1) * k));
    return { i, p, confidence: p[predictions[i]] };
  }).sort((a, b) => b.confidence - a.confidence || a.i - b.i).slice(0, count);
  return ranked.map(({ i, p }) => ({
    index: i,
    label: test.labels[i],
    input: inputPicture(test, i),
    top3: [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, 3).map((label) => ({
      label,
      probability: Math.round(p[label] * 1e4) / 1e4,
    })),
  }));
}

/**
 * Times each layer's forward pass, and forward plus backward, on one batch of test images (median of
 * 3 after a warm-up). Each measurement reads its results back, so queued GPU work is counted.
 */
async function layerTimes(model: Model, test: Dataset, batch: number): Promise<LayerTime[]> {
  const inputNames = Object.keys(model.inputShapes);
  if (batch < 1 || inputNames.length !== 1) return [];
  const device = model.device;
  const names = model.layers.map((n) => n.name);
  const idx = Array.from({ length: batch }, (_, i) => i);
  const rng = new Rng(0);
  const acts = noGrad(() =>
    tidy(() => {
      const x = device.tensor(batchOf(test, idx), [batch, ...test.inputShape]);
      return [x, ...model.run(x, { training: true, rng }, names).captured.values()];
    })
  );
  const byName = new Map<string, Tensor>([[inputNames[0], acts[0]]]);
  names.forEach((n, i) => byName.set(n, acts[i + 1]));
  const rows: { name: string; type: string; forwardMs: number; backwardMs: number }[] = [];
  for (const node of model.layers) {
    const inputs = node.inputs.map((i) => byName.get(i)!);
    const params = [...node.layer.parameters().values()];
    const run = (backward: boolean) =>
      tidy(() => {
        const leaves = inputs.map((t) => {
          const leaf = ops.scale(t, 1);
          leaf.requiresGrad = true;
          return leaf;
        });
        const y = node.layer.forward(leaves.length === 1 ? leaves[0] : leaves, { training: true, rng });
        return backward ? gradients(y, [...leaves, ...params], device.fill(y.shape, 1)) : [y];
      });
    const fwd: number[] = [], both: number[] = [];
    for (let rep = 0; rep < 4; rep++) {
      for (const backward of [false, true]) {
        const t0 = performance.now();
        const out = run(backward);
        for (const t of out) await t.data();
        const ms = performance.now() - t0;
        for (const t of out) t.dispose();
        if (rep > 0) (backward ? both : fwd).push(ms);
      }
    }
    const forwardMs = median(fwd);
    rows.push({
      name: node.name,
      type: node.layer.type,
      forwardMs,
      backwardMs: Math.max(0, median(both) - forwardMs),
    });
  }
  for (const t of acts) t.dispose();
  const total = rows.reduce((s, r) => s + r.forwardMs + r.backwardMs, 0) || 1;
  return rows.map((r) => ({
    ...r,
    forwardMs: Math.round(r.forwardMs * 1000) / 1000,
    backwardMs: Math.round(r.backwardMs * 1000) / 1000,
    share: Math.round(((r.forwardMs + r.backwardMs) / total) * 1e4) / 1e4,
  }));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
