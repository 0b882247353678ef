// Shared setup of this package's tests (not exported from mod.ts).
import { Registry, type Rng } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";

export const device = await new Registry().use(cpu).device("cpu");

/** Embeddings of n points in `classes` clusters of `dim` dims, labels 0..classes−1 in turn. */
export function clustered(rng: Rng, n: number, dim: number, classes: number, spread = 0.6) {
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal()));
  const labels = Float32Array.from({ length: n }, (_, i) => i % classes);
  const values = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) values[i * dim + j] = centres[labels[i]][j] + spread * rng.normal();
  }
  return { values, labels };
}

/** Euclidean distance of rows i and j of a row-major [n, dim] array. */
export function dist(v: Float32Array, dim: number, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += (v[i * dim + k] - v[j * dim + k]) ** 2;
  return Math.sqrt(s);
}
