/**
 * Batched inner products in WebAssembly SIMD (f32x4): `count` rows of `dim`
 * floats against one query. V8 does not vectorise a JavaScript dot product
 * (about one multiply-add per nanosecond); the same loop in 128-bit lanes is
 * several times faster. Used where the outcome index computes dot products in
 * JavaScript on the decision path: projecting the query, re-ranking graph
 * candidates exactly.
 *
 * The module is assembled here from its bytes (a dozen instructions, see
 * `CODE`); each {@link Dots} owns a private linear memory that grows on demand.
 * Sums are in float32 lanes: within ~1e-6 of a float64 sum for unit vectors.
 */

/** The module's one function, `dots(q, rows, count, dim, out)`; byte offsets, `dim` a multiple of 4. */
// prettier-ignore
const CODE = [
  // locals: 4 × i32 (end, p, j, rowEnd = 5..8), 1 × v128 (acc = 9)
  0x02, 0x04, 0x7f, 0x01, 0x7b,
  0x20, 0x03, 0x41, 0x02, 0x74, 0x21, 0x03, // dim <<= 2 (bytes)
  0x20, 0x01, 0x20, 0x02, 0x20, 0x03, 0x6c, 0x6a, 0x21, 0x05, // end = rows + count * dim
  0x20, 0x01, 0x21, 0x06, // p = rows
  0x02, 0x40, 0x03, 0x40, // block, loop (rows)
  0x20, 0x06, 0x20, 0x05, 0x4f, 0x0d, 0x01, // if p >= end: done
  0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x09, // acc = 0
  0x20, 0x00, 0x21, 0x07, // j = q
  0x20, 0x06, 0x20, 0x03, 0x6a, 0x21, 0x08, // rowEnd = p + dim
  0x03, 0x40, // loop (lanes)
  0x20, 0x09, 0x20, 0x06, 0xfd, 0x00, 0x02, 0x00, 0x20, 0x07, 0xfd, 0x00, 0x02, 0x00, 0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, 0x21, 0x09, // acc += p[..4] * j[..4]
  0x20, 0x06, 0x41, 0x10, 0x6a, 0x21, 0x06, // p += 16
  0x20, 0x07, 0x41, 0x10, 0x6a, 0x21, 0x07, // j += 16
  0x20, 0x06, 0x20, 0x08, 0x49, 0x0d, 0x00, // while p < rowEnd
  0x0b,
  0x20, 0x04, // out address
  0x20, 0x09, 0xfd, 0x1f, 0x00, 0x20, 0x09, 0xfd, 0x1f, 0x01, 0x92, 0x20, 0x09, 0xfd, 0x1f, 0x02, 0x92, 0x20, 0x09, 0xfd, 0x1f, 0x03, 0x92, // lane sum
  0x38, 0x02, 0x00, // f32.store
  0x20, 0x04, 0x41, 0x04, 0x6a, 0x21, 0x04, // out += 4
  0x0c, 0x00, // next row
  0x0b, 0x0b, 0x0b,
];

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const name = (s: string) => [s.length, ...Buffer.from(s, 'latin1')];

const BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]), // type: (i32 × 5) -> ()
  ...section(3, [0x01, 0x00]), // one function of type 0
  ...section(5, [0x01, 0x00, 0x01]), // memory, min 1 page
  ...section(7, [0x02, ...name('dots'), 0x00, 0x00, ...name('mem'), 0x02, 0x00]),
  ...section(10, [0x01, ...leb(CODE.length), ...CODE]),
]);

/** The few WebAssembly APIs used (the project's TypeScript libs do not declare them). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let module: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (callers then compute in JavaScript). */
function compiled(): object | null {
  if (module === undefined) {
    try {
      module = Wasm?.validate(BYTES) ? new Wasm.Module(BYTES) : null;
    } catch {
      module = null;
    }
  }
  return module;
}

/** Whether {@link Dots} can be used (WebAssembly SIMD available). */
export function simdAvailable(): boolean {
  return compiled() !== null;
}

/**
 * A private memory and the `dots` kernel. Offsets are in floats.
 *
 * @example
 * const d = new Dots(1024);
 * d.f32.set(query, 0); d.f32.set(rows, 512);
 * d.dots(0, 512, 1, 512, 1000); d.f32[1000]; // the dot product
 */
export class Dots {
  private readonly memory: WasmMemory;
  private readonly fn: (q: number, rows: number, count: number, dim: number, out: number) => void;
  /** A view of the memory (replaced when it grows). */
  f32: Float32Array;

  constructor(floats: number) {
    const mod = compiled();
    if (!mod) throw new Error('WebAssembly SIMD is not available');
    const inst = new Wasm!.Instance(mod, {});
    this.memory = inst.exports['mem'] as WasmMemory;
    this.fn = inst.exports['dots'] as Dots['fn'];
    this.f32 = new Float32Array(this.memory.buffer);
    this.reserve(floats);
  }

  /** Grows the memory to hold at least `floats` floats (the view `f32` is replaced). */
  reserve(floats: number): void {
    const bytes = floats * 4;
    if (bytes <= this.memory.buffer.byteLength) return;
    this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / 65_536));
    this.f32 = new Float32Array(this.memory.buffer);
  }

  /** `out[r] = q · rows[r]` for `count` rows of `dim` floats (offsets in floats; `dim` a multiple of 4). */
  dots(q: number, rows: number, count: number, dim: number, out: number): void {
    if (dim <= 0 || dim % 4 !== 0) throw new Error(`dim ${dim} is not a positive multiple of 4`);
    this.fn(q * 4, rows * 4, count, dim, out * 4);
  }
}
