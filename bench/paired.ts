/**
 * LeNet-5 inference of cnnlab's CPU backend and TensorFlow.js's WebAssembly backend, timed run by
 * run in turn (`interleavedMedianSeconds`): the target is their ratio, and on a shared VM
 * whose speed drifts by 1.5× within seconds, two figures taken a minute apart can differ by that
 * much more than the frameworks do.
 * @module
 */
import type { Registry } from "@cnnlab/core";
import { cnnlabLenetInfer } from "./cnnlab.ts";
import { interleavedMedianSeconds, reason, type Row } from "./_measure.ts";

/**
 * Steps (batches) per timed run. More than the 5 that `measureThroughput` and the other TensorFlow.js
 * rows take: each run now follows the other framework's, and its first step pays for the switch
 * (caches refilled, the worker woken). Measured in one process, 5 runs each: at 5 steps cnnlab ran
 * 28,333 and 39,538 img/s timed in turn against 33,904 and 40,796 alone; at 20 steps 38,171 and
 * 46,492 against 40,116 and 47,771 (TF.js WASM SIMD 12,066–15,479 throughout).
 */
const STEPS = 20;

/**
 * Fewest timed runs per row. Timed in turn, a pair of runs costs about 0.15 s, so more runs than the
 * bench's default 5 are cheap, and the medians steadier: in one process, four pairs of 5-run
 * medians gave ratios from 2.23 to 3.98.
 */
const MIN_RUNS = 15;

/**
 * The `lenet5-infer` rows of cnnlab on `cpu` and of TensorFlow.js on WebAssembly, measured
 * interleaved; a TensorFlow.js row with a `note` where its backend cannot run.
 *
 * @param options Registry, batch and timed runs (at least `MIN_RUNS` are taken).
 * @returns The two rows (cnnlab's first).
 */
export async function pairedLenetInfer(
  options: { readonly registry: Registry; readonly batch: number; readonly runs: number },
): Promise<Row[]> {
  const { registry, batch } = options, runs = Math.max(options.runs, MIN_RUNS);
  const timing = { runs, steps: STEPS, warmup: 3 };
  const row = (framework: string, backend: string, seconds: number, note?: string): Row => ({
    framework,
    backend,
    task: "lenet5-infer",
    batch,
    imagesPerSecond: STEPS * batch / seconds,
    runs,
    ...(note ? { note } : {}),
  });
  const ours = await cnnlabLenetInfer(registry, "cpu", batch);
  try {
    let peer;
    try {
      const { tfjsWasmLenetInfer } = await import("./tfjs.ts");
      peer = await tfjsWasmLenetInfer(batch);
    } catch (e) {
      const [s] = await interleavedMedianSeconds([ours.step], timing);
      const missing: Row = { framework: "tfjs", backend: "wasm", task: "lenet5-infer", batch: 0 };
      return [row("cnnlab", "cpu", s), { ...missing, note: `unavailable: ${reason(e)}` }];
    }
    try {
      const [s, t] = await interleavedMedianSeconds([ours.step, peer.step], timing);
      const note = "timed in turn with the other row of this task";
      return [row("cnnlab", "cpu", s, note), row("tfjs", peer.backend, t, note)];
    } finally {
      peer.dispose();
    }
  } finally {
    ours.dispose();
  }
}
