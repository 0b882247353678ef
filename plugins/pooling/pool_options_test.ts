import assert from "node:assert/strict";
import { pool2dOutputShape, resolvePool2dOptions } from "./mod.ts";

Deno.test("resolvePool2dOptions() defaults stride to poolSize and padding to 0, and accepts pairs", () => {
  assert.deepEqual(resolvePool2dOptions({ poolSize: [3, 2] }, "x"), {
    poolSize: [3, 2],
    stride: [3, 2],
    padding: [0, 0],
  });
  assert.deepEqual(resolvePool2dOptions({ poolSize: 3, stride: [1, 2], padding: 1 }, "x"), {
    poolSize: [3, 3],
    stride: [1, 2],
    padding: [1, 1],
  });
});

Deno.test("resolvePool2dOptions() rejects bad values with a RangeError naming the layer and option", () => {
  const bad: [object, RegExp][] = [
    [{}, /maxPool2d: option "poolSize"/],
    [{ poolSize: 0 }, /option "poolSize"/],
    [{ poolSize: 1.5 }, /option "poolSize"/],
    [{ poolSize: [2, 2, 2] }, /option "poolSize"/],
    [{ poolSize: "2" }, /option "poolSize"/],
    [{ poolSize: 2, stride: 0 }, /option "stride"/],
    [{ poolSize: 2, padding: -1 }, /option "padding"/],
    [{ poolSize: [3, 2], padding: [1, 2] }, /option "padding" \[1,2\] must be below poolSize \[3,2\]/],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => resolvePool2dOptions(options as never, "maxPool2d"),
      (e: Error) => e instanceof RangeError && message.test(e.message),
      JSON.stringify(options),
    );
  }
});

Deno.test("pool2dOutputShape() computes o = floor((i + 2p − k)/s) + 1 per axis", () => {
  const attrs = resolvePool2dOptions({ poolSize: [3, 2], stride: [2, 3], padding: [1, 0] }, "x");
  // h: floor((9 + 2 − 3)/2) + 1 = 5; w: floor((8 − 2)/3) + 1 = 3
  assert.deepEqual(pool2dOutputShape([2, 4, 9, 8], attrs, "x"), [2, 4, 5, 3]);
  assert.deepEqual(pool2dOutputShape([1, 1, 3, 2], attrs, "x"), [1, 1, 2, 1]);
});

Deno.test("pool2dOutputShape() rejects too-small or wrong-rank input with a TypeError naming the layer and shapes", () => {
  const attrs = resolvePool2dOptions({ poolSize: 3, stride: 2 }, "x");
  assert.throws(
    () => pool2dOutputShape([1, 2, 2, 9], attrs, "avgPool2d"),
    (e: Error) =>
      e instanceof TypeError && /Cannot apply avgPool2d/.test(e.message) && /\[1,2,2,9\]/.test(e.message) &&
      /window 3×3/.test(e.message),
  );
  assert.throws(
    () => pool2dOutputShape([2, 9, 9], attrs, "avgPool2d"),
    /\[batch, channels, height, width\].*\[2,9,9\]/,
  );
});
