import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import { simdKernelFunctions } from "./_simd_kernels.ts";
import { encodeModule } from "./_wasm_emitter.ts";

const LIMITS = { initial: 64, maximum: 1024 };
const SIZES = [0, 1, 3, 4, 5, 17, 1000];
/** Written around every array; a kernel that writes past its output changes it. */
const GUARD = 777.5;
const GUARD_FLOATS = 5;

// deno-lint-ignore no-explicit-any
type Kernel = (...args: any[]) => void;

/** The module instantiated on a fresh memory, with a bump allocator of deliberately misaligned arrays. */
function instantiate() {
  const bytes = encodeModule({ memory: { ...LIMITS, shared: false }, functions: simdKernelFunctions() });
  const memory = new WebAssembly.Memory(LIMITS);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  const f32 = new Float32Array(memory.buffer);
  let next = 0, placed = 0;
  const guards: number[] = [];
  /** n floats at a byte address that is 4, 8 or 12 past a multiple of 16, filled with `values` or NaN. */
  const alloc = (n: number, values?: ArrayLike<number>) => {
    next = Math.ceil(next / 4) * 4 + 1 + (placed++ % 3);
    const at = next;
    f32.fill(Number.NaN, at, at + n);
    if (values) f32.set(values, at);
    f32.fill(GUARD, at + n, at + n + GUARD_FLOATS);
    guards.push(at + n);
    next = at + n + GUARD_FLOATS;
    return at * 4;
  };
  /** The n floats at byte address `at`, copied. */
  const read = (at: number, n: number) => Array.from(f32.subarray(at / 4, at / 4 + n));
  const assertGuards = () => {
    for (const g of guards) assert.deepEqual(read(g * 4, GUARD_FLOATS), new Array(GUARD_FLOATS).fill(GUARD));
  };
  return { fn: (name: string) => exports[name] as Kernel, alloc, read, assertGuards };
}

/** n float32 values in [-1, 1); with `specials`, some are ±0, NaN and ±∞. */
function randoms(rng: Rng, n: number, specials = false): Float32Array {
  const a = Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
  if (specials) {
    const kinds = [0, -0, Number.NaN, Infinity, -Infinity];
    for (let i = 0; i < n; i += 3) a[i] = kinds[(i / 3) % kinds.length];
  }
  return a;
}

/** n values from a small set with ties and both zeros, to tell apart which of equal values a max picks. */
function tied(rng: Rng, n: number): Float32Array {
  const set = [-1, -0, 0, 0.5, 0.5, 1];
  return Float32Array.from({ length: n }, () => set[Math.floor(rng.next() * set.length)]);
}

const f = Math.fround;

Deno.test("simdKernelFunctions() exports each function once and validates with shared memory", () => {
  const functions = simdKernelFunctions();
  assert.deepEqual(functions.map((s) => s.export), [
    "relu",
    "reluGrad",
    "add",
    "sub",
    "mul",
    "axpby",
    "biasAdd",
    "maxPool",
    "maxPoolGrad2x2",
    "sumRows",
    "sumPlanes",
  ]);
  for (const shared of [false, true]) {
    const bytes = encodeModule({ memory: { ...LIMITS, shared }, functions });
    assert.ok(WebAssembly.validate(bytes as BufferSource), `shared: ${shared}`);
  }
});

Deno.test("relu() is Math.max(x, 0) (NaN stays, −0 gives +0); reluGrad() keeps dy where x > 0; in place too", () => {
  const rng = new Rng(1);
  for (const n of SIZES) {
    const k = instantiate();
    const x = randoms(rng, n, true), dy = randoms(rng, n);
    const want = Array.from(x, (v) => Math.max(v, 0));
    const xp = k.alloc(n, x), y = k.alloc(n);
    k.fn("relu")(xp, y, n);
    assert.deepEqual(k.read(y, n), want, `relu n=${n}`);
    const dyp = k.alloc(n, dy), dx = k.alloc(n);
    k.fn("reluGrad")(dyp, xp, dx, n);
    assert.deepEqual(k.read(dx, n), Array.from(x, (v, i) => v > 0 ? dy[i] : 0), `reluGrad n=${n}`);
    k.fn("relu")(xp, xp, n);
    assert.deepEqual(k.read(xp, n), want, `relu in place n=${n}`);
    k.assertGuards();
  }
});

Deno.test("add(), sub(), mul() and axpby() round each float32 operation like Math.fround", () => {
  const rng = new Rng(2);
  const [alpha, beta] = [f(0.7), f(-1.3)];
  const refs: Record<string, (a: number, b: number) => number> = {
    add: (a, b) => f(a + b),
    sub: (a, b) => f(a - b),
    mul: (a, b) => f(a * b),
  };
  for (const n of SIZES) {
    const k = instantiate();
    const a = randoms(rng, n), b = randoms(rng, n);
    const ap = k.alloc(n, a), bp = k.alloc(n, b);
    for (const [name, ref] of Object.entries(refs)) {
      const y = k.alloc(n);
      k.fn(name)(ap, bp, y, n);
      assert.deepEqual(k.read(y, n), Array.from(a, (v, i) => ref(v, b[i])), `${name} n=${n}`);
    }
    const out = k.alloc(n);
    k.fn("axpby")(ap, bp, out, n, alpha, beta);
    assert.deepEqual(
      k.read(out, n),
      Array.from(a, (v, i) => f(f(alpha * v) + f(beta * b[i]))),
      `axpby n=${n}`,
    );
    k.assertGuards();
  }
});

Deno.test("biasAdd() adds bias[c] to every value of channel c of every image", () => {
  const rng = new Rng(3);
  for (
    const [images, channels, plane] of [[0, 3, 5], [2, 0, 5], [2, 3, 0], [1, 1, 1], [2, 3, 7], [3, 5, 17], [
      2,
      4,
      16,
    ]]
  ) {
    const k = instantiate();
    const n = images * channels * plane;
    const x = randoms(rng, n), bias = randoms(rng, channels);
    const y = k.alloc(n);
    k.fn("biasAdd")(k.alloc(n, x), k.alloc(channels, bias), y, images, channels, plane);
    const want = Array.from(x, (v, i) => f(v + bias[Math.floor(i / plane) % channels]));
    assert.deepEqual(k.read(y, n), want, `biasAdd ${images}×${channels}×${plane}`);
    k.assertGuards();
  }
});

/** Pool geometry: planes, input h × w, output oh × ow, window kh × kw, strides sh, sw. */
type Pool = [
  planes: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
];

/** The reference max pool: the first maximum of each window, `m = v > m ? v : m`; and where it was. */
function maxPoolReference(x: Float32Array, [planes, h, w, oh, ow, kh, kw, sh, sw]: Pool) {
  const y: number[] = [], at: number[] = [];
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = p * h * w + oy * sh * w + ox * sw;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const k = p * h * w + (oy * sh + i) * w + ox * sw + j;
            if (x[k] > x[best]) best = k;
          }
        }
        y.push(x[best]);
        at.push(best);
      }
    }
  }
  return { y, at };
}

const POOLS: Pool[] = [
  [1, 7, 9, 3, 4, 2, 2, 2, 2],
  [3, 8, 8, 4, 4, 2, 2, 2, 2],
  [2, 5, 17, 2, 8, 2, 2, 2, 2],
  [2, 28, 28, 14, 14, 2, 2, 2, 2],
  [1, 9, 30, 4, 15, 2, 2, 2, 2],
  [2, 8, 8, 3, 2, 2, 2, 2, 2], // fewer windows than fit: the rest of dx is 0
  [2, 1, 1, 0, 0, 2, 2, 2, 2],
  [0, 4, 4, 2, 2, 2, 2, 2, 2],
  [2, 7, 9, 3, 4, 3, 3, 2, 2], // overlapping windows
  [2, 3, 5, 3, 5, 1, 1, 1, 1],
  [1, 4, 5, 3, 4, 2, 2, 1, 1],
  [2, 9, 11, 3, 3, 3, 2, 3, 4],
  [8, 55, 55, 27, 27, 3, 3, 2, 2], // AlexNet's pool1
  [3, 13, 13, 6, 6, 3, 3, 2, 2], // AlexNet's pool5
  ...[17, 23, 30].flatMap((w): Pool[] => [
    [2, 7, w, 3, Math.floor((w - 3) / 2) + 1, 3, 3, 2, 2],
    [2, 6, w, 3, Math.floor((w - 2) / 2) + 1, 2, 2, 2, 2],
  ]),
  [2, 7, 30, 3, 5, 3, 3, 2, 2], // fewer windows than fit
  [2, 7, 30, 3, 9, 2, 2, 2, 2],
  [2, 5, 12, 2, 4, 0, 3, 2, 2], // empty windows: their first value
];

/** Two 11 × w planes pooled with every window that fits, the column stride 2. */
function stride2Pool(kh: number, kw: number, sh: number, w: number): Pool {
  return [2, 11, w, Math.floor((11 - kh) / sh) + 1, Math.floor((w - kw) / 2) + 1, kh, kw, sh, 2];
}

/** kw ∈ {2, 3}, kh ∈ {1, 2, 3, 4}, sh ∈ {1, 2, 3}: 3 to 11 windows a row, every remainder mod 4. */
const STRIDE2_POOLS: Pool[] = [2, 3].flatMap((kw) =>
  [1, 2, 3, 4].flatMap((kh) =>
    [1, 2, 3].flatMap((sh) => [7, 8, 9, 11, 13, 23].map((w) => stride2Pool(kh, kw, sh, w)))
  )
);

/** n float32 values in [-1, 1) with ±0, NaN and ±∞ among them. */
function specials(rng: Rng, n: number): Float32Array {
  return randoms(rng, n, true);
}

Deno.test("maxPool() takes each window's first maximum (NaN, ±0 included), vector and scalar paths", () => {
  const rng = new Rng(4);
  for (const pool of [...POOLS, ...STRIDE2_POOLS]) {
    const k = instantiate();
    for (const values of [randoms, tied, specials]) {
      const [planes, h, w, oh, ow] = pool;
      const x = values(rng, planes * h * w);
      const y = k.alloc(planes * oh * ow);
      k.fn("maxPool")(k.alloc(x.length, x), y, ...pool);
      assert.deepEqual(k.read(y, planes * oh * ow), maxPoolReference(x, pool).y, `${values.name} ${pool}`);
      k.assertGuards();
    }
  }
});

Deno.test("maxPool() reads nothing outside the windows: a plane that ends with memory does not trap", () => {
  const rng = new Rng(7);
  const bytes = encodeModule({
    memory: { initial: 1, maximum: 1, shared: false },
    functions: simdKernelFunctions(),
  });
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  const f32 = new Float32Array(memory.buffer);
  // The last window of each ends at the plane's end, so the plane's end is the memory's.
  const pools: Pool[] = [
    [1, 13, 13, 6, 6, 3, 3, 2, 2],
    [1, 8, 8, 4, 4, 2, 2, 2, 2],
    [2, 9, 23, 4, 11, 3, 3, 2, 2],
    [1, 5, 8, 4, 4, 2, 2, 1, 2],
  ];
  for (const pool of pools) {
    const [planes, h, w, oh, ow] = pool;
    const x = tied(rng, planes * h * w);
    const xAt = f32.length - x.length, n = planes * oh * ow;
    f32.set(x, xAt);
    f32.fill(Number.NaN, 1, 1 + n);
    (exports.maxPool as Kernel)(xAt * 4, 4, ...pool);
    assert.deepEqual(Array.from(f32.subarray(1, 1 + n)), maxPoolReference(x, pool).y, `${pool}`);
  }
});

Deno.test("maxPoolGrad2x2() sends dy to where maxPool took the maximum and writes 0 elsewhere", () => {
  const rng = new Rng(5);
  for (const pool of POOLS.filter((p) => p.slice(5).every((v) => v === 2))) {
    for (const values of [randoms, tied]) {
      const [planes, h, w, oh, ow] = pool;
      const k = instantiate();
      const x = values(rng, planes * h * w), dy = randoms(rng, planes * oh * ow);
      const want = new Array(x.length).fill(0);
      maxPoolReference(x, pool).at.forEach((at, i) => want[at] = dy[i]);
      const dx = k.alloc(x.length); // NaN: every value must be written
      k.fn("maxPoolGrad2x2")(k.alloc(x.length, x), k.alloc(dy.length, dy), dx, planes, h, w, oh, ow);
      assert.deepEqual(k.read(dx, x.length), want, `${values.name} ${pool}`);
      k.assertGuards();
    }
  }
});

Deno.test("sumRows() and sumPlanes() match float64 sums within 1e-5 of Σ|x|", () => {
  const rng = new Rng(6);
  /** |got − want| ≤ 1e-5 · Σ|terms| (exact for empty sums). */
  const assertSums = (got: number[], want: number[], scale: number[], label: string) => {
    assert.equal(got.length, want.length);
    got.forEach((g, i) =>
      assert.ok(Math.abs(g - want[i]) <= 1e-5 * scale[i], `${label}[${i}]: ${g} vs ${want[i]}`)
    );
  };
  for (const [rows, cols] of [[0, 5], [3, 0], [1, 1], [7, 3], [5, 17], [64, 1000], [1000, 5]]) {
    const k = instantiate();
    const x = randoms(rng, rows * cols);
    const y = k.alloc(cols);
    k.fn("sumRows")(k.alloc(x.length, x), y, rows, cols);
    const want = new Array(cols).fill(0), scale = new Array(cols).fill(0);
    x.forEach((v, i) => {
      want[i % cols] += v;
      scale[i % cols] += Math.abs(v);
    });
    assertSums(k.read(y, cols), want, scale, `sumRows ${rows}×${cols}`);
    k.assertGuards();
  }
  for (
    const [images, channels, plane] of [[0, 3, 4], [2, 3, 0], [1, 1, 1], [2, 3, 5], [4, 6, 17], [3, 2, 1000]]
  ) {
    const k = instantiate();
    const x = randoms(rng, images * channels * plane);
    const y = k.alloc(channels);
    k.fn("sumPlanes")(k.alloc(x.length, x), y, images, channels, plane);
    const want = new Array(channels).fill(0), scale = new Array(channels).fill(0);
    x.forEach((v, i) => {
      const c = Math.floor(i / plane) % channels;
      want[c] += v;
      scale[c] += Math.abs(v);
    });
    assertSums(k.read(y, channels), want, scale, `sumPlanes ${images}×${channels}×${plane}`);
    k.assertGuards();
  }
});
