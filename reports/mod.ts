/**
 * `@cnnlab/reports`: run directories → one self-contained HTML page drawn with d3 (inlined, works
 * offline): learning curves, confusion matrix, per-class accuracy, model summary, throughput and
 * environment, the rerun command, and the inside of the network (filters, feature maps, saliency,
 * Grad-CAM, confused images, embedding scatter); several runs or an experiment grid are compared.
 * @module
 */
export * from "./insights.ts";
export * from "./run_data.ts";
export * from "./experiment.ts";
export * from "./page.ts";
export type { ChartSpec } from "./client.ts";
