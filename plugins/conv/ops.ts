/**
 * The conv op functions, gathered for `import { convOps } from "@cnnlab/conv"` (like core's `ops`).
 * @module
 */
export { conv2d, conv2dBackpropFilter, conv2dBackpropInput, conv2dBias } from "./conv2d_op.ts";
