/**
 * Command-line parsing (node:util parseArgs) into typed, validated options. Every default is here.
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./usage.ts";

/** Parsed command line. */
export interface CliOptions {
  readonly command: string;
  /** Positional arguments after the command (run directories for `report`, the file for `experiment`). */
  readonly args: readonly string[];
  readonly plugins: readonly string[];
  readonly backend: string;
  /** The backend's own settings from --threads and --cpu-kernels (cpu backend only). */
  readonly backendOptions: Readonly<Record<string, unknown>>;
  readonly model: string;
  readonly set: Readonly<Record<string, unknown>>;
  readonly dataset: string;
  readonly data?: string;
  readonly limit?: number;
  readonly testLimit?: number;
  readonly loss: string;
  readonly lossOptions: Readonly<Record<string, unknown>>;
  readonly embeddingDim?: number;
  readonly optimizer: string;
  readonly lr?: number;
  readonly momentum?: number;
  readonly weightDecay: number;
  /** Undefined: cosine for class-score losses, none for embedding losses. */
  readonly schedule?: "none" | "step" | "cosine";
  readonly epochs: number;
  /** Undefined: 32 for class-score losses, 100 (10 classes × 10) for embedding losses. */
  readonly batchSize?: number;
  readonly seed: number;
  readonly out?: string;
  readonly checkpoint?: string;
  readonly json: boolean;
  readonly help: boolean;
}

/**
 * Parses arguments after the program name.
 *
 * @param args The arguments.
 * @returns The options.
 * @throws {UsageError} On an unknown flag or a bad value.
 */
export function parseCli(args: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        plugin: { type: "string", multiple: true },
        backend: { type: "string" },
        threads: { type: "string" },
        "cpu-kernels": { type: "string" },
        model: { type: "string" },
        set: { type: "string", multiple: true },
        dataset: { type: "string" },
        data: { type: "string" },
        limit: { type: "string" },
        "test-limit": { type: "string" },
        loss: { type: "string" },
        "loss-option": { type: "string", multiple: true },
        "embedding-dim": { type: "string" },
        optimizer: { type: "string" },
        lr: { type: "string" },
        momentum: { type: "string" },
        "weight-decay": { type: "string" },
        schedule: { type: "string" },
        epochs: { type: "string" },
        "batch-size": { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        checkpoint: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  const v = parsed.values;
  const [command = "", ...rest] = parsed.positionals;
  if (rest.length && command !== "report" && !(command === "experiment" && rest.length === 1)) {
    throw new UsageError(`unexpected argument "${rest[0]}"`);
  }
  const schedule = v.schedule;
  if (schedule !== undefined && !["none", "step", "cosine"].includes(schedule)) {
    throw new UsageError(`--schedule must be none, step or cosine, got "${schedule}"`);
  }
  const backend = v.backend ?? "cpu";
  const backendOptions: Record<string, unknown> = {};
  const threads = int(v.threads, "--threads", 1);
  if (threads !== undefined) backendOptions.threads = threads;
  if (v["cpu-kernels"] !== undefined) {
    if (!["wasm", "ts"].includes(v["cpu-kernels"])) {
      throw new UsageError(`--cpu-kernels must be wasm or ts, got "${v["cpu-kernels"]}"`);
    }
    backendOptions.kernels = v["cpu-kernels"];
  }
  if (Object.keys(backendOptions).length && backend !== "cpu") {
    throw new UsageError(`--threads and --cpu-kernels apply to --backend cpu, not ${backend}`);
  }
  return {
    command,
    args: rest,
    plugins: v.plugin ?? [],
    backend,
    backendOptions,
    model: v.model ?? "lenet5",
    set: Object.fromEntries((v.set ?? []).map((e) => parseSet(e, "--set"))),
    dataset: v.dataset ?? "mnist",
    data: v.data,
    limit: int(v.limit, "--limit", 1),
    testLimit: int(v["test-limit"], "--test-limit", 1),
    loss: v.loss ?? "softmaxCrossEntropy",
    lossOptions: Object.fromEntries((v["loss-option"] ?? []).map((e) => parseSet(e, "--loss-option"))),
    embeddingDim: int(v["embedding-dim"], "--embedding-dim", 1),
    optimizer: v.optimizer ?? "adam",
    lr: num(v.lr, "--lr"),
    momentum: num(v.momentum, "--momentum"),
    weightDecay: num(v["weight-decay"], "--weight-decay") ?? 0,
    schedule: schedule as CliOptions["schedule"],
    epochs: int(v.epochs, "--epochs", 1) ?? 10,
    batchSize: int(v["batch-size"], "--batch-size", 1),
    seed: int(v.seed, "--seed", 0) ?? 1,
    out: v.out,
    checkpoint: v.checkpoint,
    json: v.json ?? false,
    help: v.help ?? false,
  };
}

function int(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

function num(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`${flag} must be a non-negative number, got "${value}"`);
  }
  return n;
}

function parseSet(entry: string, flag: string): [string, unknown] {
  const eq = entry.indexOf("=");
  if (eq < 1) throw new UsageError(`${flag} takes KEY=VALUE, got "${entry}"`);
  const key = entry.slice(0, eq), raw = entry.slice(eq + 1);
  try {
    return [key, JSON.parse(raw)];
  } catch {
    return [key, raw];
  }
}
