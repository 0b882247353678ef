import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { encodeIdx, parseIdx, readIdxDirectory, readIdxFile } from "./idx.ts";

const TRAIN_IMAGES = "train-images-idx3-ubyte";
const TRAIN_LABELS = "train-labels-idx1-ubyte";

/** `count` images of `rows × cols` with distinct-ish bytes, and labels cycling through 0..9. */
function fixture(count: number, rows = 28, cols = 28): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 37 + 11) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10);
  return { pixels, labels };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cnnlab_mnist_idx_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes a valid split; `gz` chooses gzipped files. Returns the fixture. */
async function writeSplit(
  dir: string,
  options: { prefix?: string; count?: number; rows?: number; cols?: number; gz?: boolean } = {},
) {
  const { prefix = "train", count = 5, rows = 28, cols = 28, gz = false } = options;
  const f = fixture(count, rows, cols);
  const ext = gz ? ".gz" : "";
  const pack = (b: Uint8Array) => (gz ? gzipSync(b) : b);
  await Deno.writeFile(
    `${dir}/${prefix}-images-idx3-ubyte${ext}`,
    pack(encodeIdx([count, rows, cols], f.pixels)),
  );
  await Deno.writeFile(`${dir}/${prefix}-labels-idx1-ubyte${ext}`, pack(encodeIdx([count], f.labels)));
  return f;
}

async function rejectsMentioning(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    for (const part of parts) assert.ok(e.message.includes(part), `"${part}" not in: ${e.message}`);
    assert.match(e.message, /^Cannot /);
    return true;
  });
}

Deno.test("encodeIdx() then parseIdx() round-trips dims and data", () => {
  const f = fixture(3, 4, 5);
  const parsed = parseIdx(encodeIdx([3, 4, 5], f.pixels), { kind: "images" });
  assert.deepEqual(parsed.dims, [3, 4, 5]);
  assert.deepEqual(parsed.data, f.pixels);
});

Deno.test("encodeIdx() rejects a data length that differs from the dims", () => {
  assert.throws(() => encodeIdx([2, 2], [1, 2, 3]), RangeError);
  assert.throws(() => encodeIdx([2], [1, 256]), RangeError);
});

Deno.test("parseIdx() reports the header's sizes when truncated", () => {
  const file = encodeIdx([2, 28, 28], new Uint8Array(2 * 784));
  assert.throws(
    () => parseIdx(file.subarray(0, 1000), { kind: "images", path: "/x/train-images-idx3-ubyte.gz" }),
    {
      message:
        "Cannot read /x/train-images-idx3-ubyte.gz: truncated, header declares 2 images of 28×28 (1584 bytes) but the file has 1000 bytes; re-download the dataset",
    },
  );
});

Deno.test("parseIdx() rejects a file shorter than its header", () => {
  const file = encodeIdx([1], [0]);
  assert.throws(
    () => parseIdx(file.subarray(0, 6), { kind: "labels", path: "l" }),
    /l: truncated.*8-byte IDX header/,
  );
  assert.throws(() => parseIdx(file.subarray(0, 2), { kind: "labels", path: "l" }), /l: truncated/);
});

Deno.test("readIdxDirectory() reads raw files exactly", async () => {
  await withDir(async (dir) => {
    const f = await writeSplit(dir);
    const split = await readIdxDirectory(dir, "train");
    assert.equal(split.size, 5);
    assert.deepEqual([split.rows, split.cols, split.numClasses], [28, 28, 10]);
    assert.deepEqual(split.images, Float32Array.from(f.pixels, (v) => v / 255));
    assert.deepEqual(split.labels, Int32Array.from(f.labels));
    assert.equal(split.imagesPath, `${dir}/${TRAIN_IMAGES}`);
    assert.equal(split.labelsPath, `${dir}/${TRAIN_LABELS}`);
    assert.ok(split.images.every((v) => v >= 0 && v <= 1));
  });
});

Deno.test("readIdxDirectory() reads gzipped t10k files exactly", async () => {
  await withDir(async (dir) => {
    const f = await writeSplit(dir, { prefix: "t10k", count: 7, gz: true });
    const split = await readIdxDirectory(dir, "test");
    assert.equal(split.size, 7);
    assert.deepEqual(split.images, Float32Array.from(f.pixels, (v) => v / 255));
    assert.deepEqual(split.labels, Int32Array.from(f.labels));
    assert.equal(split.imagesPath, `${dir}/t10k-images-idx3-ubyte.gz`);
  });
});

Deno.test("readIdxDirectory() reads whatever image size the header declares", async () => {
  await withDir(async (dir) => {
    const f = await writeSplit(dir, { count: 2, rows: 3, cols: 5 });
    const split = await readIdxDirectory(dir, "train");
    assert.deepEqual([split.rows, split.cols], [3, 5]);
    assert.equal(split.images.length, 2 * 3 * 5);
    assert.deepEqual(split.images, Float32Array.from(f.pixels, (v) => v / 255));
  });
});

Deno.test("readIdxDirectory() with limit keeps the first examples", async () => {
  await withDir(async (dir) => {
    const f = await writeSplit(dir, { count: 6 });
    const split = await readIdxDirectory(dir, "train", { limit: 2 });
    assert.equal(split.size, 2);
    assert.deepEqual(split.images, Float32Array.from(f.pixels.subarray(0, 2 * 784), (v) => v / 255));
    assert.deepEqual(split.labels, Int32Array.from(f.labels.subarray(0, 2)));
    assert.equal((await readIdxDirectory(dir, "train", { limit: 100 })).size, 6);
  });
});

Deno.test("readIdxDirectory() prefers the uncompressed file when both exist", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir, { count: 3, gz: true });
    await writeSplit(dir, { count: 4 });
    assert.equal((await readIdxDirectory(dir, "train")).size, 4);
  });
});

Deno.test("readIdxFile() detects gzip from the bytes, not the name", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/labels`, gzipSync(encodeIdx([2], [1, 2])));
    assert.deepEqual([...(await readIdxFile(`${dir}/labels`, "labels")).data], [1, 2]);
  });
});

Deno.test("readIdxDirectory() rejects a corrupt magic number, naming the file", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir);
    const bytes = await Deno.readFile(`${dir}/${TRAIN_IMAGES}`);
    bytes[3] = 0x04;
    await Deno.writeFile(`${dir}/${TRAIN_IMAGES}`, bytes);
    await rejectsMentioning(
      readIdxDirectory(dir, "train"),
      `${dir}/${TRAIN_IMAGES}`,
      "magic number 0x00000804",
    );
  });
});

Deno.test("readIdxDirectory() rejects labels where images belong", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir);
    await Deno.copyFile(`${dir}/${TRAIN_LABELS}`, `${dir}/${TRAIN_IMAGES}`);
    await rejectsMentioning(readIdxDirectory(dir, "train"), TRAIN_IMAGES, "0x00000801", "0x00000803");
  });
});

Deno.test("readIdxDirectory() rejects a truncated gzipped images file, naming it", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir, { count: 3 });
    const full = encodeIdx([3, 28, 28], fixture(3).pixels);
    await Deno.remove(`${dir}/${TRAIN_IMAGES}`);
    await Deno.writeFile(`${dir}/${TRAIN_IMAGES}.gz`, gzipSync(full.subarray(0, 1000)));
    await rejectsMentioning(
      readIdxDirectory(dir, "train"),
      `${dir}/${TRAIN_IMAGES}.gz: truncated`,
      "3 images of 28×28 (2368 bytes)",
      "1000 bytes",
      "re-download",
    );
  });
});

Deno.test("readIdxDirectory() rejects a cut-off gzip stream, naming the file", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir, { gz: true });
    const gz = await Deno.readFile(`${dir}/${TRAIN_IMAGES}.gz`);
    await Deno.writeFile(`${dir}/${TRAIN_IMAGES}.gz`, gz.subarray(0, gz.length / 2));
    await rejectsMentioning(readIdxDirectory(dir, "train"), `${TRAIN_IMAGES}.gz`);
  });
});

Deno.test("readIdxDirectory() rejects an overlong file, naming it", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir);
    const labels = await Deno.readFile(`${dir}/${TRAIN_LABELS}`);
    await Deno.writeFile(`${dir}/${TRAIN_LABELS}`, Uint8Array.from([...labels, 0, 0, 0]));
    await rejectsMentioning(readIdxDirectory(dir, "train"), `${dir}/${TRAIN_LABELS}: overlong`, "3 extra");
  });
});

Deno.test("readIdxDirectory() rejects image and label counts that differ, naming both files", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir, { count: 4 });
    await Deno.writeFile(`${dir}/${TRAIN_LABELS}`, encodeIdx([3], [0, 1, 2]));
    await rejectsMentioning(
      readIdxDirectory(dir, "train"),
      `${dir}/${TRAIN_IMAGES} holds 4 images`,
      `${dir}/${TRAIN_LABELS} holds 3 labels`,
    );
  });
});

Deno.test("readIdxDirectory() rejects a label out of range, naming the file", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir, { count: 3 });
    await Deno.writeFile(`${dir}/${TRAIN_LABELS}`, encodeIdx([3], [0, 10, 2]));
    await rejectsMentioning(
      readIdxDirectory(dir, "train"),
      `${dir}/${TRAIN_LABELS}`,
      "label 10 at index 1",
      "0..9",
    );
    assert.equal((await readIdxDirectory(dir, "train", { numClasses: 11 })).numClasses, 11);
  });
});

Deno.test("readIdxDirectory() rejects a missing file, naming it", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir);
    await Deno.remove(`${dir}/${TRAIN_LABELS}`);
    await rejectsMentioning(readIdxDirectory(dir, "train"), `${dir}/${TRAIN_LABELS}[.gz] does not exist`);
    await rejectsMentioning(
      readIdxDirectory(dir, "test"),
      `${dir}/t10k-images-idx3-ubyte[.gz] and ${dir}/t10k-labels-idx1-ubyte[.gz] do not exist`,
    );
  });
});

Deno.test("readIdxDirectory() rejects a missing directory or a file in its place", async () => {
  await withDir(async (dir) => {
    await rejectsMentioning(readIdxDirectory(`${dir}/nope`, "train"), `directory ${dir}/nope does not exist`);
    await Deno.writeTextFile(`${dir}/file`, "");
    await rejectsMentioning(readIdxDirectory(`${dir}/file`, "train"), `${dir}/file: it is a file`);
  });
});

Deno.test("readIdxDirectory() rejects an empty split", async () => {
  await withDir(async (dir) => {
    await writeSplit(dir, { count: 0 });
    await rejectsMentioning(readIdxDirectory(dir, "train"), "holds no images");
  });
});

Deno.test("readIdxDirectory() rejects bad options", async () => {
  await assert.rejects(readIdxDirectory("/tmp", "train", { limit: 0 }), RangeError);
  await assert.rejects(readIdxDirectory("/tmp", "train", { numClasses: 0 }), RangeError);
  await assert.rejects(readIdxDirectory("/tmp", "valid" as "train"), RangeError);
});
