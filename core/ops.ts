/**
 * The primitive ops that autograd and optimizers need. Plugins add their own ops (conv2d, lpPool2d, …).
 * @module
 */
import type { OpDef } from "./op.ts";
import * as e from "./ops/elementwise.ts";
import * as r from "./ops/reduce.ts";
import * as l from "./ops/layout.ts";
import * as m from "./ops/matmul.ts";

export * from "./ops/elementwise.ts";
export * from "./ops/reduce.ts";
export * from "./ops/layout.ts";
export * from "./ops/matmul.ts";

/** Every primitive op contract; a backend must implement all of them. */
export const primitiveOps: readonly OpDef<never>[] = [
  e.addOp,
  e.subOp,
  e.mulOp,
  e.divOp,
  e.maximumOp,
  e.greaterEqualOp,
  e.negOp,
  e.expOp,
  e.logOp,
  e.sqrtOp,
  e.absOp,
  e.signOp,
  e.scaleOp,
  e.addScalarOp,
  e.powOp,
  r.sumOp,
  r.maxOp,
  l.reshapeOp,
  l.transposeOp,
  l.broadcastToOp,
  m.matmulOp,
] as readonly OpDef<never>[];
