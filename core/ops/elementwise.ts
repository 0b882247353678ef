/**
 * Elementwise primitive ops: broadcasting binary arithmetic, unary maths and scalar forms.
 * @module
 */
import { defineOp, type OpDef } from "../op.ts";
import { broadcastShapes, type Shape } from "../shape.ts";
import { runOp, type Tensor } from "../tensor.ts";
import { broadcastIndex } from "./_broadcast.ts";

type NoAttrs = Record<string, never>;

function binaryOp(
  name: string,
  f: (a: number, b: number) => number,
  grads?: OpDef<NoAttrs>["grads"],
): OpDef<NoAttrs> {
  return defineOp<NoAttrs>({
    name,
    inputs: ["a", "b"],
    outputShape: ([a, b]) => broadcastShapes(a, b),
    reference([a, b], [sa, sb], _attrs, out: Shape) {
      const ia = broadcastIndex(sa, out), ib = broadcastIndex(sb, out);
      const y = new Float32Array(ia.length);
      for (let i = 0; i < y.length; i++) y[i] = f(a[ia[i]], b[ib[i]]);
      return y;
    },
    grads,
  });
}

function unaryOp<A = NoAttrs>(
  name: string,
  f: (x: number, attrs: A) => number,
  grads?: OpDef<A>["grads"],
): OpDef<A> {
  return defineOp<A>({
    name,
    inputs: ["x"],
    outputShape: ([s]) => s,
    reference: ([x], _s, attrs) => x.map((v) => f(v, attrs)),
    grads,
  });
}

/** `a + b` with broadcasting. */
export const addOp: OpDef<NoAttrs> = binaryOp("add", (a, b) => a + b, [({ dy }) => dy, ({ dy }) => dy]);
/** `a − b` with broadcasting. */
export const subOp: OpDef<NoAttrs> = binaryOp("sub", (a, b) => a - b, [({ dy }) => dy, ({ dy }) => neg(dy)]);
/** `a · b` with broadcasting. */
export const mulOp: OpDef<NoAttrs> = binaryOp("mul", (a, b) => a * b, [
  ({ dy, inputs }) => mul(dy, inputs[1]),
  ({ dy, inputs }) => mul(dy, inputs[0]),
]);
/** `a / b` with broadcasting. */
export const divOp: OpDef<NoAttrs> = binaryOp("div", (a, b) => a / b, [
  ({ dy, inputs }) => div(dy, inputs[1]),
  ({ dy, inputs: [a, b] }) => neg(div(mul(dy, a), mul(b, b))),
]);
/** `max(a, b)` with broadcasting; the gradient goes to `a` on ties. */
export const maximumOp: OpDef<NoAttrs> = binaryOp("maximum", (a, b) => (a >= b ? a : b), [
  ({ dy, inputs: [a, b] }) => mul(dy, greaterEqual(a, b)),
  ({ dy, inputs: [a, b] }) => mul(dy, sub(onesLike(a, b), greaterEqual(a, b))),
]);
/** `1` where `a ≥ b`, else `0`; not differentiable. */
export const greaterEqualOp: OpDef<NoAttrs> = binaryOp("greaterEqual", (a, b) => (a >= b ? 1 : 0));

/** `−x`. */
export const negOp: OpDef<NoAttrs> = unaryOp("neg", (x) => -x, [({ dy }) => neg(dy)]);
/** `eˣ`. */
export const expOp: OpDef<NoAttrs> = unaryOp("exp", Math.exp, [({ dy, output }) => mul(dy, output)]);
/** Natural logarithm. */
export const logOp: OpDef<NoAttrs> = unaryOp("log", Math.log, [({ dy, inputs }) => div(dy, inputs[0])]);
/** Square root. */
export const sqrtOp: OpDef<NoAttrs> = unaryOp("sqrt", Math.sqrt, [
  ({ dy, output }) => div(dy, scale(output, 2)),
]);
/** `|x|`; the gradient at 0 is 0. */
export const absOp: OpDef<NoAttrs> = unaryOp("abs", Math.abs, [({ dy, inputs }) => mul(dy, sign(inputs[0]))]);
/** −1, 0 or 1; not differentiable. */
export const signOp: OpDef<NoAttrs> = unaryOp("sign", (x) => (x > 0 ? 1 : x < 0 ? -1 : 0));

/** Attributes of `scale`. */
export interface ScaleAttrs {
  /** The multiplier. */
  readonly factor: number;
}
/** `factor · x`. */
export const scaleOp: OpDef<ScaleAttrs> = unaryOp<ScaleAttrs>("scale", (x, a) => x * a.factor, [
  ({ dy, attrs }) => scale(dy, attrs.factor),
]);
/** Attributes of `addScalar`. */
export interface AddScalarAttrs {
  /** The addend. */
  readonly value: number;
}
/** `x + value`. */
export const addScalarOp: OpDef<AddScalarAttrs> = unaryOp<AddScalarAttrs>(
  "addScalar",
  (x, a) => x + a.value,
  [
    ({ dy }) => dy,
  ],
);
/** Attributes of `pow`. */
export interface PowAttrs {
  /** The exponent. */
  readonly exponent: number;
}
/** `x^exponent` (for a non-integer exponent, `x` must be non-negative). */
export const powOp: OpDef<PowAttrs> = unaryOp<PowAttrs>("pow", (x, a) => Math.pow(x, a.exponent), [
  ({ dy, inputs, attrs }) => mul(dy, scale(pow(inputs[0], { exponent: attrs.exponent - 1 }), attrs.exponent)),
]);

const none = {} as NoAttrs;

/** Adds with broadcasting. @param a Left. @param b Right. @returns `a + b`. */
export function add(a: Tensor, b: Tensor): Tensor {
  return runOp(addOp, [a, b], none);
}
/** Subtracts with broadcasting. @param a Left. @param b Right. @returns `a − b`. */
export function sub(a: Tensor, b: Tensor): Tensor {
  return runOp(subOp, [a, b], none);
}
/** Multiplies with broadcasting. @param a Left. @param b Right. @returns `a · b`. */
export function mul(a: Tensor, b: Tensor): Tensor {
  return runOp(mulOp, [a, b], none);
}
/** Divides with broadcasting. @param a Numerator. @param b Denominator. @returns `a / b`. */
export function div(a: Tensor, b: Tensor): Tensor {
  return runOp(divOp, [a, b], none);
}
/** Elementwise maximum. @param a Left. @param b Right. @returns `max(a, b)`. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return runOp(maximumOp, [a, b], none);
}
/** Elementwise `a ≥ b` as 1/0. @param a Left. @param b Right. @returns The mask. */
export function greaterEqual(a: Tensor, b: Tensor): Tensor {
  return runOp(greaterEqualOp, [a, b], none);
}
/** Negates. @param x Input. @returns `−x`. */
export function neg(x: Tensor): Tensor {
  return runOp(negOp, [x], none);
}
/** Exponential. @param x Input. @returns `eˣ`. */
export function exp(x: Tensor): Tensor {
  return runOp(expOp, [x], none);
}
/** Natural log. @param x Input. @returns `ln x`. */
export function log(x: Tensor): Tensor {
  return runOp(logOp, [x], none);
}
/** Square root. @param x Input. @returns `√x`. */
export function sqrt(x: Tensor): Tensor {
  return runOp(sqrtOp, [x], none);
}
/** Absolute value. @param x Input. @returns `|x|`. */
export function abs(x: Tensor): Tensor {
  return runOp(absOp, [x], none);
}
/** Sign. @param x Input. @returns −1, 0 or 1 per element. */
export function sign(x: Tensor): Tensor {
  return runOp(signOp, [x], none);
}
/** Multiplies by a constant. @param x Input. @param factor Multiplier. @returns `factor · x`. */
export function scale(x: Tensor, factor: number): Tensor {
  return runOp(scaleOp, [x], { factor });
}
/** Adds a constant. @param x Input. @param value Addend. @returns `x + value`. */
export function addScalar(x: Tensor, value: number): Tensor {
  return runOp(addScalarOp, [x], { value });
}
/** Raises to a constant power. @param x Input. @param attrs The exponent. @returns `x^p`. */
export function pow(x: Tensor, attrs: PowAttrs): Tensor {
  return runOp(powOp, [x], attrs);
}

function onesLike(a: Tensor, b: Tensor): Tensor {
  return addScalar(scale(greaterEqual(a, b), 0), 1);
}
