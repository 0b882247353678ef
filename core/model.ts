/**
 * Models built from JSON specs: sequential lists and graphs with named inputs.
 * Shapes are checked layer by layer before any compute, so a bad spec fails at build time.
 * @module
 */
import type { FusedForward, Layer } from "./layer.ts";
import type { LayerSpec, ModelSpec } from "./model_spec.ts";
import type { Registry } from "./registry.ts";
import type { Rng } from "./rng.ts";
import { type Shape, sizeOf } from "./shape.ts";
import { type Device, isRecording, type Tensor } from "./tensor.ts";
import type { ForwardContext } from "./layer.ts";

/** One row of `Model.summary()`. */
export interface SummaryRow {
  /** Node name. */
  readonly name: string;
  /** Layer type. */
  readonly type: string;
  /** Output shape without the batch dimension. */
  readonly outputShape: Shape;
  /** Number of parameters. */
  readonly parameters: number;
  /** Floating-point operations for one example's forward pass. */
  readonly flops: number;
}

/** `Model.summary()`: per-layer rows and totals. */
export interface ModelSummary {
  readonly name: string;
  readonly layers: readonly SummaryRow[];
  readonly totalParameters: number;
  readonly totalFlops: number;
}

interface Node {
  readonly name: string;
  readonly layer: Layer;
  /** The node whose layer this one reuses, if any. */
  readonly shares?: string;
  readonly inputs: readonly string[];
  readonly outputShape: Shape;
  readonly inputShapes: readonly Shape[];
}

const RESERVED = new Set(["type", "name", "inputs", "share"]);

/** A network: layers wired by name, with their parameters on one device. */
export class Model {
  /** The spec it was built from. */
  readonly spec: ModelSpec;
  /** The device that holds its parameters. */
  readonly device: Device;
  /** Per-example input shapes by name. */
  readonly inputShapes: Readonly<Record<string, Shape>>;
  readonly #nodes: Node[];
  readonly #outputs: readonly string[];
  /** By node index: that node and the next as one pass, for inference (see `Layer.fuseWith`). */
  readonly #fused = new Map<number, FusedForward>();

  /**
   * Builds a model: creates each layer from the registry, checks shapes, creates parameters.
   *
   * @param spec The model spec.
   * @param options The registry that provides layers, the device for parameters, the RNG for initial values.
   * @throws {TypeError} If a layer's input does not fit, naming the layer and the shapes.
   * @throws {RangeError} If a layer type or input name is unknown.
   * @example A two-layer model and its summary
   * ```ts
   * import { Model, Registry, Rng } from "@cnnlab/core";
   * import cnnlab from "@cnnlab/cnnlab";
   * import assert from "node:assert/strict";
   * const registry = new Registry();
   * for (const p of cnnlab.defaultPlugins) registry.use(p);
   * const device = await registry.device("cpu");
   * const model = new Model({ input: [4], layers: [{ type: "dense", units: 3 }, { type: "relu" }] },
   *   { registry, device, rng: new Rng(1) });
   * assert.equal(model.summary().totalParameters, 15);
   * ```
   */
  constructor(spec: ModelSpec, options: { registry: Registry; device: Device; rng: Rng }) {
    this.spec = spec;
    this.device = options.device;
    if (!spec || !Array.isArray(spec.layers) || spec.layers.length === 0) {
      throw new TypeError(`Cannot build model "${spec?.name ?? "?"}": the spec has no "layers" list`);
    }
    const inputs: Record<string, Shape> = spec.inputs
      ? { ...spec.inputs }
      : spec.input
      ? { input: spec.input }
      : {};
    if (Object.keys(inputs).length === 0) {
      throw new TypeError(
        `Cannot build model "${spec.name ?? "?"}": the spec names no input shape ("input" or "inputs")`,
      );
    }
    this.inputShapes = inputs;
    const shapes = new Map<string, Shape>(Object.entries(inputs).map(([k, s]) => [k, [1, ...s]]));
    const counts = new Map<string, number>();
    let previous = Object.keys(inputs)[0];
    const built: Node[] = [];
    this.#nodes = spec.layers.map((ls: LayerSpec, i) => {
      const n = (counts.get(ls.type) ?? 0) + 1;
      counts.set(ls.type, n);
      const name = ls.name ?? `${ls.type}${n}`;
      if (shapes.has(name)) throw new TypeError(`Cannot build model: node name "${name}" is used twice`);
      const inputNames = ls.inputs ?? [previous];
      const inputShapes = inputNames.map((s) => {
        const shape = shapes.get(s);
        if (!shape) {
          throw new RangeError(`Cannot build layer "${name}": its input "${s}" is not defined before it`);
        }
        return shape;
      });
      const layerOptions = Object.fromEntries(Object.entries(ls).filter(([k]) => !RESERVED.has(k)));
      const shared = ls.share === undefined ? undefined : built.find((b) => b.name === ls.share);
      if (ls.share !== undefined && (!shared || shared.layer.type !== ls.type)) {
        throw new RangeError(
          `Cannot build layer "${name}": it shares "${ls.share}", which is ${
            shared ? `a ${shared.layer.type}, not a ${ls.type}` : "not an earlier node"
          }`,
        );
      }
      const layer = shared?.layer ?? options.registry.layer(ls.type)(layerOptions);
      const inShape = inputShapes.length === 1 ? inputShapes[0] : inputShapes;
      let outputShape: Shape;
      try {
        outputShape = layer.outputShape(inShape);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new TypeError(
          `Cannot build layer ${i + 1} "${name}" (${ls.type}) on input [${fmt(inShape)}]: ${msg}`,
        );
      }
      if (!shared) layer.build?.(inShape, { device: options.device, rng: options.rng });
      shapes.set(name, outputShape);
      previous = name;
      const node = { name, layer, inputs: inputNames, outputShape, inputShapes, shares: shared?.name };
      built.push(node);
      return node;
    });
    this.#outputs = spec.outputs ?? [previous];
    for (const o of this.#outputs) {
      if (!shapes.has(o)) throw new RangeError(`Cannot build model: output "${o}" is not a node`);
    }
    this.#planFusions();
  }

  /** Asks each node whose output only the next node reads whether the two fuse. */
  #planFusions(): void {
    const readers = new Map<string, number>();
    for (const node of this.#nodes) for (const i of node.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
    for (let i = 0; i + 1 < this.#nodes.length; i++) {
      const node = this.#nodes[i], next = this.#nodes[i + 1];
      if (
        readers.get(node.name) !== 1 || next.inputs.length !== 1 || next.inputs[0] !== node.name ||
        this.#outputs.includes(node.name)
      ) continue;
      const fused = node.layer.fuseWith?.(next.layer);
      if (fused) this.#fused.set(i, fused);
    }
  }

  /** Output shape of the (first) output, without the batch dimension. */
  get outputShape(): Shape {
    return this.#nodes.find((n) => n.name === this.#outputs[0])?.outputShape.slice(1) ??
      this.inputShapes[this.#outputs[0]];
  }

  /** Per-layer nodes: name, type and the layer itself. */
  get layers(): readonly { name: string; layer: Layer; inputs: readonly string[] }[] {
    return this.#nodes;
  }

  /**
   * Runs the network.
   *
   * @param x One tensor for a single-input model, or tensors by input name.
   * @param ctx Training flag and RNG.
   * @param options `capture`: node names whose outputs to return too (feature maps for reports).
   * @returns The output (or outputs, for several), and the captured activations.
   */
  forward(x: Tensor | Readonly<Record<string, Tensor>>, ctx: ForwardContext): Tensor {
    return this.run(x, ctx).outputs[0];
  }

  /**
   * Runs the network and returns every output plus chosen intermediate activations. Without a
   * tape (inside `noGrad`), pairs of layers that fuse (`Layer.fuseWith`: a convolution and its
   * ReLU) run as one pass unless the first one's output is captured.
   *
   * @param x One tensor, or tensors by input name.
   * @param ctx Training flag and RNG.
   * @param capture Node names whose outputs to return.
   * @returns The outputs in spec order and the captured activations by name.
   */
  run(
    x: Tensor | Readonly<Record<string, Tensor>>,
    ctx: ForwardContext,
    capture: readonly string[] = [],
  ): { outputs: Tensor[]; captured: Map<string, Tensor> } {
    const values = new Map<string, Tensor>();
    const names = Object.keys(this.inputShapes);
    if ("shape" in x && "device" in x) values.set(names[0], x as Tensor);
    else for (const [k, v] of Object.entries(x as Record<string, Tensor>)) values.set(k, v);
    for (const name of names) {
      const t = values.get(name);
      if (!t) throw new TypeError(`Cannot run model: input "${name}" is missing`);
      const want = this.inputShapes[name];
      if (t.rank !== want.length + 1 || want.some((d, i) => d !== t.shape[i + 1])) {
        throw new TypeError(
          `Cannot run model on input "${name}" of shape [${t.shape}]: expected [batch, ${want.join(", ")}]`,
        );
      }
    }
    // Fused pairs run only where nothing needs the first one's output: no tape, no capture.
    const fuse = this.#fused.size > 0 && !isRecording();
    for (let i = 0; i < this.#nodes.length; i++) {
      const node = this.#nodes[i];
      const args = node.inputs.map((i) => values.get(i)!);
      const arg = args.length === 1 ? args[0] : args;
      const fused = fuse && !capture.includes(node.name) ? this.#fused.get(i) : undefined;
      if (fused) values.set(this.#nodes[++i].name, fused(arg, ctx));
      else values.set(node.name, node.layer.forward(arg, ctx));
    }
    return {
      outputs: this.#outputs.map((o) => values.get(o)!),
      captured: new Map(capture.map((c) => [c, values.get(c)!])),
    };
  }

  /** Every parameter, named `node.param` (shared layers under the node that owns them). */
  parameters(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const node of this.#nodes) {
      if (node.shares) continue;
      for (const [k, t] of node.layer.parameters()) out.set(`${node.name}.${k}`, t);
    }
    return out;
  }

  /** Per-layer output shape, parameter count and FLOPs, with totals. */
  summary(): ModelSummary {
    const layers = this.#nodes.map((n): SummaryRow => {
      let parameters = 0;
      if (!n.shares) { for (const t of n.layer.parameters().values()) parameters += t.size; }
      const inShape = n.inputShapes.length === 1 ? n.inputShapes[0] : n.inputShapes;
      return {
        name: n.name,
        type: n.layer.type,
        outputShape: n.outputShape.slice(1),
        parameters,
        flops: n.layer.flops?.(inShape) ?? sizeOf(n.outputShape),
      };
    });
    return {
      name: this.spec.name ?? "model",
      layers,
      totalParameters: layers.reduce((s, l) => s + l.parameters, 0),
      totalFlops: layers.reduce((s, l) => s + l.flops, 0),
    };
  }
}

function fmt(s: Shape | readonly Shape[]): string {
  return Array.isArray(s[0]) ? (s as Shape[]).map((x) => `[${x}]`).join(", ") : String(s);
}
