import { Registry } from "@cnnlab/core";
import webgpu, { type WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, paramsBuffer, record } from "@cnnlab/backend-webgpu/dispatch";
const device = await new Registry().use(webgpu).device("webgpu");
const gpu = device.backend as unknown as WebGpuBackend;
const out = gpu.acquire(64 * 6 * 784 * 4);
const inb = gpu.acquire(64 * 6 * 784 * 4);
async function time(label: string, code: string, wg: [number, number, number], p: number[]) {
  const run = () => record(gpu, code, [inb, out, paramsBuffer(gpu, p)], wg);
  run(); await gpu.read({ buffer: out, size: 4 }, 4);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now(); run(); await gpu.read({ buffer: out, size: 4 }, 4);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(label, best.toFixed(1), "ms");
}
const H = `${bindings(1)}@compute @workgroup_size(64) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let col = wid.x * 64u + lid;`;
await time("empty 50k", `${H} out[col] = 0.0; }`, [784, 1, 1], [0]);
await time("fma 200 x 50k", `${H} var a = f32(col); var b = 0.0; for (var k = 0u; k < params[0]; k++) { b += a * 1.0001; a += 1.0; } out[col] = b; }`, [784, 1, 1], [200]);
await time("uniform load 200 x 50k", `${H} var b = 0.0; for (var k = 0u; k < params[0]; k++) { b += in0[k]; } out[col] = b; }`, [784, 1, 1], [200]);
await time("gather 200 x 50k", `${H} var b = 0.0; for (var k = 0u; k < params[0]; k++) { b += in0[col + k]; } out[col] = b; }`, [784, 1, 1], [200]);
await time("read trivial", `${H} out[col] = 0.0; }`, [1, 1, 1], [0]);
