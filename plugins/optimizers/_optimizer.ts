/**
 * Private helper: what `sgd` and `adam` share. The learning rate in force and its schedule, the
 * step counter, gradient checks, and state save/restore; a subclass writes only its update rule.
 *
 * Each update runs inside `noGrad` and `tidy`, so it records nothing on the tape and frees its
 * temporaries whether or not the caller wraps it (as `fit` does). Every gradient is checked before
 * any parameter changes, so a bad call leaves the parameters and state as they were.
 * @module
 */
import { noGrad, type Optimizer, shapesEqual, type Tensor, tidy } from "@cnnlab/core";
import { learningRateAt, type ResolvedSchedule } from "./schedule.ts";
import { Slots } from "./_slots.ts";

/**
 * Whether the parameter's backend has kernels for all of `opNames` (this plugin's fused update ops,
 * present when the plugin is registered); otherwise an optimizer composes core's ops.
 *
 * @param p A parameter, whose device is asked.
 * @param opNames The ops the fused update needs.
 * @returns Whether every kernel is registered.
 */
export function hasFusedKernels(p: Tensor, opNames: readonly string[]): boolean {
  const { registry, backend } = p.device;
  return opNames.every((op) => registry.hasKernel(op, backend.name));
}

/** Base of the optimizers in this package. */
export abstract class ScheduledOptimizer<O extends object> implements Optimizer<O> {
  readonly name: string;
  readonly options: Readonly<O>;
  /** Per-parameter state tensors. */
  protected readonly slots: Slots;
  readonly #baseLr: number;
  readonly #schedule: ResolvedSchedule | undefined;
  #lr: number;
  #step = 0;

  /**
   * @param name The optimizer's registry name.
   * @param options The user's options, kept as given.
   * @param config Base learning rate, resolved schedule and the slot names kept per parameter.
   */
  constructor(
    name: string,
    options: O,
    config: { readonly lr: number; readonly schedule?: ResolvedSchedule; readonly slots: readonly string[] },
  ) {
    this.name = name;
    this.options = options;
    this.#baseLr = config.lr;
    this.#lr = config.lr;
    this.#schedule = config.schedule;
    this.slots = new Slots(name, config.slots);
  }

  /** The learning rate in force: the base rate until `startEpoch` is first called. */
  get learningRate(): number {
    return this.#lr;
  }

  /** Moves the learning rate to the schedule's value for `epoch` (from 1) of `totalEpochs`. */
  startEpoch(epoch: number, totalEpochs: number): void {
    if (!Number.isInteger(epoch) || !Number.isInteger(totalEpochs) || epoch < 1 || epoch > totalEpochs) {
      throw new RangeError(
        `Cannot start epoch ${epoch} of ${totalEpochs} in optimizer ${this.name}: epochs count from 1 up to the total`,
      );
    }
    this.#lr = learningRateAt(this.#schedule, { lr: this.#baseLr, epoch, totalEpochs });
  }

  /** Applies one update to every parameter, in place. */
  step(params: ReadonlyMap<string, Tensor>, grads: ReadonlyMap<string, Tensor>): void {
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) throw new TypeError(`Cannot step ${this.name}: no gradient is given for parameter "${name}"`);
      if (!shapesEqual(g.shape, p.shape)) {
        throw new TypeError(
          `Cannot step ${this.name}: the gradient of "${name}" has shape [${g.shape}], the parameter [${p.shape}]`,
        );
      }
      this.slots.check(name, p);
    }
    const t = this.#step + 1;
    noGrad(() =>
      tidy(() => {
        for (const [name, p] of params) this.update(name, p, grads.get(name)!, { lr: this.#lr, step: t });
      })
    );
    this.#step = t;
  }

  /**
   * Updates one parameter in place (with `p.assign`) and its slots (with `slots.set`).
   *
   * @param name The parameter's name.
   * @param p The parameter.
   * @param g Its gradient.
   * @param at The learning rate in force and the step number, from 1.
   */
  protected abstract update(name: string, p: Tensor, g: Tensor, at: { lr: number; step: number }): void;

  /** The live state tensors (`<param>/<slot>`, owned by the optimizer: do not dispose) and `{ step }`. */
  state(): { tensors: ReadonlyMap<string, Tensor>; scalars: Record<string, number> } {
    return { tensors: this.slots.tensors, scalars: { step: this.#step } };
  }

  /** Restores state from `state()`; the tensors are copied, so the caller still owns them. */
  loadState(state: { tensors: ReadonlyMap<string, Tensor>; scalars: Record<string, number> }): void {
    const step = state.scalars.step;
    if (!Number.isInteger(step) || step < 0) {
      throw new RangeError(
        `Cannot load ${this.name} state: scalar "step" must be a non-negative integer, got ${
          JSON.stringify(step)
        }`,
      );
    }
    this.slots.load(state.tensors);
    this.#step = step;
  }
}
