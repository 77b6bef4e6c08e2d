// The ovf-env.xml password, hashed as cloud-init hashes it before it goes
// anywhere: SHA-512 crypt ("$6$" + 16 random salt characters, the default
// 5000 rounds; Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"), the
// hash the default user's hashed_passwd gets. The plain password never
// leaves memory. The ~5000 SHA-512 digests are the C host's (sys.sha512): in
// the interpreter they took ~2.4 s, in C they take milliseconds.
import { randomBytes, sha512 } from '../host/codecs.ts';
import { utf8 } from '../bytes.ts';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** `n` bytes of `digest` repeated (the P and S sequences of the spec). */
function repeat(digest: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = digest[i % 64]!;
  return out;
}

/** SHA-512 crypt of `password` with `salt` (at most 16 characters of ./0-9A-Za-z) and 5000 rounds: "$6$salt$hash". */
export function sha512Crypt(password: string, salt: string): string {
  const p = utf8(password);
  const s = utf8(salt.slice(0, 16));
  const b = sha512(cat(p, s, p));
  const aParts = [p, s, repeat(b, p.length)];
  for (let n = p.length; n > 0; n >>>= 1) aParts.push(n & 1 ? b : p);
  let a = sha512(cat(...aParts));
  const dp = sha512(cat(...Array<Uint8Array>(p.length).fill(p)));
  const pSeq = repeat(dp, p.length);
  const ds = sha512(cat(...Array<Uint8Array>(16 + a[0]!).fill(s)));
  const sSeq = repeat(ds, s.length);
  // One buffer for every round's input (a fresh array per round cost more than the digests).
  const buf = new Uint8Array(128 + sSeq.length + 2 * pSeq.length);
  let n = 0;
  const put = (x: Uint8Array): void => { buf.set(x, n); n += x.length; };
  for (let i = 0; i < 5000; i++) {
    n = 0;
    put(i & 1 ? pSeq : a);
    if (i % 3) put(sSeq);
    if (i % 7) put(pSeq);
    put(i & 1 ? a : pSeq);
    a = sha512(buf.subarray(0, n));
  }
  const order = [
    [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7], [50, 8, 29],
    [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57], [37, 58, 16],
    [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
  ];
  let out = '';
  const b64 = (v: number, n: number): void => { for (let i = 0; i < n; i++) { out += ITOA64[v & 63]; v >>>= 6; } };
  for (const [x, y, z] of order) b64((a[x!]! << 16) | (a[y!]! << 8) | a[z!]!, 4);
  b64(a[63]!, 2);
  return `$6$${salt.slice(0, 16)}$${out}`;
}

/** A fresh salt: 16 characters of ./0-9A-Za-z from the host's randomness (as Python's crypt.mksalt). */
export function newSalt(): string {
  let s = '';
  for (const b of randomBytes(16)) s += ITOA64[b & 63];
  return s;
}

export function hashPassword(password: string): string {
  return sha512Crypt(password, newSalt());
}
