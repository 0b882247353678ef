/**
 * Checkpoints: weights and optimizer state in a documented format, written atomically.
 *
 * Format (a directory): `model.json` (the model spec), `tensors.json` (a manifest
 * `{ format: "cnnlab-tensors", version: 1, tensors: [{ name, shape, offset }], scalars, meta }`,
 * offsets in float32 elements) and `tensors.bin` (every tensor's float32 values, little-endian, back to back).
 * Parameter names are `node.param`; optimizer state names start with `optimizer/`.
 * The directory is written beside its target under a temporary name and renamed into place, so a
 * crash or a full disk leaves either the old checkpoint or the new one, never half of one.
 * @module
 */
import type { ModelSpec } from "./model_spec.ts";
import type { Device, Tensor } from "./tensor.ts";

/** What a checkpoint holds. */
export interface CheckpointContents {
  /** The model spec. */
  readonly spec: ModelSpec;
  /** Named tensors (parameters, optimizer state). */
  readonly tensors: ReadonlyMap<string, Tensor>;
  /** Named numbers (optimizer step count…). */
  readonly scalars?: Record<string, number>;
  /** Anything JSON (epoch, metrics). */
  readonly meta?: Record<string, unknown>;
}

/** A loaded checkpoint: values on the host, ready to copy into tensors. */
export interface LoadedCheckpoint {
  readonly spec: ModelSpec;
  readonly tensors: Map<string, { shape: number[]; values: Float32Array }>;
  readonly scalars: Record<string, number>;
  readonly meta: Record<string, unknown>;
}

/**
 * Writes a checkpoint directory atomically (temporary directory, then rename).
 *
 * @param dir Target directory; replaced if it exists.
 * @param contents Spec, tensors, scalars and metadata.
 * @throws {Error} Naming the directory and the cause (for example a full disk); the old checkpoint is then intact.
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents): Promise<void> {
  const entries: { name: string; shape: number[]; offset: number }[] = [];
  let total = 0;
  const values: Float32Array[] = [];
  for (const [name, t] of contents.tensors) {
    entries.push({ name, shape: [...t.shape], offset: total });
    values.push(await t.data());
    total += t.size;
  }
  const bin = new Float32Array(total);
  let off = 0;
  for (const v of values) {
    bin.set(v, off);
    off += v.length;
  }
  const manifest = {
    format: "cnnlab-tensors",
    version: 1,
    tensors: entries,
    scalars: contents.scalars ?? {},
    meta: contents.meta ?? {},
  };
  const le = new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength); // x86 and ARM hosts are little-endian
  await writeDirAtomic(dir, {
    "model.json": JSON.stringify(contents.spec, null, 2),
    "tensors.json": JSON.stringify(manifest),
    "tensors.bin": le,
  });
}

/**
 * Writes files into a directory atomically: all of them, or (on failure) none, leaving any old directory intact.
 *
 * @param dir Target directory.
 * @param files File name → text or bytes.
 * @throws {Error} Naming the directory and the cause.
 */
export async function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const tmp = `${dir}.tmp-${Deno.pid}-${Date.now()}`;
  const old = `${dir}.old-${Deno.pid}-${Date.now()}`;
  try {
    await Deno.mkdir(tmp, { recursive: true });
    for (const [name, data] of Object.entries(files)) {
      if (typeof data === "string") await Deno.writeTextFile(`${tmp}/${name}`, data);
      else await Deno.writeFile(`${tmp}/${name}`, data);
    }
    let hadOld = false;
    try {
      await Deno.rename(dir, old);
      hadOld = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(tmp, dir);
    if (hadOld) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(`Cannot write ${dir}: ${reason}; free disk space or choose another --out`);
  }
}

/**
 * Writes one file atomically (temporary file, then rename).
 *
 * @param path Target path.
 * @param data Text or bytes.
 * @throws {Error} Naming the file and the cause; an old file at `path` is then intact.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${Date.now()}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(`Cannot write ${path}: ${reason}; free disk space or choose another --out`);
  }
}

/**
 * Reads a checkpoint directory, checking the manifest against the data file.
 *
 * @param dir The checkpoint directory.
 * @returns The spec, tensors (host values), scalars and metadata.
 * @throws {Error} Naming the file and what is wrong (missing, bad format, truncated).
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const read = async (name: string) => {
    try {
      return await Deno.readFile(`${dir}/${name}`);
    } catch (e) {
      throw new Error(`Cannot load checkpoint ${dir}: ${name} is unreadable (${(e as Error).message})`);
    }
  };
  const parse = (name: string, bytes: Uint8Array) => {
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new Error(`Cannot load checkpoint ${dir}: ${name} is not valid JSON`);
    }
  };
  const spec = parse("model.json", await read("model.json")) as ModelSpec;
  const manifest = parse("tensors.json", await read("tensors.json"));
  if (manifest?.format !== "cnnlab-tensors" || manifest.version !== 1) {
    throw new Error(`Cannot load checkpoint ${dir}: tensors.json is not a cnnlab-tensors version 1 manifest`);
  }
  const bytes = await read("tensors.bin");
  if (bytes.byteLength % 4 !== 0) {
    throw new Error(
      `Cannot load checkpoint ${dir}: tensors.bin has ${bytes.byteLength} bytes, not a whole number of float32 values`,
    );
  }
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const e of manifest.tensors as { name: string; shape: number[]; offset: number }[]) {
    const n = e.shape.reduce((p, d) => p * d, 1);
    if (e.offset + n > all.length) {
      throw new Error(
        `Cannot load checkpoint ${dir}: tensors.bin is truncated (tensor "${e.name}" ends past its end)`,
      );
    }
    tensors.set(e.name, { shape: e.shape, values: all.slice(e.offset, e.offset + n) });
  }
  return { spec, tensors, scalars: manifest.scalars ?? {}, meta: manifest.meta ?? {} };
}

/**
 * Copies loaded values into existing tensors (model parameters), checking names and shapes.
 *
 * @param target Tensors to fill, by name.
 * @param loaded Values from `loadCheckpoint`.
 * @param where Description for messages.
 * @throws {TypeError} If a tensor is missing or has another shape.
 */
export function restoreTensors(
  target: ReadonlyMap<string, Tensor>,
  loaded: ReadonlyMap<string, { shape: number[]; values: Float32Array }>,
  where: string,
): void {
  for (const [name, t] of target) {
    const v = loaded.get(name);
    if (!v) throw new TypeError(`Cannot restore "${name}" from ${where}: the checkpoint has no such tensor`);
    if (v.values.length !== t.size) {
      throw new TypeError(
        `Cannot restore "${name}" from ${where}: shape [${v.shape}] does not match [${t.shape}]`,
      );
    }
    t.assign((t.device as Device).tensor(v.values, t.shape));
  }
}
