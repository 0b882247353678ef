/**
 * The Optimizer contract.
 * @module
 */
import type { Tensor } from "./tensor.ts";

/** Updates parameters from gradients. */
export interface Optimizer<O extends object = object> {
  /** Registry key. */
  readonly name: string;
  /** Options it was created with (learning rate, momentum, schedule…). */
  readonly options: Readonly<O>;
  /** The learning rate in force now. */
  readonly learningRate: number;
  /** Called at the start of each epoch so schedules can move the learning rate. */
  startEpoch(epoch: number, totalEpochs: number): void;
  /** Applies one update; `grads` has one entry per parameter name. */
  step(params: ReadonlyMap<string, Tensor>, grads: ReadonlyMap<string, Tensor>): void;
  /** Named state tensors (momenta…) and counters, for checkpoints. */
  state(): { tensors: ReadonlyMap<string, Tensor>; scalars: Record<string, number> };
  /** Restores state saved by `state()`. */
  loadState(state: { tensors: ReadonlyMap<string, Tensor>; scalars: Record<string, number> }): void;
}

/** Builds an optimizer from options. */
export type OptimizerFactory<O extends object = object> = (options: O) => Optimizer<O>;
