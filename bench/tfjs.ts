/**
 * TensorFlow.js rows, in the same process as cnnlab: its CPU backend and its WebAssembly backend.
 *
 * The WebAssembly backend runs its SIMD, single-threaded binary: its threaded build starts workers
 * from `blob:` URLs, which Deno refuses, so `WASM_HAS_MULTITHREAD_SUPPORT` is turned off and the
 * `.wasm` files are read from the npm package's folder (`setWasmPaths` with the resolved path). Its
 * convolution filter gradient (`Conv2DBackpropFilter`) is not implemented, so LeNet-5 training there
 * gives a row with a note instead of a figure.
 *
 * The networks are the same as cnnlab's (NHWC here): LeNet-5 with relu and max pooling, trained with
 * Adam on softmax cross-entropy, and the single-tower AlexNet (62,378,344 parameters).
 * @module
 */
import { createRequire } from "node:module";
import type * as tfjs from "@tensorflow/tfjs";
import { medianSeconds, reason, type Row, sampleRss, type Task } from "./_measure.ts";

type Tf = typeof tfjs;

/** What `tfjsRows` measures. */
export interface TfjsBenchOptions {
  /** The tasks to run. */
  readonly tasks: readonly Task[];
  /** LeNet-5 batch size. */
  readonly batch: number;
  /** Timed runs per figure. */
  readonly runs: number;
  /** Called with each row as soon as it is measured. */
  readonly onRow?: (row: Row) => void;
  /**
   * `lenet5-infer` on the WebAssembly backend is measured interleaved with cnnlab
   * (`bench/paired.ts`): no row for it here.
   */
  readonly pairedInfer?: boolean;
}

/**
 * Measures TensorFlow.js on its CPU backend, then on its WebAssembly backend.
 *
 * @param options Tasks and repetition counts.
 * @returns One row per backend and task; a row with a `note` where a backend could not run a task.
 */
export async function tfjsRows(options: TfjsBenchOptions): Promise<Row[]> {
  const { tf } = await import("../tests/tfjs.ts");
  const rows: Row[] = [];
  const push = (row: Row) => {
    rows.push(row);
    options.onRow?.(row);
  };
  for (const wanted of ["cpu", "wasm"] as const) {
    let backend: string = wanted;
    try {
      if (wanted === "wasm") backend = await useWasm(tf);
      else await tf.setBackend("cpu");
    } catch (e) {
      for (const task of options.tasks) {
        push({ framework: "tfjs", backend, task, batch: 0, note: `unavailable: ${reason(e)}` });
      }
      continue;
    }
    for (const task of options.tasks) {
      if (options.pairedInfer && wanted === "wasm" && task === "lenet5-infer") continue;
      const batch = task.startsWith("lenet5") ? options.batch : 1;
      try {
        push({
          framework: "tfjs",
          backend,
          task,
          batch,
          ...await measure(tf, task, options),
          runs: options.runs,
        });
      } catch (e) {
        push({ framework: "tfjs", backend, task, batch, note: `unsupported: ${reason(e)}` });
      }
      tf.disposeVariables();
      sampleRss();
    }
  }
  await tf.setBackend("cpu");
  return rows;
}

/**
 * LeNet-5 inference on a batch on TensorFlow.js's WebAssembly backend, selected by this call (it
 * stays selected): `predict`, reading the result back.
 *
 * @param batch Images per step.
 * @returns The backend's name (`"wasm-simd"` or `"wasm"`), the step, and `dispose`.
 * @throws {Error} If the WebAssembly backend cannot be selected.
 */
export async function tfjsWasmLenetInfer(
  batch: number,
): Promise<{ readonly backend: string; readonly step: () => Promise<void>; readonly dispose: () => void }> {
  const { tf } = await import("../tests/tfjs.ts");
  const backend = await useWasm(tf);
  const model = lenet5(tf);
  const x = tf.randomUniform([batch, 28, 28, 1]);
  return {
    backend,
    step: () => readAndDispose(model.predict(x) as tfjs.Tensor),
    dispose: () => {
      model.dispose();
      x.dispose();
      tf.disposeVariables();
    },
  };
}

/**
 * Registers and selects the WebAssembly backend (SIMD, one thread).
 *
 * @param tf The TensorFlow.js namespace.
 * @returns `"wasm-simd"`, or `"wasm"` where the runtime lacks SIMD.
 */
async function useWasm(tf: Tf): Promise<string> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const main = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  wasm.setWasmPaths(main.slice(0, main.lastIndexOf("/") + 1));
  if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') returned false");
  await tf.ready();
  return (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) ? "wasm-simd" : "wasm";
}

async function measure(
  tf: Tf,
  task: Task,
  options: TfjsBenchOptions,
): Promise<Pick<Row, "imagesPerSecond" | "msPerImage" | "gflops">> {
  const { batch, runs } = options;
  switch (task) {
    case "lenet5-train":
    case "lenet5-infer": {
      const model = lenet5(tf);
      const x = tf.randomUniform([batch, 28, 28, 1]);
      const y = tf.oneHot(tf.randomUniform([batch], 0, 10, "int32"), 10).toFloat();
      try {
        if (task === "lenet5-infer") {
          const s = await medianSeconds(() => readAndDispose(model.predict(x) as tfjs.Tensor), {
            runs,
            steps: 5,
          });
          return { imagesPerSecond: (5 * batch) / s };
        }
        const optimizer = tf.train.adam(0.001);
        const s = await medianSeconds(() => {
          const cost = optimizer.minimize(
            () => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tfjs.Tensor),
            true,
          );
          return readAndDispose(cost!);
        }, { runs });
        optimizer.dispose();
        return { imagesPerSecond: batch / s };
      } finally {
        model.dispose();
        tf.dispose([x, y]);
      }
    }
    case "alexnet-forward": {
      const model = alexnet(tf);
      const x = tf.randomUniform([1, 227, 227, 3]);
      try {
        const s = await medianSeconds(() => readAndDispose(model.predict(x) as tfjs.Tensor), { runs });
        return { msPerImage: s * 1000 };
      } finally {
        model.dispose();
        x.dispose();
      }
    }
    case "gemm-1024": {
      const n = 1024;
      const a = tf.randomUniform([n, n]), b = tf.randomUniform([n, n]);
      try {
        // Computed when called on the CPU and WebAssembly backends; not read back (see cnnlab's row).
        const s = await medianSeconds(() => tf.matMul(a, b).dispose(), { runs, warmup: 2 });
        return { gflops: (2 * n ** 3) / s / 1e9 };
      } finally {
        tf.dispose([a, b]);
      }
    }
  }
}

async function readAndDispose(t: tfjs.Tensor): Promise<void> {
  await t.data();
  t.dispose();
}

/** LeNet-5 as cnnlab's `lenet5()` builds it, in NHWC. */
function lenet5(tf: Tf): tfjs.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 6,
        kernelSize: 5,
        padding: "same",
        activation: "relu",
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: "relu" }),
      tf.layers.dense({ units: 84, activation: "relu" }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

/** The single-tower AlexNet as `@cnnlab/alexnet`'s `alexnet()` builds it, in NHWC. */
function alexnet(tf: Tf): tfjs.Sequential {
  const pool = () => tf.layers.maxPooling2d({ poolSize: 3, strides: 2 });
  const conv = (filters: number, kernelSize: number) =>
    tf.layers.conv2d({ filters, kernelSize, padding: "same", activation: "relu" });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [227, 227, 3],
        filters: 96,
        kernelSize: 11,
        strides: 4,
        activation: "relu",
      }),
      pool(),
      conv(256, 5),
      pool(),
      conv(384, 3),
      conv(384, 3),
      conv(256, 3),
      pool(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4096, activation: "relu" }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 4096, activation: "relu" }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 1000 }),
    ],
  });
}
