/**
 * Error classes that callers catch by type.
 * @module
 */

/** Thrown when an op has no kernel on the backend that holds its inputs. */
export class KernelNotFoundError extends Error {
  /** @param message The full one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "KernelNotFoundError";
  }
}

/** Thrown when a plugin cannot be loaded or registered. */
export class PluginError extends Error {
  /** @param message The full one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "PluginError";
  }
}

/** Thrown when training meets a non-finite loss or weight. */
export class TrainingError extends Error {
  /** @param message The full one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}
