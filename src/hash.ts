// Message digests by name, as Python's hashlib.new(name) gives them, for
// what ec2-init only prints: cloud-init's authkey_hash, the fingerprints of
// authorized keys (sha256 by default, md5 in old configs, sha512 in its
// examples). SHA-256 and SHA-512 are the C host's; MD5 and SHA-1 are here in
// TypeScript (a few hundred bytes of key at a time, so speed does not
// matter). Any other name is null: the caller prints cloud-init's '?'.
import { sha256, sha512 } from './host/codecs.ts';

/** The digest of `data` by a hashlib name (any case), or null for a name not known here. */
export function digest(name: string, data: Uint8Array): Uint8Array | null {
  switch (name.toLowerCase()) {
    case 'md5': return md5(data);
    case 'sha1': return sha1(data);
    case 'sha256': return sha256(data);
    case 'sha512': return sha512(data);
    default: return null;
  }
}

/** The message padded to whole blocks, its bit length at the end (big-endian unless `little`). */
function pad(data: Uint8Array, block: number, lengthBytes: number, little = false): Uint8Array {
  const total = Math.ceil((data.length + 1 + lengthBytes) / block) * block;
  const out = new Uint8Array(total);
  out.set(data);
  out[data.length] = 0x80;
  const bits = data.length * 8;
  for (let i = 0; i < 8; i++) {
    const byte = Math.floor(bits / 2 ** (8 * i)) & 0xff;
    out[little ? total - lengthBytes + i : total - 1 - i] = byte;
  }
  return out;
}

const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));

const MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

function md5(data: Uint8Array): Uint8Array {
  const m = pad(data, 64, 8, true);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const w = new Array<number>(16);
  for (let off = 0; off < m.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = m[off + 4 * i]! | (m[off + 4 * i + 1]! << 8) | (m[off + 4 * i + 2]! << 16) | (m[off + 4 * i + 3]! << 24);
    let [a, b, c, d] = h as [number, number, number, number];
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * i) % 16; }
      const t = d;
      d = c;
      c = b;
      b = (b + rotl((a + f + MD5_K[i]! + w[g]!) | 0, MD5_S[(i >> 4) * 4 + (i % 4)]!)) | 0;
      a = t;
    }
    h[0] = (h[0]! + a) | 0; h[1] = (h[1]! + b) | 0; h[2] = (h[2]! + c) | 0; h[3] = (h[3]! + d) | 0;
  }
  const out = new Uint8Array(16);
  h.forEach((x, i) => { for (let j = 0; j < 4; j++) out[4 * i + j] = (x >>> (8 * j)) & 0xff; });
  return out;
}

function bigEndianWords(h: number[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (h[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
  return out;
}

function readWords(m: Uint8Array, off: number, w: number[], n: number): void {
  for (let i = 0; i < n; i++) w[i] = (m[off + 4 * i]! << 24) | (m[off + 4 * i + 1]! << 16) | (m[off + 4 * i + 2]! << 8) | m[off + 4 * i + 3]!;
}

function sha1(data: Uint8Array): Uint8Array {
  const m = pad(data, 64, 8);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Array<number>(80);
  for (let off = 0; off < m.length; off += 64) {
    readWords(m, off, w, 16);
    for (let i = 16; i < 80; i++) w[i] = rotl(w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!, 1);
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let i = 0; i < 80; i++) {
      const [f, k] = i < 20 ? [(b & c) | (~b & d), 0x5a827999] : i < 40 ? [b ^ c ^ d, 0x6ed9eba1]
        : i < 60 ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc] : [b ^ c ^ d, 0xca62c1d6];
      const t = (rotl(a, 5) + f + e + k + w[i]!) | 0;
      e = d; d = c; c = rotl(b, 30); b = a; a = t;
    }
    h[0] = (h[0]! + a) | 0; h[1] = (h[1]! + b) | 0; h[2] = (h[2]! + c) | 0; h[3] = (h[3]! + d) | 0; h[4] = (h[4]! + e) | 0;
  }
  return bigEndianWords(h, 20);
}
