// ec2-init hands out bytes as Uint8Array; Node's readFileSync gives Buffers.
// assert/strict's deepEqual tells them apart, so the tests compare Buffers.
export function buf(b: Uint8Array): Buffer;
export function buf(b: Uint8Array | null | undefined): Buffer | null;
export function buf(b: Uint8Array | null | undefined): Buffer | null {
  return b == null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
