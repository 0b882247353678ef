import assert from "node:assert/strict";
import { supportsKernel } from "./_gemm_kernel.ts";
import {
  allocateWasm,
  gemmPackedWasm,
  gemmWasm,
  KC_MAX,
  maxPoolWasm,
  packAWasm,
  packedABytes,
  releaseWasm,
  setCallerRunsTasks,
  setPackSlots,
  setWorkerSpin,
  stopWorkers,
  threadStats,
  type WasmGemmSettings,
  workersStarted,
} from "./_gemm_wasm.ts";
import { workerThreads, workerThreadsAtMost, workerThreadsKnown } from "../../tests/threads.ts";

/** C = op(A)·op(B) (+ C) in float64, from the definition. */
function naive(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  s: WasmGemmSettings,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = s.accumulate ? c[s.offsetC + i * n + j] : 0;
      for (let p = 0; p < k; p++) {
        const x = s.transposeA ? a[s.offsetA + p * m + i] : a[s.offsetA + i * k + p];
        const y = s.transposeB ? b[s.offsetB + j * k + p] : b[s.offsetB + p * n + j];
        sum += x * y;
      }
      out[i * n + j] = sum;
    }
  }
  return out;
}

let seed = 1;
const random = (n: number) =>
  Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  });

/** Runs gemmWasm on random operands with guard values around C, and compares with `naive`. */
function check(m: number, n: number, k: number, s: WasmGemmSettings): void {
  const a = random(s.offsetA + m * k + 3),
    b = random(s.offsetB + k * n + 2),
    c = random(s.offsetC + m * n + 5);
  const before = c.slice();
  const want = naive(m, n, k, a, b, c, s);
  assert.ok(gemmWasm(m, n, k, a, b, c, s));
  const label = `${m}×${n}×${k} ${JSON.stringify(s)}`;
  for (let i = 0; i < m * n; i++) {
    const got = c[s.offsetC + i];
    assert.ok(Math.abs(got - want[i]) <= 1e-5 * (k + 1), `${label}: C[${i}] = ${got}, want ${want[i]}`);
  }
  for (let i = 0; i < s.offsetC; i++) assert.equal(c[i], before[i], `${label}: wrote before C`);
  for (let i = s.offsetC + m * n; i < c.length; i++) assert.equal(c[i], before[i], `${label}: wrote after C`);
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 1, 9],
  [1, 17, 3],
  [13, 1, 5],
  [6, 8, 8],
  [7, 9, 13],
  [5, 25, 100],
  [33, 17, 65],
  [24, 40, KC_MAX + 44], // more than one depth block (A·Bᵀ runs dot products at this depth)
  [70, 600, 20], // several tasks along both dimensions
  [6, 25, 5000], // A·Bᵀ by dot products: several depth chunks
  [3, 37, 257], // at most 4 rows of A times B by streaming B's rows: several depth chunks
  [4, 5, 1],
  [2, 130, 700],
];

const flavours = [false, true].filter((relaxed) => supportsKernel(relaxed));

function settings(relaxed: boolean, threads: number, flags: number, offsets: boolean): WasmGemmSettings {
  return {
    relaxed,
    threads,
    transposeA: (flags & 1) !== 0,
    transposeB: (flags & 2) !== 0,
    accumulate: (flags & 4) !== 0,
    offsetA: offsets ? 3 : 0,
    offsetB: offsets ? 5 : 0,
    offsetC: offsets ? 7 : 0,
    batch: 1,
    strideA: 0,
    strideB: 0,
    strideC: 0,
  };
}

Deno.test("gemmWasm() matches a triple loop for every transpose, accumulate and offset on one thread", () => {
  for (const relaxed of flavours) {
    for (const [m, n, k] of SHAPES) {
      for (let flags = 0; flags < 8; flags++) {
        for (const offsets of [false, true]) check(m, n, k, settings(relaxed, 1, flags, offsets));
      }
    }
  }
});

Deno.test("gemmWasm() packs a transposed B in several depth blocks, on one thread and on two", async () => {
  // k < 2·(m + n): packed panels, not dot products.
  const [m, n, k] = [300, 260, KC_MAX + 76];
  for (const flags of [2, 3, 6]) {
    check(m, n, k, settings(flavours[flavours.length - 1], 1, flags, flags === 6));
  }
  await workerReady(true);
  check(m, n, k, settings(true, 2, 6, true));
});

Deno.test("gemmWasm() reuses its memory: a small call after a large one", () => {
  check(300, 200, 100, settings(true, 1, 0, false));
  check(3, 2, 1, settings(true, 1, 5, true));
});

async function workerReady(relaxed: boolean): Promise<void> {
  // The first threaded call starts the worker; calls never wait for it, so poll until it serves.
  check(40, 80, 30, settings(relaxed, 2, 0, false));
  for (let i = 0; i < 500 && threadStats(relaxed).ready < 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(threadStats(relaxed).ready, 1, "the worker did not start within 5 s");
}

Deno.test("gemmWasm() on a worker alone matches a triple loop", async () => {
  for (const relaxed of flavours) {
    await workerReady(relaxed);
    const before = setCallerRunsTasks(false);
    try {
      const [caller, worker] = threadStats(relaxed).done;
      for (const [m, n, k] of SHAPES) {
        for (let flags = 0; flags < 8; flags++) check(m, n, k, settings(relaxed, 2, flags, flags === 5));
      }
      const after = threadStats(relaxed).done;
      assert.equal(after[0], caller, "the caller ran tasks");
      assert.ok(after[1] >= worker + SHAPES.length * 8, "the worker ran fewer tasks than calls");
    } finally {
      setCallerRunsTasks(before);
    }
  }
});

/**
 * Runs a batch of random products `stride` apart (with gaps, offsets as in `s`) and compares each
 * product with `naive`, and the gaps with their old values: through `gemmWasm`, or with `packed`,
 * through `packAWasm` into a block of the memory and `gemmPackedWasm` (A overwritten with NaN
 * after packing, so that reading it instead of its packing fails).
 */
function checkBatch(m: number, n: number, k: number, s: WasmGemmSettings, packed = false): void {
  const a = random(s.offsetA + (s.batch - 1) * s.strideA + m * k + 3),
    b = random(s.offsetB + (s.batch - 1) * s.strideB + k * n + 2),
    c = random(s.offsetC + (s.batch - 1) * s.strideC + m * n + 5);
  const want = c.slice();
  for (let i = 0; i < s.batch; i++) {
    const single = { ...s, offsetA: s.offsetA + i * s.strideA, offsetB: s.offsetB + i * s.strideB };
    want.set(
      naive(m, n, k, a, b, c, { ...single, offsetC: s.offsetC + i * s.strideC }),
      s.offsetC + i * s.strideC,
    );
  }
  if (packed) {
    const block = allocateWasm(s.relaxed, s.batch * packedABytes(s.relaxed, m, k) / 4);
    assert.ok(block);
    try {
      assert.ok(packAWasm(m, k, a, block, s));
      a.fill(NaN);
      assert.ok(gemmPackedWasm(m, n, k, block, b, c, s));
    } finally {
      releaseWasm(block);
    }
  } else assert.ok(gemmWasm(m, n, k, a, b, c, s));
  const label = `${packed ? "packed " : ""}${m}×${n}×${k} ${JSON.stringify(s)}`;
  for (let i = 0; i < c.length; i++) {
    assert.ok(Math.abs(c[i] - want[i]) <= 1e-5 * (k + 1), `${label}: C[${i}] = ${c[i]}, want ${want[i]}`);
  }
}

function batchSettings(m: number, n: number, k: number, flags: number, batch: number): WasmGemmSettings {
  return {
    ...settings(true, 2, flags, true),
    batch,
    strideA: m * k + 1,
    strideB: flags & 1 ? 0 : k * n,
    strideC: m * n + 3,
  };
}

// The default packing slots, and 2 and 3: products then share slots, a pack task waiting for the
// slot's previous product to be computed.
for (const slots of [undefined, 2, 3]) {
  Deno.test(`gemmWasm() runs a batch as one job, every product's tasks on a worker alone (slots: ${slots})`, async () => {
    await workerReady(true);
    const before = setCallerRunsTasks(false), beforeSlots = setPackSlots(slots);
    try {
      for (const [m, n, k] of [[7, 13, 49], [3, 37, 257], [6, 25, KC_MAX + 76], [40, 33, 70]]) {
        for (let flags = 0; flags < 8; flags++) {
          const [caller, worker] = threadStats(true).done;
          checkBatch(m, n, k, batchSettings(m, n, k, flags, 5));
          const after = threadStats(true).done;
          assert.equal(after[0], caller, "the caller ran tasks");
          // A pack task and a compute task per product at least.
          assert.ok(after[1] >= worker + 10, "the worker ran fewer tasks than the batch has");
        }
      }
    } finally {
      setCallerRunsTasks(before);
      setPackSlots(beforeSlots);
    }
  });

  Deno.test(`gemmWasm() runs a batch on one thread, and on the caller and a worker (slots: ${slots})`, async () => {
    const beforeSlots = setPackSlots(slots);
    try {
      for (let flags = 0; flags < 8; flags++) {
        checkBatch(13, 17, 29, { ...batchSettings(13, 17, 29, flags, 4), threads: 1 });
        checkBatch(5, 17, 29, { ...batchSettings(5, 17, 29, flags, 7), threads: 1 });
      }
      await workerReady(true);
      for (let flags = 0; flags < 8; flags++) checkBatch(70, 49, 96, batchSettings(70, 49, 96, flags, 16));
    } finally {
      setPackSlots(beforeSlots);
    }
  });
}

for (const slots of [undefined, 2]) {
  Deno.test(`gemmPackedWasm() runs every product's tasks on a worker alone, A packed once (slots: ${slots})`, async () => {
    await workerReady(true);
    const before = setCallerRunsTasks(false), beforeSlots = setPackSlots(slots);
    try {
      // B read in place (few A panels) and packed (more than 8 A panels and depth over 64), in one
      // depth block and in two.
      for (const [m, n, k] of [[7, 13, 49], [3, 37, 257], [61, 20, 80], [61, 20, KC_MAX + 1]]) {
        for (let flags = 0; flags < 8; flags++) {
          const [caller, worker] = threadStats(true).done;
          checkBatch(m, n, k, batchSettings(m, n, k, flags, 5), true);
          const after = threadStats(true).done;
          assert.equal(after[0], caller, "the caller ran tasks");
          assert.ok(after[1] >= worker + 5, "the worker ran fewer tasks than the batch has");
        }
      }
    } finally {
      setCallerRunsTasks(before);
      setPackSlots(beforeSlots);
    }
  });
}

Deno.test("gemmPackedWasm() refuses a block outside the flavour's memory or one too short", () => {
  const s = { ...settings(flavours[0], 1, 0, false), batch: 2, strideA: 12, strideB: 12, strideC: 16 };
  const other = new Float32Array(1000);
  assert.equal(packAWasm(4, 3, other, other, s), false);
  assert.equal(gemmPackedWasm(4, 4, 3, other, other, other, s), false);
  const short = allocateWasm(s.relaxed, packedABytes(s.relaxed, 4, 3) / 4);
  assert.ok(short);
  assert.equal(packAWasm(4, 3, other, short, s), false);
  assert.equal(gemmPackedWasm(4, 4, 3, short, other, other, s), false);
  releaseWasm(short);
});

Deno.test("gemmWasm() with the caller and a worker sharing tasks matches a triple loop", async () => {
  await workerReady(true);
  for (let flags = 0; flags < 8; flags++) check(130, 250, 70, settings(true, 2, flags, true));
  check(1, 3000, 10, settings(true, 2, 0, false));
});

Deno.test("gemmWasm() workers do not keep a finished process alive", async () => {
  const script = `
    import { gemmWasm, threadStats } from ${JSON.stringify(new URL("./_gemm_wasm.ts", import.meta.url).href)};
    const s = { relaxed: false, threads: 2, transposeA: false, transposeB: false, accumulate: false,
      offsetA: 0, offsetB: 0, offsetC: 0, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
    const x = new Float32Array(256 * 256).fill(1), y = new Float32Array(256 * 256);
    gemmWasm(256, 256, 256, x, x, y, s);
    while (threadStats(false).ready < 1) await new Promise((r) => setTimeout(r, 5));
    gemmWasm(256, 256, 256, x, x, y, s);
    console.log(y[0], threadStats(false).ready);
  `;
  const started = performance.now();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(new TextDecoder().decode(stdout).trim(), "256 1");
  assert.ok(seconds < 20, `the process took ${seconds} s to exit`);
});

Deno.test({
  name: "stopWorkers() ends the worker threads, and a later threaded call starts new ones",
  ignore: !workerThreadsKnown,
  fn: async () => {
    for (const relaxed of flavours) await workerReady(relaxed);
    const started = workersStarted(), before = workerThreads();
    assert.ok(started >= 1 && before >= started, `${started} workers started, ${before} worker threads`);
    assert.equal(stopWorkers(), 0, "a worker did not leave its loop");
    assert.equal(
      await workerThreadsAtMost(before - started),
      before - started,
      "a stopped worker's thread is still there after 2 s",
    );
    assert.equal(workersStarted(), 0);
    for (const relaxed of flavours) await workerReady(relaxed);
  },
});

Deno.test("maxPoolWasm() matches a loop on one thread and on a worker alone, chunks of planes", async () => {
  // 203 planes of 17 × 19, 3 × 3 windows at stride 2: 131,544 window elements, threaded.
  const g = { planes: 203, h: 17, w: 19, oh: 8, ow: 9, kh: 3, kw: 3, sh: 2, sw: 2 };
  for (const relaxed of flavours) {
    await workerReady(relaxed);
    const x = allocateWasm(relaxed, g.planes * g.h * g.w)!,
      y = allocateWasm(relaxed, g.planes * g.oh * g.ow)!;
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 43758.5453 % 1;
    const want = new Float32Array(y.length);
    for (let p = 0, o = 0; p < g.planes; p++) {
      for (let i = 0; i < g.oh; i++) {
        for (let j = 0; j < g.ow; j++, o++) {
          let best = -Infinity;
          for (let r = 0; r < g.kh; r++) {
            for (let c = 0; c < g.kw; c++) {
              best = Math.max(best, x[(p * g.h + i * g.sh + r) * g.w + j * g.sw + c]);
            }
          }
          want[o] = best;
        }
      }
    }
    for (const [threads, workerAlone] of [[1, false], [2, false], [2, true]] as const) {
      y.fill(Number.NaN);
      const before = setCallerRunsTasks(!workerAlone), [caller] = threadStats(relaxed).done;
      try {
        assert.ok(maxPoolWasm(threads, x, y, g));
      } finally {
        setCallerRunsTasks(before);
      }
      assert.deepEqual(
        [...y],
        [...want],
        `relaxed ${relaxed}, ${threads} threads, worker alone ${workerAlone}`,
      );
      if (workerAlone) assert.equal(threadStats(relaxed).done[0], caller, "the caller ran pooling tasks");
    }
    releaseWasm(x);
    releaseWasm(y);
  }
});

Deno.test("workers serve jobs whether they spin before sleeping or sleep at once", async () => {
  for (const relaxed of flavours) {
    await workerReady(relaxed);
    for (const reads of [0, 1 << 20]) {
      const before = setWorkerSpin(reads), callerRuns = setCallerRunsTasks(false);
      try {
        const [, worker] = threadStats(relaxed).done;
        // Pauses between calls: with reads 0 the worker is asleep at each post.
        for (let i = 0; i < 3; i++) {
          check(40, 80, 30, settings(relaxed, 2, i, false));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        assert.ok(
          threadStats(relaxed).done[1] >= worker + 3,
          `spin reads ${reads}: the worker ran fewer tasks than calls`,
        );
      } finally {
        setWorkerSpin(before);
        setCallerRunsTasks(callerRuns);
      }
    }
  }
});
