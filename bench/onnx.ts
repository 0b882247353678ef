/**
 * onnxruntime-node rows (native, optional): LeNet-5 and AlexNet inference and a 1024³ `MatMul`, on
 * ONNX models written in `_onnx_model.ts` with random weights. Where the npm package does not install
 * or its native addon does not load, `onnxRows` returns rows with a note instead of failing.
 * @module
 */
import { encodeOnnx, GraphBuilder, type OnnxGraph } from "./_onnx_model.ts";
import { medianSeconds, reason, type Row, sampleRss, type Task } from "./_measure.ts";

/** What `onnxRows` measures. */
export interface OnnxBenchOptions {
  /** The tasks to run; `lenet5-train` is skipped (onnxruntime-node does not train). */
  readonly tasks: readonly Task[];
  /** LeNet-5 batch size. */
  readonly batch: number;
  /** Timed runs per figure. */
  readonly runs: number;
}

/**
 * Measures onnxruntime-node's CPU execution provider (its own thread pool, one thread per core).
 *
 * @param options Tasks and repetition counts.
 * @returns One row per inference task; a single row with a note if onnxruntime-node cannot load.
 */
export async function onnxRows(options: OnnxBenchOptions): Promise<Row[]> {
  const tasks = options.tasks.filter((t) => t !== "lenet5-train");
  if (tasks.length === 0) return [];
  let ort: Ort;
  try {
    ort = await import(ORT) as Ort;
  } catch (e) {
    return [{
      framework: "onnxruntime",
      backend: "cpu-native",
      task: tasks[0],
      batch: 0,
      note: `unavailable: ${reason(e)}`,
    }];
  }
  const rows: Row[] = [];
  for (const task of tasks) {
    const batch = task === "lenet5-infer" ? options.batch : 1;
    const base = { framework: "onnxruntime", backend: "cpu-native", task, batch };
    try {
      const { graph, feeds } = model(task, batch);
      const session = await ort.InferenceSession.create(encodeOnnx(graph), { graphOptimizationLevel: "all" });
      const inputs = Object.fromEntries(
        Object.entries(feeds).map(([k, { data, dims }]) => [k, new ort.Tensor("float32", data, dims)]),
      );
      const s = await medianSeconds(async () => {
        const out = await session.run(inputs);
        for (const t of Object.values(out)) t.dispose();
      }, { runs: options.runs, warmup: 2, steps: task === "gemm-1024" ? 1 : 5 });
      await session.release();
      const figure = task === "lenet5-infer"
        ? { imagesPerSecond: (5 * batch) / s }
        : task === "alexnet-forward"
        ? { msPerImage: (s / 5) * 1000 }
        : { gflops: (2 * 1024 ** 3) / s / 1e9 };
      rows.push({ ...base, ...figure, runs: options.runs });
    } catch (e) {
      rows.push({ ...base, note: `unsupported: ${reason(e)}` });
    }
    sampleRss();
  }
  return rows;
}

// Imported through a variable so that `deno check` and `deno cache` do not fetch the package (about
// 290 MB unpacked, native binaries for every platform) unless the bench runs with peers.
const ORT = "npm:onnxruntime-node@1.30.0";

/** The part of onnxruntime-node's API the bench uses. */
interface Ort {
  InferenceSession: {
    create(model: Uint8Array, options: { graphOptimizationLevel: "all" }): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { dispose(): void }>>;
      release(): Promise<void>;
    }>;
  };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;
}

type Feeds = Record<string, { data: Float32Array; dims: number[] }>;

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    out[i] = (s >>> 0) / 2 ** 32;
  }
  return out;
}

function model(task: Task, batch: number): { graph: OnnxGraph; feeds: Feeds } {
  if (task === "gemm-1024") {
    const n = 1024;
    return {
      graph: {
        inputs: { a: [n, n], b: [n, n] },
        outputs: { output: [n, n] },
        nodes: [{ op: "MatMul", inputs: ["a", "b"], output: "output" }],
        initializers: {},
      },
      feeds: { a: { data: random(n * n, 1), dims: [n, n] }, b: { data: random(n * n, 2), dims: [n, n] } },
    };
  }
  if (task === "lenet5-infer") {
    const graph = new GraphBuilder("x")
      .conv(1, { filters: 6, kernel: 5, pad: 2 }).relu().maxPool(2, 2)
      .conv(6, { filters: 16, kernel: 5 }).relu().maxPool(2, 2)
      .flatten().dense(400, 120).relu().dense(120, 84).relu().dense(84, 10)
      .build([batch, 1, 28, 28], [batch, 10]);
    return { graph, feeds: { x: { data: random(batch * 28 * 28, 3), dims: [batch, 1, 28, 28] } } };
  }
  const graph = new GraphBuilder("x")
    .conv(3, { filters: 96, kernel: 11, stride: 4 }).relu().maxPool(3, 2)
    .conv(96, { filters: 256, kernel: 5, pad: 2 }).relu().maxPool(3, 2)
    .conv(256, { filters: 384, kernel: 3, pad: 1 }).relu()
    .conv(384, { filters: 384, kernel: 3, pad: 1 }).relu()
    .conv(384, { filters: 256, kernel: 3, pad: 1 }).relu().maxPool(3, 2)
    .flatten().dense(9216, 4096).relu().dense(4096, 4096).relu().dense(4096, 1000)
    .build([1, 3, 227, 227], [1, 1000]);
  return { graph, feeds: { x: { data: random(3 * 227 * 227, 4), dims: [1, 3, 227, 227] } } };
}
