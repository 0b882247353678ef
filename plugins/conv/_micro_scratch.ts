import { Registry, Rng } from "@cnnlab/core";
import { uniform } from "@cnnlab/core/testing";
import webgpu, { type WebGpuBackend } from "@cnnlab/backend-webgpu";
import { paramsBuffer, record } from "@cnnlab/backend-webgpu/dispatch";
import { forwardCode } from "./conv2d_webgpu.ts";
const device = await new Registry().use(webgpu).device("webgpu");
const gpu = device.backend as unknown as WebGpuBackend;
const rng = new Rng(1);
const g = { n: 64, cIn: 1, h: 28, w: 28, cOut: 6, kh: 5, kw: 5, oh: 28, ow: 28, sh: 1, sw: 1, ph: 2, pw: 2, dh: 1, dw: 1, cg: 1, og: 6 };
const N = 64 * 784;
const params = [...Object.values(g), 6, N, 1, 102, 0, 1];
const x = gpu.upload(uniform(rng, 64 * 784)), w = gpu.upload(uniform(rng, 150));
const out = gpu.acquire(64 * 6 * 784 * 4);
async function time(label: string, code: string) {
  const run = () => record(gpu, code, [x.buffer, w.buffer, out, paramsBuffer(gpu, params)], [784, 1, 1]);
  gpu.device.pushErrorScope("validation");
  run(); await gpu.read({ buffer: out, size: 4 }, 4);
  const err = await gpu.device.popErrorScope();
  if (err) { console.log(label, "INVALID", err.message.slice(0, 200)); return; }
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now(); run(); await gpu.read({ buffer: out, size: 4 }, 4);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(label.padEnd(30), best.toFixed(1), "ms");
}
const base = forwardCode(8);
await time("base", base);
await time("no shared reads", base.replace(/a(\d) \+= v \* ws\[s \+ \du\];/g, "a$1 += v;"));
await time("no gather", base.replace("let v = in0[xr + u32(x)];", "let v = f32(x);"));
await time("no staging", base.replace(/ws\[t \* 2u \+ m \/ 4u\]\[m % 4u\] = .*;/, ""));
await time("no stores", base.replace(/out\[.*\] = a.*;/g, ""));
await time("staging vec4 write", base.replace(/ws\[t \* 2u \+ m \/ 4u\]\[m % 4u\] = (.*);/, "ws[t * 2u + m / 4u] = vec4f($1);"));
for (const f of Deno.args) await time(f, await Deno.readTextFile(f));
await Deno.writeTextFile("/tmp/cw/fwd8.wgsl", base);
