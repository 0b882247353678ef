/**
 * Worker of `simd_peak.ts`: builds the ideal loop, runs it until V8 has optimised it, then waits for
 * the start word and reports the milliseconds of its timed calls. Private to the bench.
 * @module
 */
import { Code, encodeModule, F32, I32, madd, repeat, V128 } from "../plugins/backend-cpu/_wasm_emitter.ts";

/** `peak(n)`: n iterations of 12 independent 4-lane multiply-adds (relaxed, else mul + add). */
function peakFunction(relaxed: boolean): (n: number) => number {
  const code = new Code();
  const acc = Array.from({ length: 12 }, (_, i) => 1 + i), b0 = 13, b1 = 14;
  code.f32Const(1.0000001).f32x4Splat().localSet(b0).f32Const(0.9999999).f32x4Splat().localSet(b1);
  repeat(code, 0, () => {
    for (let i = 0; i < 12; i++) madd(code, relaxed, i % 2 ? b0 : b1, acc[i], acc[i]);
  });
  code.localGet(acc[0]).f32x4ExtractLane(0);
  for (let i = 1; i < 12; i++) code.localGet(acc[i]).f32x4ExtractLane(0).f32Add();
  const bytes = encodeModule({
    memory: { initial: 1, maximum: 1, shared: false },
    functions: [{
      export: "peak",
      params: [I32],
      results: [F32],
      locals: new Array(14).fill(V128),
      body: code,
    }],
  });
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  return instance.exports.peak as (n: number) => number;
}

/** What the bench posts: the start word, timed calls, and whether relaxed SIMD validates. */
interface PeakJob {
  readonly start: SharedArrayBuffer;
  readonly calls: number;
  readonly relaxed: boolean;
}

// A module worker: `globalThis` is its scope, whose `postMessage` answers the bench.
const scope = globalThis as unknown as { postMessage(ms: number): void };
globalThis.addEventListener("message", (event) => {
  const e = event as MessageEvent<PeakJob>;
  const peak = peakFunction(e.data.relaxed);
  // Wasm has no on-stack replacement: many short calls let the tier-up happen before timing.
  for (let i = 0; i < 300; i++) peak(10_000);
  const start = new Int32Array(e.data.start);
  Atomics.add(start, 0, 1);
  Atomics.wait(start, 1, 0);
  const t0 = performance.now();
  for (let i = 0; i < e.data.calls; i++) peak(CALL_ITERATIONS);
  scope.postMessage(performance.now() - t0);
});

/** Iterations per timed call. */
const CALL_ITERATIONS = 100_000;
