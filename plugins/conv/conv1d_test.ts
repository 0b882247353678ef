import { Registry, Rng, type Shape, sizeOf, tidy } from "@cnnlab/core";
import { assertClose, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import conv, { conv1d, type Conv1dOptions } from "./mod.ts";

const device = await new Registry().use(cpu).use(conv).device("cpu");
const rng = new Rng(5);
const arg = (shape: Shape) => ({ values: uniform(rng, sizeOf(shape)), shape });

/** [n, c, l] ↔ [n, l, c]. */
function swapLast(x: Float32Array, [n, a, b]: Shape): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < a; j++) for (let k = 0; k < b; k++) y[(i * b + k) * a + j] = x[(i * a + j) * b + k];
  }
  return y;
}

Deno.test("conv1d() layer matches tf.conv1d, dilated, with valid and same padding", () => {
  const cases: [Conv1dOptions, Shape, "valid" | "same"][] = [
    [{ filters: 3, kernelSize: 3, dilation: 2 }, [2, 2, 12], "valid"],
    [{ filters: 2, kernelSize: 5, dilation: 3, padding: "same" }, [1, 3, 20], "same"],
    [{ filters: 4, kernelSize: 2, stride: 2 }, [2, 3, 9], "valid"],
  ];
  for (const [options, xs, pad] of cases) {
    tidy(() => {
      const layer = conv1d(options);
      const x = device.tensor(uniform(rng, sizeOf(xs)), xs);
      layer.build(xs, { device, rng });
      const { weight, bias } = Object.fromEntries(layer.parameters());
      bias.assign(device.tensor(uniform(rng, options.filters), [options.filters]));
      const y = layer.forward(x, { training: false, rng });
      const [n, c, l] = xs, k = options.kernelSize, o = options.filters;
      // weight [o, c, k] → tf filter [k, c, o]
      const wv = weight.dataSync(), f = new Float32Array(wv.length);
      for (let a = 0; a < o; a++) {
        for (let b = 0; b < c; b++) {
          for (let q = 0; q < k; q++) f[(q * c + b) * o + a] = wv[(a * c + b) * k + q];
        }
      }
      const want = tf.tidy(() => {
        const t = tf.conv1d(
          tf.tensor3d(swapLast(x.dataSync(), xs), [n, l, c]),
          tf.tensor3d(f, [k, c, o]),
          options.stride ?? 1,
          pad,
          "NWC",
          options.dilation ?? 1,
        )
          .add(tf.tensor1d(bias.dataSync()));
        return {
          values: swapLast(t.dataSync() as Float32Array, t.shape),
          shape: [t.shape[0], t.shape[2], t.shape[1]],
        };
      });
      assert.deepEqual(y.shape, want.shape);
      assertClose(y.dataSync(), want.values, { atol: 1e-4, label: JSON.stringify(options) });
    });
  }
});

Deno.test("conv1d() layer with groups, stride and dilation matches a naive loop", () => {
  const options = { filters: 4, kernelSize: 3, stride: 2, dilation: 2, padding: 1, groups: 2 };
  const [n, c, l] = [2, 6, 13], cg = c / 2, og = 2;
  const layer = conv1d(options);
  const x = uniform(rng, n * c * l);
  layer.build([n, c, l], { device, rng });
  const w = layer.parameters().get("weight")!.dataSync();
  const y = tidy(() => layer.forward(device.tensor(x, [n, c, l]), { training: false, rng }).dataSync());
  const ol = Math.floor((l + 2 - 4 - 1) / 2) + 1;
  const want = new Float32Array(n * 4 * ol);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < 4; o++) {
      for (let t = 0; t < ol; t++) {
        for (let ic = 0; ic < cg; ic++) {
          for (let q = 0; q < 3; q++) {
            const pos = t * 2 - 1 + q * 2;
            if (pos >= 0 && pos < l) {
              want[(b * 4 + o) * ol + t] += x[(b * c + Math.floor(o / og) * cg + ic) * l + pos] *
                w[(o * cg + ic) * 3 + q];
            }
          }
        }
      }
    }
  }
  assertClose(y, want, { atol: 1e-5 });
});

Deno.test("conv1d() layer: gradients w.r.t. input, weight and bias match central differences", () => {
  const options = { filters: 4, kernelSize: 3, dilation: 2, stride: 2, padding: 2, groups: 2 };
  const layer = conv1d(options);
  checkGradients(
    device,
    (x, w, b) => layer.forwardWith(x, w, b),
    [arg([2, 4, 11]), arg([4, 2, 3]), arg([4])],
    { rng },
  );
});

Deno.test("conv1d() layer: shapes, parameters, flops and errors", () => {
  const layer = conv1d({ filters: 8, kernelSize: 5, padding: "same" });
  assert.deepEqual(layer.outputShape([3, 2, 40]), [3, 8, 40]);
  layer.build([1, 2, 40], { device, rng });
  assert.deepEqual([...layer.parameters()].map(([k, t]) => [k, t.shape]), [["weight", [8, 2, 5]], ["bias", [
    8,
  ]]]);
  assert.equal(layer.flops([3, 2, 40]), 2 * 3 * 8 * 40 * 2 * 5 + 3 * 8 * 40);
  assert.throws(
    () => conv1d({ filters: 1, kernelSize: 4, dilation: 3 }).outputShape([1, 1, 9]),
    (e: Error) => e instanceof TypeError && /conv1d/.test(e.message) && /\[1,1,9\]/.test(e.message),
  );
  assert.throws(
    () => layer.outputShape([1, 2, 8, 8]),
    (e: Error) => e instanceof TypeError && /conv1d.*\[1,2,8,8\]/.test(e.message),
  );
  assert.throws(
    () => conv1d({ filters: 0, kernelSize: 3 }),
    (e: Error) => e instanceof RangeError && /conv1d.*filters/.test(e.message),
  );
  assert.throws(
    () => conv1d({ filters: 3, kernelSize: 3, groups: 2 }),
    (e: Error) => e instanceof RangeError && /groups/.test(e.message),
  );
  assert.throws(() => conv1d({ filters: 4, kernelSize: 3, groups: 2 }).outputShape([1, 3, 9]), RangeError);
  assert.throws(() => conv1d({ filters: 4, kernelSize: 4, padding: "same" }), RangeError);
});
