/**
 * The run directory shared by the CLI and reports: config.json, metrics.jsonl, checkpoint/, summary.json,
 * insights.json and report.html.
 * Every file is written through a temporary name and a rename, so none is ever half-written.
 * @module
 */
import { writeFileAtomic } from "@cnnlab/core";

/** Paths inside a run directory. */
export interface RunDir {
  readonly root: string;
  readonly config: string;
  readonly metrics: string;
  readonly checkpoint: string;
  readonly summary: string;
  /** What the report shows of the network's inside (`@cnnlab/reports` computeInsights). */
  readonly insights: string;
  /** The run's self-contained HTML report. */
  readonly report: string;
}

/**
 * Creates (if needed) a run directory and returns its paths.
 *
 * @param root The directory.
 * @returns Its paths.
 * @throws {Error} If it cannot be created, naming it.
 */
export async function createRunDir(root: string): Promise<RunDir> {
  try {
    await Deno.mkdir(root, { recursive: true });
  } catch (e) {
    throw new Error(`Cannot create run directory ${root}: ${(e as Error).message}; choose another --out`);
  }
  return runDirAt(root);
}

/** Paths of an existing run directory. */
export function runDirAt(root: string): RunDir {
  return {
    root,
    config: `${root}/config.json`,
    metrics: `${root}/metrics.jsonl`,
    checkpoint: `${root}/checkpoint`,
    summary: `${root}/summary.json`,
    insights: `${root}/insights.json`,
    report: `${root}/report.html`,
  };
}

/**
 * Writes a JSON file atomically, pretty-printed.
 *
 * @param path Target.
 * @param value JSON value.
 */
export function writeJson(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Rewrites metrics.jsonl atomically with every record so far (one JSON object per line).
 *
 * @param path Target.
 * @param records The records.
 */
export function writeJsonLines(path: string, records: readonly unknown[]): Promise<void> {
  return writeFileAtomic(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
}
