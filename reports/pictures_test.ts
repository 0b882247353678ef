import { picture } from "./pictures.ts";
import assert from "node:assert/strict";

const bytes = (b64: string) => [...atob(b64)].map((c) => c.charCodeAt(0));

Deno.test("picture scales min…max to 0…255 and maps NaN to 0", () => {
  const p = picture([2, 4, NaN, 6], [2, 2]);
  assert.deepEqual(bytes(p.pixels), [0, 128, 0, 255]);
  assert.deepEqual([p.width, p.height, p.colormap], [2, 2, "gray"]);
});

Deno.test("picture with the signed colormap keeps zero at 128", () => {
  assert.deepEqual(bytes(picture([-1, 0, 0.5], [1, 3], { colormap: "signed" }).pixels), [0, 128, 191]);
});

Deno.test("picture clamps to a given range, and a constant picture is all zeros", () => {
  assert.deepEqual(bytes(picture([-5, 0.25, 9], [1, 3], { range: [0, 1] }).pixels), [0, 64, 255]);
  assert.deepEqual(bytes(picture([3, 3], [1, 2]).pixels), [0, 0]);
});

Deno.test("picture rejects too few values", () => {
  assert.throws(() => picture([1, 2, 3], [2, 2]), /Cannot make a 2×2 picture: only 3 values given/);
});
