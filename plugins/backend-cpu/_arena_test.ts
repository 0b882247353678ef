import assert from "node:assert/strict";
import { Arena, sizeClass } from "./_arena.ts";

/** An arena over an imaginary memory that records how far it was asked to grow. */
function arena(limit = 1 << 20) {
  let reserved = 0;
  const a = new Arena(100, limit, (bytes) => {
    reserved = Math.max(reserved, bytes);
    return true;
  });
  return { a, reserved: () => reserved };
}

Deno.test("sizeClass() rounds to 64 bytes, then four classes per doubling, never below the request", () => {
  assert.deepEqual([0, 1, 64, 65, 256].map(sizeClass), [64, 64, 64, 128, 256]);
  assert.deepEqual([257, 320, 321, 1000, 1024, 1025].map(sizeClass), [320, 320, 384, 1024, 1024, 1280]);
  for (let b = 1; b < 100000; b = Math.ceil(b * 1.37)) {
    const s = sizeClass(b);
    assert.ok(s >= b && s <= 1.25 * b + 64 && s % 64 === 0, `${b} → ${s}`);
  }
});

Deno.test("Arena: blocks are aligned, disjoint, and a freed block serves the next request of its class", () => {
  const { a } = arena();
  const x = a.allocate(1000), y = a.allocate(1000), z = a.allocate(10);
  assert.equal(x % 64, 0);
  assert.ok(x >= 100 && y >= x + 1000 && z >= y + 1000);
  a.release(y);
  assert.equal(a.allocate(900), y, "a block of the same class is reused");
  assert.equal(a.stats().liveBlocks, 3);
});

Deno.test("Arena: releasing the highest blocks lowers top past free blocks below them", () => {
  const { a } = arena();
  const start = a.top;
  const x = a.allocate(5000), y = a.allocate(300), z = a.allocate(70000);
  a.release(y);
  assert.equal(a.stats().freeBytes, sizeClass(300));
  a.release(z);
  assert.equal(a.top, x + sizeClass(5000), "z and the free y below it went back to the open heap");
  assert.equal(a.stats().freeBytes, 0);
  a.release(x);
  assert.equal(a.top, start);
  assert.deepEqual(a.stats(), { liveBytes: 0, liveBlocks: 0, freeBytes: 0, top: start });
});

Deno.test("Arena: a steady alloc/free pattern stops growing after its first round", () => {
  const { a, reserved } = arena(1 << 30);
  const round = () => {
    const blocks = [4000, 120000, 4000, 50, 9000].map((b) => a.allocate(b));
    for (const b of blocks.reverse()) a.release(b);
  };
  const keep = a.allocate(777);
  round();
  const top = a.top, grown = reserved();
  for (let i = 0; i < 50; i++) round();
  assert.equal(a.top, top);
  assert.equal(reserved(), grown);
  a.release(keep);
});

Deno.test("Arena: past its limit or when the memory cannot grow it returns -1; a double free throws", () => {
  const { a } = arena(4096);
  assert.equal(a.allocate(8192), -1);
  const refusing = new Arena(0, 1 << 30, () => false);
  assert.equal(refusing.allocate(10), -1);
  const x = a.allocate(64);
  a.allocate(64);
  a.release(x);
  assert.throws(() => a.release(x), /freed twice/);
  assert.throws(() => a.release(12345), /not a live block/);
});
