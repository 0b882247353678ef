/**
 * cnnlab for local use: everything in `@cnnlab/cnnlab` (core plus the default plugins).
 * @module
 */
export * from "@cnnlab/cnnlab";
export { default } from "@cnnlab/cnnlab";
