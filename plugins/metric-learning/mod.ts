/**
 * `@cnnlab/metric-learning`: losses that shape an embedding space — `contrastive` (pairs), `triplet`
 * (random or semi-hard negatives), `histogram` (Ustinova & Lempitsky), `lda` (Deep LDA, through a
 * differentiable generalized symmetric eigen-solver) — and the pair and triplet
 * samplers they use. Train them with class-balanced batches (the CLI does this for embedding losses).
 *
 * @example Registered losses
 * ```ts
 * import plugin from "@cnnlab/metric-learning";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Object.keys(plugin.provides.losses!), ["contrastive", "triplet", "histogram", "lda"]);
 * ```
 * @module
 */
import { definePlugin, type Plugin } from "@cnnlab/core";
import { contrastive } from "./contrastive.ts";
import { triplet } from "./triplet.ts";
import { histogram } from "./histogram.ts";
import { lda, ldaKernels, ldaOps } from "./lda.ts";
import { generalizedEigenWebgpuKernels } from "./generalized_eigen_webgpu.ts";

export { contrastive, type ContrastiveOptions, resolveContrastiveOptions } from "./contrastive.ts";
export { resolveTripletOptions, triplet, type TripletOptions } from "./triplet.ts";
export { histogram, type HistogramOptions, resolveHistogramOptions } from "./histogram.ts";
export { type Pairs, samplePairs, sampleTriplets, type Triplets } from "./pairs.ts";
export {
  lda,
  ldaKernels,
  ldaOps,
  type LdaOptions,
  ldaScatter,
  type ResolvedLdaOptions,
  resolveLdaOptions,
} from "./lda.ts";
export {
  generalizedEigenvalues,
  generalizedEigenvaluesGrad,
  generalizedEigenvaluesGradOp,
  generalizedEigenvaluesOp,
} from "./generalized_eigen.ts";
export { generalizedEigenvaluesCpu, generalizedEigenvaluesGradCpu } from "./generalized_eigen_cpu.ts";
export {
  generalizedEigenvaluesGradWebgpu,
  generalizedEigenvaluesWebgpu,
  generalizedEigenWebgpuKernels,
  MAX_WEBGPU_EIGEN_SIZE,
} from "./generalized_eigen_webgpu.ts";

/** The metric-learning plugin. */
const plugin: Plugin = definePlugin({
  name: "@cnnlab/metric-learning",
  version: "0.1.0",
  provides: { losses: { contrastive, triplet, histogram, lda }, ops: ldaOps },
  kernels: [...ldaKernels, ...generalizedEigenWebgpuKernels],
});
export default plugin;
