import { type Shape, sizeOf, stridesOf } from "../shape.ts";

/** For each output position, the offset into an input broadcast to `outShape` (reference-speed). */
export function broadcastIndex(inShape: Shape, outShape: Shape): Int32Array {
  const n = sizeOf(outShape);
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  const offsets = new Int32Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < rank; d++) {
      const id = d - (rank - inShape.length);
      if (id >= 0 && inShape[id] !== 1) off += idx[d] * inStrides[id];
    }
    offsets[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return offsets;
}
