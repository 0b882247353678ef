/** The version of `@cnnlab/core`; plugins state which core they were built for. */
export const CORE_VERSION = "0.1.0";
