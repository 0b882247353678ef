/**
 * Private helpers that check optimizer options and build messages naming the optimizer and option.
 * @module
 */

/** Bounds for `numberOption`. */
export interface NumberRule {
  /** Smallest allowed value. */
  readonly min?: number;
  /** Whether `min` itself is excluded. */
  readonly minExclusive?: boolean;
  /** Largest allowed value. */
  readonly max?: number;
  /** Whether `max` itself is excluded. */
  readonly maxExclusive?: boolean;
  /** Whether the value must be an integer. */
  readonly integer?: boolean;
  /** What the rule means, for the message ("a positive number"). */
  readonly says: string;
}

/**
 * Throws if `options` is not a plain object or has a key outside `known`.
 *
 * @param owner "optimizer sgd", for messages.
 * @param options The user's options.
 * @param known The allowed keys.
 * @param prefix Prefix for nested keys ("schedule.").
 * @throws {TypeError} If `options` is not an object.
 * @throws {RangeError} Naming the first unknown key and the known ones.
 */
export function checkKeys(owner: string, options: unknown, known: readonly string[], prefix = ""): void {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      `Cannot create ${owner}: ${
        prefix ? `option "${prefix.slice(0, -1)}"` : "options"
      } must be an object, got ${JSON.stringify(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new RangeError(
        `Cannot create ${owner}: unknown option "${prefix}${key}"; known options are ${
          known.map((k) => prefix + k).join(", ")
        }`,
      );
    }
  }
}

/**
 * Returns `value`, or `fallback` when it is undefined, after checking it against `rule`.
 *
 * @param owner "optimizer sgd", for messages.
 * @param key The option's name.
 * @param value The user's value.
 * @param rule Bounds, and what they mean for the message; `fallback` is the default.
 * @returns The checked value.
 * @throws {RangeError} Naming the owner, the option and the value.
 */
export function numberOption(
  owner: string,
  key: string,
  value: unknown,
  rule: NumberRule & { readonly fallback?: number },
): number {
  const v = value === undefined ? rule.fallback : value;
  const ok = typeof v === "number" && Number.isFinite(v) &&
    (rule.min === undefined || (rule.minExclusive ? v > rule.min : v >= rule.min)) &&
    (rule.max === undefined || (rule.maxExclusive ? v < rule.max : v <= rule.max)) &&
    (!rule.integer || Number.isInteger(v));
  if (!ok) {
    throw new RangeError(
      `Cannot create ${owner}: option "${key}" must be ${rule.says}, got ${JSON.stringify(value)}`,
    );
  }
  return v as number;
}

/**
 * Returns a boolean option, or `fallback` when undefined.
 *
 * @param owner "optimizer sgd", for messages.
 * @param key The option's name.
 * @param value The user's value.
 * @param fallback The default.
 * @returns The checked value.
 * @throws {RangeError} If the value is not a boolean.
 */
export function booleanOption(owner: string, key: string, value: unknown, fallback: boolean): boolean {
  const v = value === undefined ? fallback : value;
  if (typeof v !== "boolean") {
    throw new RangeError(
      `Cannot create ${owner}: option "${key}" must be true or false, got ${JSON.stringify(value)}`,
    );
  }
  return v;
}
