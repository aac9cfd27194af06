/**
 * freeNow detaches the ArrayBuffer under `bytes`, which returns its memory at once instead
 * of at the next garbage collection (V8 lets tens of MB of dead buffers pile up per thread
 * before it collects them). Only for memory the caller owns and no one else reads: every
 * view of the buffer becomes empty. A view of part of a buffer (as Node's pool hands out
 * for small Buffers) is left alone.
 */
export function freeNow(bytes: Uint8Array): void {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength)
    buffer.transfer(0);
}
