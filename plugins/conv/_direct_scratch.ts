import { Registry, Rng, type Shape, sizeOf, defineKernel, runOp, defineOp } from "@cnnlab/core";
import { uniform, assertClose } from "@cnnlab/core/testing";
import webgpu from "@cnnlab/backend-webgpu";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, PRELUDE, runKernel } from "@cnnlab/backend-webgpu/dispatch";
import cpu from "@cnnlab/backend-cpu";
import conv, { conv2dOp, type Conv2dAttrs } from "./mod.ts";
import { convGeometry } from "./_geometry.ts";

const code = `${bindings(2)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = index(gid, nwg);
  let n = params[0]; let cIn = params[1]; let h = params[2]; let w = params[3];
  let cOut = params[4]; let kh = params[5]; let kw = params[6]; let oh = params[7]; let ow = params[8];
  let sh = params[9]; let sw = params[10]; let ph = i32(params[11]); let pw = i32(params[12]);
  let dh = i32(params[13]); let dw = i32(params[14]); let cg = params[15]; let og = params[16];
  let total = n * cOut * oh * ow;
  if (idx >= total) { return; }
  let j = idx % ow; let t1 = idx / ow; let i = t1 % oh; let t2 = t1 / oh; let o = t2 % cOut; let b = t2 / cOut;
  let g = o / og;
  let iy0 = i32(i * sh) - ph; let ix0 = i32(j * sw) - pw;
  var acc = 0.0;
  for (var c = 0u; c < cg; c++) {
    let xb = ((b * cIn + g * cg + c) * h) * w;
    let wb = ((o * cg + c) * kh) * kw;
    for (var p = 0u; p < kh; p++) {
      let y = iy0 + i32(p) * dh;
      if (y < 0 || y >= i32(h)) { continue; }
      for (var q = 0u; q < kw; q++) {
        let x = ix0 + i32(q) * dw;
        if (x >= 0 && x < i32(w)) { acc += in0[xb + u32(y) * w + u32(x)] * in1[wb + p * kw + q]; }
      }
    }
  }
  out[idx] = acc;
}`;
const op2 = defineOp<Conv2dAttrs>({ ...conv2dOp, name: "conv2dDirect" } as never);
const kern = defineKernel<GpuStorage, Conv2dAttrs>({
  op: "conv2dDirect", backend: "webgpu",
  run([x, w], attrs, outShape, backend) {
    const g = convGeometry("conv2d", x.shape, w.shape, attrs);
    const size = sizeOf(outShape);
    return runKernel(backend as unknown as WebGpuBackend, { op: "conv2d", code, inputs: [x, w], outputSize: size,
      params: [g.n, g.cIn, g.h, g.w, g.cOut, g.kh, g.kw, g.oh, g.ow, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.cg, g.og] });
  },
});
const device = await new Registry().use(webgpu).use(cpu).use(conv).use({ name: "x", version: "0.1.0", provides: { ops: [op2] }, kernels: [kern] } as never).device("webgpu");
const rng = new Rng(3);
const attrs = (a: Partial<Conv2dAttrs> = {}): Conv2dAttrs => ({ stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, ...a });
const layers = [
  { name: "conv1", x: [64, 1, 28, 28], w: [6, 1, 5, 5], attrs: attrs({ padding: [2, 2] }) },
  { name: "conv2", x: [64, 6, 14, 14], w: [16, 6, 5, 5], attrs: attrs() },
];
for (const l of layers) {
  const x = device.tensor(uniform(rng, sizeOf(l.x)), l.x), w = device.tensor(uniform(rng, sizeOf(l.w)), l.w);
  for (const o of [op2, conv2dOp]) {
    const f = () => runOp(o, [x, w], l.attrs);
    for (let i = 0; i < 2; i++) { const y = f(); await y.data(); }
    const t0 = performance.now();
    const y = f(); const d = await y.data();
    console.log(l.name, o.name, (performance.now() - t0).toFixed(1), d[5]);
  }
}
