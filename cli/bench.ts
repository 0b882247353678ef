/**
 * Throughput measurement of a cnnlab model: training steps and inference passes on random
 * data, each figure the median of several timed runs after warm-up.
 * @module
 */
import {
  gradients,
  Model,
  type ModelSpec,
  noGrad,
  type Optimizer,
  type Registry,
  Rng,
  tidy,
} from "@cnnlab/core";

/** Options of `measureThroughput`. */
export interface ThroughputOptions {
  readonly registry: Registry;
  readonly backend: string;
  /** The backend's settings (e.g. the cpu backend's `threads`), used if the device starts here. */
  readonly backendOptions?: Readonly<Record<string, unknown>>;
  readonly spec: ModelSpec;
  readonly batchSize: number;
  /** Timed runs (median taken); default 5. */
  readonly runs?: number;
  /** Steps per timed run; default 10. */
  readonly steps?: number;
  /** Optimizer for training steps; default adam. */
  readonly optimizer?: string;
}

/** Images per second, median of runs. */
export interface Throughput {
  readonly trainImagesPerSecond: number;
  readonly inferImagesPerSecond: number;
}

/**
 * Measures training (forward, softmax cross-entropy, backward, optimizer step) and inference throughput.
 *
 * @param options Model spec, backend, batch size and repetition counts.
 * @returns Median images per second for each.
 */
export async function measureThroughput(options: ThroughputOptions): Promise<Throughput> {
  const { registry, spec, batchSize, runs = 5, steps = 10 } = options;
  const device = await registry.device(options.backend, options.backendOptions);
  const rng = new Rng(1);
  const model = new Model(spec, { registry, device, rng });
  const params = model.parameters();
  const names = [...params.keys()], list = [...params.values()];
  for (const p of list) p.requiresGrad = true;
  const loss = registry.loss("softmaxCrossEntropy")({});
  const optimizer: Optimizer = registry.optimizer(options.optimizer ?? "adam")({});
  const input = spec.input ?? Object.values(spec.inputs ?? {})[0];
  const per = input.reduce((p, d) => p * d, 1);
  const classes = model.outputShape[0];
  const xs = Float32Array.from({ length: batchSize * per }, () => rng.next());
  const ys = Float32Array.from({ length: batchSize }, () => rng.int(classes));
  const trainStep = async () => {
    const l = tidy(() => {
      const x = device.tensor(xs, [batchSize, ...input]);
      const out = model.forward(x, { training: true, rng });
      const value = loss.compute(out, device.tensor(ys, [batchSize]));
      const grads = gradients(value, list);
      noGrad(() => optimizer.step(params, new Map(names.map((n, i) => [n, grads[i]]))));
      return value;
    });
    await l.data();
    l.dispose();
  };
  const inferStep = async () => {
    const out = noGrad(() =>
      tidy(() => model.forward(device.tensor(xs, [batchSize, ...input]), { training: false, rng }))
    );
    await out.data();
    out.dispose();
  };
  const time = async (step: () => Promise<void>) => {
    for (let i = 0; i < 3; i++) await step();
    const rates: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) await step();
      rates.push((steps * batchSize) / ((performance.now() - t0) / 1000));
    }
    return median(rates);
  };
  try {
    return { trainImagesPerSecond: await time(trainStep), inferImagesPerSecond: await time(inferStep) };
  } finally {
    // Parameters and optimizer state hold backend storage (blocks of the CPU kernels' memory).
    for (const t of [...list, ...optimizer.state().tensors.values()]) t.dispose();
  }
}

/**
 * The median of numbers.
 *
 * @param values At least one number.
 * @returns The median.
 */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
