/**
 * IEEE 754 half-precision decoding, shared by the safetensors reader, the ONNX initializer reader and the decoder's
 * fp16 outputs. Written by hand: Node 20 has no Float16Array, and this is the whole of what a library would add.
 */

/** Decodes an IEEE half float given as its 16 bits to a number (subnormals, infinities and NaN included). */
export function f16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
