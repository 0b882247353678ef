/**
 * Reading a run directory (config.json, metrics.jsonl, summary.json, insights.json) for a report.
 * @module
 */
import type { EpochRecord } from "@cnnlab/core";
import type { Insights } from "./insights.ts";

/** One run directory's contents, as a report reads them. */
export interface RunData {
  /** The directory. */
  readonly dir: string;
  /** A short name: the directory's last path segment. */
  readonly name: string;
  readonly config: RunConfig;
  readonly epochs: readonly EpochRecord[];
  // deno-lint-ignore no-explicit-any
  readonly summary: Record<string, any>;
  /** Absent for runs written before insights existed. */
  readonly insights?: Insights;
}

/** The parts of config.json a report uses. */
export interface RunConfig {
  /** The CLI arguments after `cnnlab`. */
  readonly argv?: readonly string[];
  readonly command?: string;
  readonly seed?: number;
  readonly [key: string]: unknown;
}

/**
 * Reads a run directory.
 *
 * @param dir The run directory.
 * @returns Its contents.
 * @throws {Error} If a file is missing or is not valid JSON, naming the file and what to do.
 * @example A missing directory is a one-line error
 * ```ts
 * import { readRun } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * await assert.rejects(readRun("no/such/run"), /Cannot read run no\/such\/run: .*summary\.json/);
 * ```
 */
export async function readRun(dir: string): Promise<RunData> {
  const root = dir.replace(/\/+$/, "");
  const summary = await readJson(root, "summary.json", true);
  const config = await readJson(root, "config.json", true);
  let epochs: EpochRecord[] = [];
  const text = await readText(root, "metrics.jsonl", false);
  if (text) {
    try {
      epochs = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    } catch (e) {
      throw new Error(`Cannot read run ${root}: metrics.jsonl is not JSON lines (${(e as Error).message})`);
    }
  }
  const insights = await readJson(root, "insights.json", false);
  return {
    dir: root,
    name: root.split("/").filter(Boolean).at(-1) ?? root,
    config: config as RunConfig,
    epochs,
    summary: summary as Record<string, unknown>,
    insights: insights as Insights | undefined,
  };
}

async function readText(root: string, file: string, required: boolean): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(`${root}/${file}`);
  } catch (e) {
    if (!required && e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(
      `Cannot read run ${root}: ${file} ${
        e instanceof Deno.errors.NotFound ? "is missing" : `is unreadable (${(e as Error).message})`
      }; pass a directory written by \`cnnlab train\``,
    );
  }
}

async function readJson(root: string, file: string, required: boolean): Promise<unknown> {
  const text = await readText(root, file, required);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot read run ${root}: ${file} is not valid JSON (${(e as Error).message})`);
  }
}
