import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import { transformName, WINOGRAD_SHAPES, winogradKernelFunctions } from "./_winograd_kernel.ts";
import { toomCook } from "./_toom_cook.ts";
import { encodeModule } from "./_wasm_emitter.ts";

type Transform = (src: number, dst: number, vectors: number, ldSrc: number, ldDst: number) => void;

const LIMITS = { initial: 16, maximum: 16 };
const GUARD = 777.5;

function instantiate(): { memory: WebAssembly.Memory; fn: (name: string) => Transform } {
  const bytes = encodeModule({ memory: { ...LIMITS, shared: false }, functions: winogradKernelFunctions() });
  const memory = new WebAssembly.Memory(LIMITS);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  return { memory, fn: (name) => exports[name] as Transform };
}

/** `L·d·Lᵀ` of each column's patch, in float64, from the definition. */
function reference(l: number[][], src: Float32Array, cols: number, ldSrc: number): number[][] {
  const p = l.length, q = l[0].length;
  const out = Array.from({ length: p * p }, () => new Array<number>(cols).fill(0));
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < p; i++) {
      for (let k = 0; k < p; k++) {
        let s = 0;
        for (let a = 0; a < q; a++) {
          for (let b = 0; b < q; b++) s += l[i][a] * l[k][b] * src[(a * q + b) * ldSrc + j];
        }
        out[i * p + k][j] = s;
      }
    }
  }
  return out;
}

Deno.test("winogradIn and winogradOut apply Bᵀ·d·B and Aᵀ·m·A to every column, writing nothing else", () => {
  const rng = new Rng(21);
  const { memory, fn } = instantiate();
  const f32 = new Float32Array(memory.buffer);
  for (const [m, r] of WINOGRAD_SHAPES) {
    const { at, bt } = toomCook(m, r);
    for (const [name, l] of [[transformName("In", m, r), bt], [transformName("Out", m, r), at]] as const) {
      for (const vectors of [0, 1, 7]) {
        const cols = 4 * vectors, ldSrc = cols + 5, ldDst = cols + 3;
        const q = l[0].length, p = l.length;
        // src at float 4 (not 16-byte aligned rows: ld is odd), dst after it.
        const srcAt = 4, dstAt = srcAt + q * q * ldSrc + 8;
        f32.fill(GUARD);
        for (let i = 0; i < q * q * ldSrc; i++) f32[srcAt + i] = 2 * rng.next() - 1;
        const src = f32.slice(srcAt, srcAt + q * q * ldSrc);
        fn(name)(srcAt * 4, dstAt * 4, vectors, ldSrc * 4, ldDst * 4);
        const want = reference(l as number[][], src, cols, ldSrc);
        for (let row = 0; row < p * p; row++) {
          for (let j = 0; j < ldDst; j++) {
            const got = f32[dstAt + row * ldDst + j];
            if (j >= cols) {
              assert.equal(got, GUARD, `${name}: wrote row ${row} column ${j} past ${cols} columns`);
            } else {
              assert.ok(
                Math.abs(got - want[row][j]) <= 1e-5 * (1 + Math.abs(want[row][j])),
                `${name} (${row}, ${j})`,
              );
            }
          }
        }
        assert.equal(f32[dstAt + p * p * ldDst], GUARD, `${name}: wrote past the last row`);
        assert.deepEqual(f32.slice(srcAt, srcAt + q * q * ldSrc), src, `${name}: changed src`);
      }
    }
  }
});
