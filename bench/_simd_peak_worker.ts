/**
 * Worker of `simd_peak.ts`: builds the ideal loop, runs it until V8 has optimised it, says it is ready,
 * then, each time the bench bumps the generation word, runs its timed calls and reports their
 * milliseconds; at `STOP` it says so and closes. Private to the bench.
 * @module
 */
import { Code, encodeModule, F32, I32, madd, repeat, V128 } from "../plugins/backend-cpu/_wasm_emitter.ts";
import { DONE, GENERATION, type PeakJob, slots, STOP } from "./_simd_peak_protocol.ts";

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

globalThis.addEventListener("message", (event) => {
  const job = (event as MessageEvent<PeakJob>).data;
  const { control, milliseconds } = slots(job.shared);
  const peak = peakFunction(job.relaxed);
  // Wasm has no on-stack replacement: many short calls let the tier-up happen before timing.
  for (let i = 0; i < 300; i++) peak(10_000);
  for (let generation = 0;; generation++) {
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
    Atomics.wait(control, GENERATION, generation);
    if (Atomics.load(control, GENERATION) === STOP) break;
    const t0 = performance.now();
    for (let i = 0; i < job.calls; i++) peak(job.iterations);
    milliseconds[job.index] = performance.now() - t0;
  }
  Atomics.add(control, DONE, 1);
  Atomics.notify(control, DONE);
  globalThis.close();
});
