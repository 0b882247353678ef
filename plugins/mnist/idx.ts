/**
 * Reads the IDX files of MNIST, Fashion-MNIST and KMNIST, raw or gzipped, checking every size
 * the header declares against the bytes that are there.
 * @module
 */
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** What an IDX file holds: images (`*-idx3-ubyte`, rank 3) or labels (`*-idx1-ubyte`, rank 1). */
export type IdxKind = "images" | "labels";

/** The decoded contents of one IDX file of unsigned bytes. */
export interface IdxArray {
  /** The dimensions the header declares, e.g. `[60000, 28, 28]` or `[60000]`. */
  readonly dims: readonly number[];
  /** The values, row-major; `data.length` is the product of `dims`. */
  readonly data: Uint8Array;
}

/** Options of {@linkcode parseIdx}. */
export interface ParseIdxOptions {
  /** What the file must hold; decides the expected magic number. */
  readonly kind: IdxKind;
  /** Where the bytes came from, for messages (default `"IDX data"`). */
  readonly path?: string;
}

/** Options of {@linkcode readIdxDirectory}. */
export interface ReadIdxOptions {
  /** Labels must lie in `0..numClasses-1`; defaults to 10, as in MNIST, Fashion-MNIST and KMNIST. */
  readonly numClasses?: number;
  /** Convert only the first `limit` examples (all files are still checked whole); defaults to all. */
  readonly limit?: number;
}

/** One split read from a directory of IDX files. */
export interface IdxSplit {
  /** `size × rows × cols` pixel values scaled to [0, 1]. */
  readonly images: Float32Array;
  /** Class index per image. */
  readonly labels: Int32Array;
  /** Number of examples kept (the file's count, or `limit` if smaller). */
  readonly size: number;
  /** Image height the header declares. */
  readonly rows: number;
  /** Image width the header declares. */
  readonly cols: number;
  /** Number of classes the labels were checked against. */
  readonly numClasses: number;
  /** The images file that was read. */
  readonly imagesPath: string;
  /** The labels file that was read. */
  readonly labelsPath: string;
}

const MAGIC: Readonly<Record<IdxKind, number>> = { images: 0x00000803, labels: 0x00000801 };
const RANK: Readonly<Record<IdxKind, number>> = { images: 3, labels: 1 };
const FILE_PREFIX = { train: "train", test: "t10k" } as const;
const REDOWNLOAD = "re-download the dataset";
const PIXEL = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Encodes unsigned bytes as an IDX file (type code `0x08`), as MNIST stores them.
 *
 * @param dims The dimensions, e.g. `[count, 28, 28]` for images or `[count]` for labels.
 * @param data `product(dims)` integers in 0..255, row-major.
 * @returns The file's bytes: magic number, big-endian dimensions, then the data.
 * @throws {RangeError} If a dimension is not a non-negative integer, the data length differs from the
 * product of `dims`, or a value is not an integer in 0..255.
 * @example Two labels
 * ```ts
 * import { encodeIdx } from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...encodeIdx([2], [7, 3])], [0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
 * ```
 */
export function encodeIdx(dims: readonly number[], data: ArrayLike<number>): Uint8Array {
  if (
    dims.length < 1 || dims.length > 255 || !dims.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 32)
  ) {
    throw new RangeError(
      `Cannot encode IDX data: dimensions [${dims}] must be 1 to 255 non-negative 32-bit integers`,
    );
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new RangeError(
      `Cannot encode IDX data: dimensions [${dims}] need ${count} values but ${data.length} were given`,
    );
  }
  const header = 4 + 4 * dims.length;
  const bytes = new Uint8Array(header + count);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  for (let i = 0; i < count; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new RangeError(`Cannot encode IDX data: value ${v} at index ${i} is not an integer in 0..255`);
    }
    bytes[header + i] = v;
  }
  return bytes;
}

/**
 * Decodes the bytes of an IDX images or labels file, checking the magic number, the rank and that the
 * byte length is exactly what the header declares (neither truncated nor overlong).
 *
 * @param bytes The file's bytes, already decompressed.
 * @param options What the file must hold, and its path for messages.
 * @returns The dimensions and a view of the data (no copy).
 * @throws {Error} Naming the path and what is wrong, if the bytes are not a well-formed IDX file of that kind.
 * @example Round trip, and a truncated file
 * ```ts
 * import { encodeIdx, parseIdx } from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * const file = encodeIdx([1, 2, 2], [0, 64, 128, 255]);
 * assert.deepEqual(parseIdx(file, { kind: "images" }).dims, [1, 2, 2]);
 * assert.throws(() => parseIdx(file.subarray(0, 18), { kind: "images", path: "x-idx3-ubyte" }), /x-idx3-ubyte: truncated/);
 * ```
 */
export function parseIdx(bytes: Uint8Array, options: ParseIdxOptions): IdxArray {
  return decode(bytes, options.kind, options.path ?? "IDX data", "");
}

/**
 * Reads one IDX file, gunzipping it first when it is gzipped (detected from its bytes, not its name).
 *
 * @param path The file, e.g. `train-labels-idx1-ubyte.gz`.
 * @param kind What it must hold.
 * @returns Its dimensions and data.
 * @throws {Error} Naming the path, if it is missing, unreadable, not valid gzip, or not a well-formed IDX file.
 * @example Read a gzipped labels file
 * ```ts
 * import { encodeIdx, readIdxFile } from "@cnnlab/mnist";
 * import { gzipSync } from "node:zlib";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: "-labels-idx1-ubyte.gz" });
 * await Deno.writeFile(path, gzipSync(encodeIdx([3], [4, 0, 9])));
 * assert.deepEqual([...(await readIdxFile(path, "labels")).data], [4, 0, 9]);
 * await Deno.remove(path);
 * ```
 */
export async function readIdxFile(path: string, kind: IdxKind): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot read ${path}: the file does not exist; download the dataset there`);
    }
    throw new Error(`Cannot read ${path}: ${reasonOf(e)}`);
  }
  let note = "";
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      const raw = gunzipSync(bytes);
      bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    } catch (e) {
      throw new Error(`Cannot read ${path}: it is not a valid gzip file (${reasonOf(e)}); ${REDOWNLOAD}`);
    }
    note = " once decompressed";
  }
  return decode(bytes, kind, path, note);
}

/**
 * Reads one split from a directory in the MNIST layout: `train-images-idx3-ubyte` and
 * `train-labels-idx1-ubyte` for `"train"`, `t10k-…` for `"test"`, each with or without `.gz`
 * (the uncompressed file wins when both exist). MNIST, Fashion-MNIST and KMNIST use these names.
 *
 * @param dir The directory.
 * @param split `"train"` or `"test"`.
 * @param options The number of classes labels are checked against, and how many examples to keep.
 * @returns Pixels scaled to [0, 1] as float32, labels, and the paths read.
 * @throws {Error} Naming the directory or file, if the directory or a file is missing, a file is malformed,
 * truncated or overlong, the image and label counts differ, or a label is out of range.
 * @throws {RangeError} If `split`, `numClasses` or `limit` is not a valid value.
 * @example Read a one-image test split
 * ```ts
 * import { encodeIdx, readIdxDirectory } from "@cnnlab/mnist";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, encodeIdx([1, 2, 2], [0, 51, 102, 255]));
 * await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, encodeIdx([1], [3]));
 * const test = await readIdxDirectory(dir, "test");
 * assert.deepEqual([...test.images], [0, 0.2, 0.4, 1].map(Math.fround));
 * assert.deepEqual([...test.labels], [3]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readIdxDirectory(
  dir: string,
  split: "train" | "test",
  options: ReadIdxOptions = {},
): Promise<IdxSplit> {
  const { numClasses, limit } = resolveReadOptions(options);
  if (split !== "train" && split !== "test") {
    throw new RangeError(`Cannot read an IDX split: split "${split}" is neither "train" nor "test"`);
  }
  const imagesName = `${FILE_PREFIX[split]}-images-idx3-ubyte`;
  const labelsName = `${FILE_PREFIX[split]}-labels-idx1-ubyte`;
  await checkDirectory(dir, split, `${imagesName}[.gz] and ${labelsName}[.gz]`);
  const [imagesPath, labelsPath] = await Promise.all([findFile(dir, imagesName), findFile(dir, labelsName)]);
  if (imagesPath === undefined || labelsPath === undefined) {
    const missing = [imagesPath ? undefined : imagesName, labelsPath ? undefined : labelsName]
      .filter((name) => name !== undefined);
    throw new Error(
      `Cannot read the ${split} split: ${missing.map((name) => `${join(dir, name)}[.gz]`).join(" and ")} ${
        missing.length === 1 ? "does" : "do"
      } not exist; download ${missing.map((name) => `${name}.gz`).join(" and ")} into ${dir}`,
    );
  }
  const [images, labels] = await Promise.all([
    readIdxFile(imagesPath, "images"),
    readIdxFile(labelsPath, "labels"),
  ]);
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) {
    throw new Error(
      `Cannot read the ${split} split in ${dir}: ${imagesPath} holds ${count} images but ${labelsPath} holds ${
        labels.dims[0]
      } labels; ${REDOWNLOAD} so that both files match`,
    );
  }
  if (count === 0) {
    throw new Error(`Cannot read the ${split} split in ${dir}: ${imagesPath} holds no images; ${REDOWNLOAD}`);
  }
  if (rows === 0 || cols === 0) {
    throw new Error(
      `Cannot read ${imagesPath}: header declares images of ${rows}×${cols} pixels; ${REDOWNLOAD}`,
    );
  }
  for (let i = 0; i < count; i++) {
    if (labels.data[i] >= numClasses) {
      throw new Error(
        `Cannot read ${labelsPath}: label ${labels.data[i]} at index ${i} is outside 0..${
          numClasses - 1
        }; ${REDOWNLOAD}, or pass numClasses if it really has more classes`,
      );
    }
  }
  const size = Math.min(count, limit);
  const pixels = images.data.subarray(0, size * rows * cols);
  const scaled = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) scaled[i] = PIXEL[pixels[i]];
  return {
    images: scaled,
    labels: Int32Array.from(labels.data.subarray(0, size)),
    size,
    rows,
    cols,
    numClasses,
    imagesPath,
    labelsPath,
  };
}

/** Applies the defaults of {@linkcode ReadIdxOptions}: 10 classes, no limit. */
function resolveReadOptions(options: ReadIdxOptions): { numClasses: number; limit: number } {
  const { numClasses = 10, limit = Infinity } = options;
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new RangeError(`Cannot read an IDX split: numClasses ${numClasses} is not an integer in 1..256`);
  }
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`Cannot read an IDX split: limit ${limit} is not a positive integer`);
  }
  return { numClasses, limit };
}

function decode(bytes: Uint8Array, kind: IdxKind, path: string, note: string): IdxArray {
  const rank = RANK[kind];
  const header = 4 + 4 * rank;
  const fileKind = kind === "images" ? "idx3-ubyte" : "idx1-ubyte";
  if (bytes.length < 4) {
    throw new Error(
      `Cannot read ${path}: truncated, it has ${bytes.length} bytes${note}, fewer than an IDX magic number; ${REDOWNLOAD}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== MAGIC[kind]) {
    throw new Error(
      `Cannot read ${path}: magic number ${hex(magic)} is not that of IDX ${kind} (${
        hex(MAGIC[kind])
      }); pass the *-${fileKind} file, and ${REDOWNLOAD} if that is what this is`,
    );
  }
  if (bytes.length < header) {
    throw new Error(
      `Cannot read ${path}: truncated, it has ${bytes.length} bytes${note}, fewer than the ${header}-byte IDX header; ${REDOWNLOAD}`,
    );
  }
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = header + dims.reduce((a, b) => a * b, 1);
  const declared = kind === "images" ? `${dims[0]} images of ${dims[1]}×${dims[2]}` : `${dims[0]} labels`;
  if (bytes.length !== expected) {
    const problem = bytes.length < expected ? "truncated" : "overlong";
    const extra = bytes.length > expected ? `, ${bytes.length - expected} extra` : "";
    throw new Error(
      `Cannot read ${path}: ${problem}, header declares ${declared} (${expected} bytes) but the file has ${bytes.length} bytes${note}${extra}; ${REDOWNLOAD}`,
    );
  }
  return { dims, data: bytes.subarray(header) };
}

async function checkDirectory(dir: string, split: string, wanted: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot read the ${split} split: directory ${dir} does not exist; pass a directory that holds ${wanted} (MNIST, Fashion-MNIST or KMNIST)`,
      );
    }
    throw new Error(`Cannot read the ${split} split from ${dir}: ${reasonOf(e)}`);
  }
  if (!info.isDirectory) {
    throw new Error(
      `Cannot read the ${split} split from ${dir}: it is a file, not a directory; pass the directory that holds ${wanted}`,
    );
  }
}

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const candidate of [name, `${name}.gz`]) {
    const path = join(dir, candidate);
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw new Error(`Cannot read ${path}: ${reasonOf(e)}`);
    }
  }
  return undefined;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}
