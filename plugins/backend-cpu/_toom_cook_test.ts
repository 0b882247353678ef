import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import { toomCook } from "./_toom_cook.ts";

/** `y = Aᵀ·[(G·g) ⊙ (Bᵀ·d)]`. */
function winograd1d(m: number, r: number, d: number[], w: number[]): number[] {
  const { at, g, bt } = toomCook(m, r);
  const u = g.map((row) => row.reduce((s, v, k) => s + v * w[k], 0));
  const v = bt.map((row) => row.reduce((s, x, l) => s + x * d[l], 0));
  return at.map((row) => row.reduce((s, a, j) => s + a * u[j] * v[j], 0));
}

Deno.test("toomCook() computes correlation for every tile size up to 8 and taps up to 7", () => {
  const rng = new Rng(11);
  for (let r = 1; r <= 7; r++) {
    for (let m = 1; m + r <= 10; m++) {
      const d = Array.from({ length: m + r - 1 }, () => rng.next() - 0.5);
      const w = Array.from({ length: r }, () => rng.next() - 0.5);
      const want = Array.from({ length: m }, (_, i) => w.reduce((s, v, k) => s + v * d[i + k], 0));
      const got = winograd1d(m, r, d, w);
      got.forEach((y, i) =>
        assert.ok(Math.abs(y - want[i]) < 1e-9, `F(${m}, ${r}) output ${i}: ${y} vs ${want[i]}`)
      );
    }
  }
});

Deno.test("toomCook() gives Lavin and Gray's F(4, 3) matrices", () => {
  const { at, g, bt } = toomCook(4, 3);
  assert.deepEqual(at, [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]);
  const g24 = g.map((row) => row.map((v) => Math.round(v * 24)));
  assert.deepEqual(g24, [[6, 0, 0], [-4, -4, -4], [-4, 4, -4], [1, 2, 4], [1, -2, 4], [0, 0, 24]]);
  assert.deepEqual(bt, [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ]);
});

Deno.test("toomCook() rejects sizes it has no points for", () => {
  assert.throws(() => toomCook(0, 3), /Cannot build Winograd F\(0, 3\)/);
  assert.throws(() => toomCook(12, 3), /m \+ r ≤ 13/);
});
