/**
 * Private helper: an optimizer's per-parameter state tensors ("slots"), named `<param>/<slot>`.
 *
 * Slot tensors are created as zeros on first use and `keep`-ed so the `tidy` scope around a training
 * step does not free them. An update moves the new value's storage into the slot with
 * `Tensor.assign`, which frees the replaced storage, so the slot object stays the same across steps
 * and memory does not grow. Loaded state is copied, so callers keep ownership of what they pass in.
 * @module
 */
import { keep, noGrad, ops, shapesEqual, type Tensor } from "@cnnlab/core";

/** Per-parameter state tensors of one optimizer. */
export class Slots {
  readonly #optimizer: string;
  readonly #slots: readonly string[];
  readonly #tensors = new Map<string, Tensor>();

  /**
   * @param optimizer The optimizer's name, for messages.
   * @param slots The slot names it keeps per parameter (`momentum`; `m`, `v`).
   */
  constructor(optimizer: string, slots: readonly string[]) {
    this.#optimizer = optimizer;
    this.#slots = slots;
  }

  /**
   * The slot tensor for a parameter, created as zeros when missing.
   *
   * @param param The parameter's name.
   * @param slot The slot name.
   * @param like The parameter (gives shape and device).
   * @returns The live slot tensor (call `check` first).
   */
  get(param: string, slot: string, like: Tensor): Tensor {
    const name = `${param}/${slot}`;
    let t = this.#tensors.get(name);
    if (!t) {
      t = keep(like.device.zeros(like.shape));
      this.#tensors.set(name, t);
    }
    return t;
  }

  /**
   * Checks that every existing slot of a parameter (loaded ones included) matches its shape.
   *
   * @param param The parameter's name.
   * @param like The parameter.
   * @throws {TypeError} Naming the state tensor, the parameter and both shapes.
   */
  check(param: string, like: Tensor): void {
    for (const slot of this.#slots) {
      const name = `${param}/${slot}`;
      const t = this.#tensors.get(name);
      if (t && !shapesEqual(t.shape, like.shape)) {
        throw new TypeError(
          `Cannot step ${this.#optimizer}: state "${name}" has shape [${t.shape}] but parameter "${param}" has [${like.shape}]; load state saved for this model`,
        );
      }
    }
  }

  /**
   * Moves `value` into a slot; `value` is consumed and the replaced storage freed.
   *
   * @param param The parameter's name.
   * @param slot The slot name.
   * @param value The new value, shaped like the slot.
   */
  set(param: string, slot: string, value: Tensor): void {
    this.#tensors.get(`${param}/${slot}`)!.assign(value);
  }

  /** The live slot tensors by name. */
  get tensors(): ReadonlyMap<string, Tensor> {
    return this.#tensors;
  }

  /**
   * Replaces every slot with copies of `tensors`, after checking all of them.
   *
   * @param tensors Named state tensors, as `state()` returned them.
   * @throws {RangeError} If a name is not `<param>/<slot>` for one of this optimizer's slots.
   * @throws {TypeError} If a tensor's shape differs from the current slot of the same name.
   */
  load(tensors: ReadonlyMap<string, Tensor>): void {
    for (const [name, t] of tensors) {
      const cut = name.lastIndexOf("/");
      if (cut <= 0 || !this.#slots.includes(name.slice(cut + 1))) {
        throw new RangeError(
          `Cannot load ${this.#optimizer} state: tensor "${name}" is not <param>/<slot> for a slot of ${this.#optimizer} (${
            this.#slots.map((s) => `"${s}"`).join(", ") || "none with these options"
          }); load state saved by the same optimizer`,
        );
      }
      const current = this.#tensors.get(name);
      if (current && !shapesEqual(current.shape, t.shape)) {
        throw new TypeError(
          `Cannot load ${this.#optimizer} state: tensor "${name}" has shape [${t.shape}], the current state has [${current.shape}]`,
        );
      }
    }
    for (const t of this.#tensors.values()) t.dispose();
    this.#tensors.clear();
    noGrad(() => {
      for (const [name, t] of tensors) this.#tensors.set(name, keep(ops.addScalar(t, 0)));
    });
  }
}
