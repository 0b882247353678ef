import { Registry } from "@cnnlab/core";
import webgpu, { type WebGpuBackend } from "@cnnlab/backend-webgpu";
import { paramsBuffer, record } from "@cnnlab/backend-webgpu/dispatch";
const device = await new Registry().use(webgpu).device("webgpu");
const gpu = device.backend as unknown as WebGpuBackend;
const out = gpu.acquire(64 * 6 * 784 * 4 * 4);
const inb = gpu.acquire(64 * 6 * 784 * 4);
async function time(label: string, code: string) {
  const run = () => record(gpu, code, [inb, out, paramsBuffer(gpu, [200])], [784, 1, 1]);
  run(); await gpu.read({ buffer: out, size: 4 }, 4);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now(); run(); await gpu.read({ buffer: out, size: 4 }, 4);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(label.padEnd(30), best.toFixed(1), "ms");
}
const B = (t: string) => `@group(0) @binding(0) var<storage, read> in0: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<storage, read> params: array<u32>;
var<workgroup> ws: array<f32, 1024>;
var<workgroup> ws4: array<vec4f, 256>;
@compute @workgroup_size(64) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let col = wid.x * 64u + lid;
  ws[lid] = f32(lid); ws4[lid] = vec4f(f32(lid));
  workgroupBarrier();
`;
const L = (body: string, t = "f32") => `${B(t)} var b = vec4f(); let n = params[0]; for (var k = 0u; k < n; k++) { ${body} } out[col] = b; }`;
await time("none", L("b += vec4f(f32(k));"));
await time("storage uniform f32", L("b += in0[k];"));
await time("storage gather f32", L("b += in0[col + k];"));
await time("storage uniform vec4", L("b += in0[k];", "vec4f"));
await time("storage gather vec4", L("b += in0[col + k];", "vec4f"));
await time("shared uniform f32", L("b += ws[k];"));
await time("shared gather f32", L("b += ws[(k + lid) & 1023u];"));
await time("shared uniform vec4", L("b += ws4[k];"));
await time("shared gather vec4", L("b += ws4[(k + lid) & 255u];"));
await time("storage const idx", L("b += in0[5];"));
await time("shared vec4 in divergent if", L("if (((k + lid) & 3u) != 0u) { b += ws4[(k + lid) & 255u]; }"));
await time("shared vec4 select", L("b += select(vec4f(), ws4[(k + lid) & 255u], ((k + lid) & 3u) != 0u);"));
await time("storage f32 in divergent if", L("if (((k + lid) & 3u) != 0u) { b += in0[col + k]; }"));
await time("storage f32 select", L("b += select(0.0, in0[col + k], ((k + lid) & 3u) != 0u);"));
await time("divergent continue + shared", L("if (((k + lid) & 3u) == 0u) { continue; } b += ws4[(k + lid) & 255u];"));
