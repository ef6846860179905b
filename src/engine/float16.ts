/**
 * IEEE 754 half-precision (and bfloat16) decoding, shared by the safetensors reader, the ONNX initializer reader and the decoder's
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

// One scratch word for bf16ToNumber: a bfloat16 is the top half of a float32, so decoding is a 16-bit shift and a
// reinterpretation (DataView is big-endian by default on both sides, so the host's byte order does not matter).
const bf16Scratch = new DataView(new ArrayBuffer(4));

/** Decodes a bfloat16 given as its 16 bits to a number (the upper half of the float32 with the same bits). */
export function bf16ToNumber(h: number): number {
  bf16Scratch.setUint32(0, (h & 0xffff) << 16);
  return bf16Scratch.getFloat32(0);
}
