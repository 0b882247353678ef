/**
 * Tensor-level activation functions (each runs one op, recorded for autograd), exported from
 * `@cnnlab/activations` as the namespace `functional`, since the package's plain names are its layers.
 * @module
 */
export { relu, reluGrad } from "./relu.ts";
export { leakyRelu, leakyReluGrad } from "./leaky_relu.ts";
export { elu, eluGrad } from "./elu.ts";
export { prelu, preluAlphaGrad, preluGrad } from "./prelu.ts";
export { maxout, maxoutGrad } from "./maxout.ts";
