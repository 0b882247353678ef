/**
 * Writes ONNX models (protobuf) for the bench's networks, with seeded random weights, so that
 * onnxruntime can run them without a converter or a downloaded file. Only the fields the bench needs
 * are written: a graph of nodes (`Conv`, `Relu`, `MaxPool`, `Flatten`, `Gemm`, `MatMul`), float32
 * initializers as raw little-endian data, inputs and outputs with fixed shapes, opset 13.
 * @module
 */

/** One graph node. */
export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly output: string;
  /** Integer and integer-list attributes. */
  readonly attrs?: Readonly<Record<string, number | readonly number[]>>;
}

/** A graph: float32 inputs and outputs with fixed shapes, nodes and initializers. */
export interface OnnxGraph {
  readonly inputs: Readonly<Record<string, readonly number[]>>;
  readonly outputs: Readonly<Record<string, readonly number[]>>;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: Readonly<Record<string, { dims: readonly number[]; data: Float32Array }>>;
}

const utf8 = new TextEncoder();

/**
 * A message or field as a list of byte chunks, concatenated once at the end: the weights (250 MB for
 * AlexNet) are then copied once, not once per nesting level.
 */
type Chunks = Uint8Array[];

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function length(chunks: Chunks): number {
  return chunks.reduce((s, c) => s + c.length, 0);
}

/** Length-delimited field (wire type 2). */
function bytes(field: number, data: Uint8Array | Chunks): Chunks {
  const chunks = data instanceof Uint8Array ? [data] : data;
  return [Uint8Array.from([...varint((field << 3) | 2), ...varint(length(chunks))]), ...chunks];
}

/** Varint field (wire type 0); non-negative values only. */
function int(field: number, n: number): Chunks {
  return [Uint8Array.from([...varint(field << 3), ...varint(n)])];
}

function str(field: number, s: string): Chunks {
  return bytes(field, utf8.encode(s));
}

// AttributeProto: name 1, i 3, ints 8, type 20 (INT = 2, INTS = 7).
function attribute(name: string, value: number | readonly number[]): Chunks {
  return typeof value === "number"
    ? [...str(1, name), ...int(3, value), ...int(20, 2)]
    : [...str(1, name), ...value.flatMap((v) => int(8, v)), ...int(20, 7)];
}

// ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1 (FLOAT = 1), shape 2 → dim 1 → dim_value 1.
function valueInfo(name: string, dims: readonly number[]): Chunks {
  const shape = dims.flatMap((d) => bytes(1, int(1, d)));
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, 1), ...bytes(2, shape)]))];
}

/**
 * Encodes a graph as an ONNX `ModelProto`.
 *
 * @param graph Inputs, outputs, nodes and initializers.
 * @returns The serialised model.
 */
export function encodeOnnx(graph: OnnxGraph): Uint8Array {
  const parts: Chunks = [];
  // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
  graph.nodes.forEach((n, i) => {
    const attrs = Object.entries(n.attrs ?? {}).flatMap(([k, v]) => bytes(5, attribute(k, v)));
    const inputs = n.inputs.flatMap((s) => str(1, s));
    parts.push(...bytes(1, [...inputs, ...str(2, n.output), ...str(3, `n${i}`), ...str(4, n.op), ...attrs]));
  });
  parts.push(...str(2, "cnnlab-bench"));
  // TensorProto: dims 1, data_type 2 (FLOAT = 1), name 8, raw_data 9.
  for (const [name, { dims, data }] of Object.entries(graph.initializers)) {
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    parts.push(
      ...bytes(5, [...dims.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, name), ...bytes(9, raw)]),
    );
  }
  for (const [name, dims] of Object.entries(graph.inputs)) parts.push(...bytes(11, valueInfo(name, dims)));
  for (const [name, dims] of Object.entries(graph.outputs)) parts.push(...bytes(12, valueInfo(name, dims)));
  // ModelProto: ir_version 1 (7), producer_name 2, graph 7, opset_import 8 → version 2 (13).
  const model = [...int(1, 7), ...str(2, "cnnlab"), ...bytes(7, parts), ...bytes(8, int(2, 13))];
  const out = new Uint8Array(length(model));
  let at = 0;
  for (const c of model) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Builds graphs layer by layer, naming tensors and drawing weights from a seeded generator. */
export class GraphBuilder {
  readonly #nodes: OnnxNode[] = [];
  readonly #initializers: Record<string, { dims: readonly number[]; data: Float32Array }> = {};
  #last: string;
  #count = 0;
  #seed = 1;

  /**
   * Starts a graph at one input.
   *
   * @param input The input tensor's name.
   */
  constructor(input: string) {
    this.#last = input;
  }

  #weights(dims: readonly number[], scale: number): string {
    const data = new Float32Array(dims.reduce((p, d) => p * d, 1));
    let s = this.#seed++ * 0x9e3779b1;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) | 0;
      data[i] = (s / 2 ** 31) * scale;
    }
    const name = `w${this.#count++}`;
    this.#initializers[name] = { dims, data };
    return name;
  }

  #node(op: string, inputs: readonly string[], attrs?: OnnxNode["attrs"]): this {
    const output = `t${this.#count++}`;
    this.#nodes.push({ op, inputs: [this.#last, ...inputs], output, attrs });
    this.#last = output;
    return this;
  }

  /**
   * Adds a convolution with bias.
   *
   * @param cIn Input channels.
   * @param options Filters, square kernel, stride and padding.
   * @returns This builder.
   */
  conv(cIn: number, options: { filters: number; kernel: number; stride?: number; pad?: number }): this {
    const { filters, kernel, stride = 1, pad = 0 } = options;
    const w = this.#weights([filters, cIn, kernel, kernel], Math.sqrt(2 / (cIn * kernel * kernel)));
    const b = this.#weights([filters], 0.01);
    return this.#node("Conv", [w, b], {
      kernel_shape: [kernel, kernel],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
    });
  }

  /**
   * Adds a relu.
   *
   * @returns This builder.
   */
  relu(): this {
    return this.#node("Relu", []);
  }

  /**
   * Adds a square max-pool.
   *
   * @param size Window.
   * @param stride Step.
   * @returns This builder.
   */
  maxPool(size: number, stride: number): this {
    return this.#node("MaxPool", [], { kernel_shape: [size, size], strides: [stride, stride] });
  }

  /**
   * Flattens all but the batch axis.
   *
   * @returns This builder.
   */
  flatten(): this {
    return this.#node("Flatten", [], { axis: 1 });
  }

  /**
   * Adds a dense layer (`Gemm` with a `[units, in]` weight and `transB`).
   *
   * @param inputs Input features.
   * @param units Output features.
   * @returns This builder.
   */
  dense(inputs: number, units: number): this {
    const w = this.#weights([units, inputs], Math.sqrt(2 / inputs));
    const b = this.#weights([units], 0.01);
    return this.#node("Gemm", [w, b], { transB: 1 });
  }

  /**
   * Finishes the graph.
   *
   * @param input The input's shape.
   * @param output The output's shape.
   * @returns The graph, its output named `output`.
   */
  build(input: readonly number[], output: readonly number[]): OnnxGraph {
    const last = this.#nodes.at(-1)!;
    this.#nodes[this.#nodes.length - 1] = { ...last, output: "output" };
    const first = this.#nodes[0].inputs[0];
    return {
      inputs: { [first]: input },
      outputs: { output },
      nodes: this.#nodes,
      initializers: this.#initializers,
    };
  }
}
