/**
 * JSON model specifications, as model plugins produce them and `--model FILE` reads them.
 * @module
 */
import type { Shape } from "./shape.ts";

/** One layer in a spec: its type, options, and (in graphs) its name and inputs. */
export interface LayerSpec {
  /** Registered layer type, e.g. `"conv2d"`. */
  readonly type: string;
  /** Node name; defaults to `type` plus a counter. */
  readonly name?: string;
  /** Names of the nodes (or model inputs) it reads; defaults to the previous node. */
  readonly inputs?: readonly string[];
  /**
   * Name of an earlier node whose layer (and so whose weights) this node reuses, as the branches of a
   * siamese network do; `type` must match and other options are taken from that node.
   */
  readonly share?: string;
  /** Layer options. */
  readonly [option: string]: unknown;
}

/**
 * A model: a sequential list (`input`) or a graph with named inputs (`inputs`).
 * Shapes here exclude the batch dimension.
 */
export interface ModelSpec {
  /** Model name for summaries and reports. */
  readonly name?: string;
  /** Per-example input shape of a single-input model, e.g. `[1, 28, 28]`. */
  readonly input?: Shape;
  /** Named per-example input shapes of a graph. */
  readonly inputs?: Readonly<Record<string, Shape>>;
  /** Layers in evaluation order. */
  readonly layers: readonly LayerSpec[];
  /** Output node names; defaults to the last layer. */
  readonly outputs?: readonly string[];
}

/** Produces a model spec from options (e.g. `{ activation: "prelu" }`). */
export type ModelFactory = (options: Readonly<Record<string, unknown>>) => ModelSpec;
