/**
 * cnnlab's rows: LeNet-5 training and inference (through `measureThroughput`, as `cnnlab bench` does),
 * one AlexNet forward pass at batch 1, and the CPU backend's 1024³ GEMM.
 * @module
 */
import { Model, noGrad, ops, type Registry, Rng, tidy } from "@cnnlab/core";
import { lenet5 } from "@cnnlab/lenet5";
import { alexnet } from "@cnnlab/alexnet";
import { measureThroughput, median } from "@cnnlab/cli/bench";
import { cpuTasksRun } from "@cnnlab/backend-cpu/gemm";
import { interleavedMedianSeconds, medianSeconds, type Row, sampleRss, type Task } from "./_measure.ts";
import { IdealLoop } from "./simd_peak.ts";

/** What `cnnlabRows` measures. */
export interface CnnlabBenchOptions {
  readonly registry: Registry;
  /** Registered backend name, e.g. `cpu` or `webgpu`. */
  readonly backend: string;
  /** The tasks to run; `gemm-1024` runs only for `cpu` backends. */
  readonly tasks: readonly Task[];
  /** LeNet-5 batch size. */
  readonly batch: number;
  /** Timed runs per figure. */
  readonly runs: number;
  /** Written into each row (the WebGPU adapter). */
  readonly device?: string;
  /** `lenet5-infer` is measured interleaved with a peer (`bench/paired.ts`): no row for it here. */
  readonly pairedInfer?: boolean;
}

/**
 * Measures cnnlab on one backend.
 *
 * @param options Registry, backend, tasks and repetition counts.
 * @returns One row per task measured.
 */
export async function cnnlabRows(options: CnnlabBenchOptions): Promise<Row[]> {
  const { registry, backend, tasks, batch, runs, device } = options;
  const rows: Row[] = [];
  const base = { framework: "cnnlab", backend, ...(device ? { device } : {}) };
  if (tasks.includes("lenet5-train") || tasks.includes("lenet5-infer")) {
    const t = await measureThroughput({
      registry,
      backend,
      spec: lenet5(),
      batchSize: batch,
      runs,
      steps: 5,
    });
    sampleRss();
    if (tasks.includes("lenet5-train")) {
      rows.push({ ...base, task: "lenet5-train", batch, imagesPerSecond: t.trainImagesPerSecond, runs });
    }
    if (tasks.includes("lenet5-infer") && !options.pairedInfer) {
      rows.push({ ...base, task: "lenet5-infer", batch, imagesPerSecond: t.inferImagesPerSecond, runs });
    }
  }
  if (tasks.includes("alexnet-forward")) {
    const [msPerImage, threadShares] = await withShares(() => alexnetMs(options));
    rows.push({ ...base, task: "alexnet-forward", batch: 1, msPerImage, runs, ...threadShares });
  }
  if (tasks.includes("gemm-1024") && backend.startsWith("cpu")) {
    const [{ gflops, idealGflops }, threadShares] = await withShares(() => matmulGflops(options, 1024));
    rows.push({ ...base, task: "gemm-1024", batch: 1, gflops, runs, ...threadShares, idealGflops });
  }
  return rows;
}

/**
 * Runs `measure`, and the share of the CPU kernels' tasks each thread ran meanwhile (as a row's
 * `threadShares`; none when no task ran, as on WebGPU).
 */
async function withShares<T>(measure: () => Promise<T>): Promise<[T, { threadShares?: number[] }]> {
  const before = cpuTasksRun();
  const value = await measure();
  const done = cpuTasksRun().map((count, i) => count - (before[i] ?? 0));
  const total = done.reduce((a, b) => a + b, 0);
  return [value, total > 0 ? { threadShares: done.map((d) => Math.round((1000 * d) / total) / 1000) } : {}];
}

/** One contender of an interleaved measurement: a step to time, and its clean-up. */
export interface Contender {
  readonly step: () => Promise<void>;
  readonly dispose: () => void;
}

/**
 * LeNet-5 inference on a batch, as `measureThroughput` times it: a forward pass under `noGrad` and
 * `tidy` from a fresh input tensor, reading the result back.
 *
 * @param registry Where the backend and LeNet-5's layers are registered.
 * @param backend Registered backend name.
 * @param batch Images per step.
 * @returns The step, and `dispose` for the model's parameters.
 */
export async function cnnlabLenetInfer(
  registry: Registry,
  backend: string,
  batch: number,
): Promise<Contender> {
  const device = await registry.device(backend);
  const rng = new Rng(1);
  const spec = lenet5();
  const model = new Model(spec, { registry, device, rng });
  const xs = Float32Array.from({ length: batch * 28 * 28 }, () => rng.next());
  return {
    step: async () => {
      const out = noGrad(() =>
        tidy(() => model.forward(device.tensor(xs, [batch, 1, 28, 28]), { training: false, rng }))
      );
      await out.data();
      out.dispose();
    },
    dispose: () => {
      for (const p of model.parameters().values()) p.dispose();
    },
  };
}

/**
 * Milliseconds of one AlexNet (single tower, 1000 classes) inference on a 1 × 3 × 227 × 227 input,
 * under `noGrad` and `tidy`, reading the result back.
 *
 * @param options Registry, backend and runs.
 * @returns The median milliseconds.
 */
async function alexnetMs(options: CnnlabBenchOptions): Promise<number> {
  const { registry, backend, runs } = options;
  const device = await registry.device(backend);
  const rng = new Rng(1);
  const model = new Model(alexnet(), { registry, device, rng });
  const x = device.tensor(Float32Array.from({ length: 3 * 227 * 227 }, () => rng.next()), [1, 3, 227, 227]);
  try {
    const seconds = await medianSeconds(async () => {
      const y = noGrad(() => tidy(() => model.forward(x, { training: false, rng })));
      await y.data();
      y.dispose();
    }, { runs });
    return seconds * 1000;
  } finally {
    x.dispose();
    for (const p of model.parameters().values()) p.dispose();
  }
}

/**
 * GFLOP/s of `matmul` on two n × n float32 tensors already on the backend, the product left there and
 * disposed, as the TensorFlow.js rows time `tf.matMul`: 2n³ over the median seconds. Both CPU
 * backends compute when the op is called. The product is not read back: `dataSync` returns a fresh
 * 4 MiB array, whose first writes fault its pages in (1–4 ms per call on this machine, 3–11% of
 * cnnlab's GEMM and about 5% of TensorFlow.js WebAssembly's), a cost of the allocator, not of the
 * GEMM. On the CPU backend the operands are views of the kernels' memory, so `gemm` reads them and
 * writes the product in place.
 *
 * Each timed product is followed by a run of the ideal loop on every core (`IdealLoop`, about 10 ms),
 * whose median says what the cores could do at the same moments: this VM at times runs both of its
 * threads on one core's arithmetic units, and the ideal loop then falls to its 1-thread figure.
 *
 * @param options Registry, backend and runs.
 * @param n The size.
 * @returns 10⁹ floating-point operations per second, of the product and of the ideal loop timed in turn.
 */
async function matmulGflops(
  options: CnnlabBenchOptions,
  n: number,
): Promise<{ gflops: number; idealGflops: number }> {
  const device = await options.registry.device(options.backend);
  const rng = new Rng(2);
  const a = device.tensor(Float32Array.from({ length: n * n }, () => rng.next() - 0.5), [n, n]);
  const b = device.tensor(Float32Array.from({ length: n * n }, () => rng.next() - 0.5), [n, n]);
  const ideal = await IdealLoop.start(navigator.hardwareConcurrency);
  const idealRuns: number[] = [];
  try {
    const [seconds] = await interleavedMedianSeconds([
      () => noGrad(() => ops.matmul(a, b)).dispose(),
      () => idealRuns.push(ideal.run()),
    ], { runs: options.runs, warmup: 2 });
    return { gflops: (2 * n ** 3) / seconds / 1e9, idealGflops: median(idealRuns.slice(-options.runs)) };
  } finally {
    ideal.close();
    a.dispose();
    b.dispose();
  }
}
