/* Bytes: gzip through the system's zlib, SHA-256 (FIPS 180-4, here: so
 * libcrypto is not loaded for one hash), getrandom(2), and the codecs (UTF-8 with U+FFFD as WHATWG and Node
 * replace, latin-1, base64) — in C because JS versions were 100–400× slower
 * on MiB inputs (DESIGN.md §6). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zlib.h>
#include "host.h"

/* ---- gzip ---- */

/* gunzip(bytes, maxBytes): every member, as Node's gunzipSync reads them (a
 * member follows only where the gzip magic does; other trailing bytes end it). */
static JSValue js_gunzip(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  int64_t max;
  if (JS_ToInt64(ctx, &max, argv[1])) return JS_EXCEPTION;
  if (max < 1) max = 1;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 16) != Z_OK) return host_throw_code(ctx, "gunzip", "ENOMEM", "inflateInit2");
  size_t cap = len * 4 < 65536 ? 65536 : len * 4, size = 0;
  if ((int64_t)cap > max + 1) cap = (size_t)max + 1;
  uint8_t *out = malloc(cap);
  if (!out) {
    inflateEnd(&z);
    return JS_ThrowOutOfMemory(ctx);
  }
  z.next_in = in;
  z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
  const char *err = NULL, *code = "EINVAL";
  for (;;) {
    if (size == cap) {
      if ((int64_t)size > max) { err = "more bytes than allowed"; code = "E2BIG"; break; }
      size_t ncap = cap * 2;
      if ((int64_t)ncap > max + 1) ncap = (size_t)max + 1;
      uint8_t *n = realloc(out, ncap);
      if (!n) { err = "out of memory"; code = "ENOMEM"; break; }
      out = n;
      cap = ncap;
    }
    z.next_out = out + size;
    z.avail_out = (uInt)(cap - size > UINT32_MAX ? UINT32_MAX : cap - size);
    int r = inflate(&z, Z_NO_FLUSH);
    size = (size_t)(z.next_out - out);
    if ((int64_t)size > max) { err = "more bytes than allowed"; code = "E2BIG"; break; }
    if (r == Z_STREAM_END) {
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      break;
    }
    if (r == Z_OK) continue;
    if (r == Z_BUF_ERROR && z.avail_out > 0) { err = "unexpected end of file"; break; }
    if (r == Z_BUF_ERROR) continue;
    err = z.msg ? z.msg : "invalid gzip data";
    break;
  }
  inflateEnd(&z);
  if (err) {
    free(out);
    if (code[1] == '2') {
      char msg[64];
      snprintf(msg, sizeof msg, "more than %lld bytes", (long long)max);
      return host_throw_code(ctx, "gunzip", code, msg);
    }
    return host_throw_code(ctx, "gunzip", code, err);
  }
  uint8_t *shrunk = size ? realloc(out, size) : out;
  return host_new_bytes(ctx, shrunk ? shrunk : out, size);
}

/* gzip(bytes): zlib's default level, no name, mtime 0, OS unix (the bytes Node's gzipSync writes). */
static JSValue js_gzip(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return host_throw_code(ctx, "gzip", "ENOMEM", "deflateInit2");
  size_t cap = deflateBound(&z, len) + 32;
  uint8_t *out = malloc(cap);
  if (!out) {
    deflateEnd(&z);
    return JS_ThrowOutOfMemory(ctx);
  }
  z.next_in = in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  int r = deflate(&z, Z_FINISH);
  size_t size = (size_t)(z.next_out - out);
  deflateEnd(&z);
  if (r != Z_STREAM_END) {
    free(out);
    return host_throw_code(ctx, "gzip", "EIO", "deflate failed");
  }
  return host_new_bytes(ctx, out, size);
}

/* ---- digests and randomness ---- */

static const uint32_t K256[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static JSValue js_sha256(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  size_t i = 0;
  for (; i + 64 <= len; i += 64) sha256_block(h, in + i);
  uint8_t tail[128] = {0};
  size_t rest = len - i;
  memcpy(tail, in + i, rest);
  tail[rest] = 0x80;
  size_t tlen = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int j = 0; j < 8; j++) tail[tlen - 1 - j] = (uint8_t)(bits >> (8 * j));
  sha256_block(h, tail);
  if (tlen == 128) sha256_block(h, tail + 64);
  uint8_t md[32];
  for (int j = 0; j < 8; j++) {
    md[4 * j] = (uint8_t)(h[j] >> 24);
    md[4 * j + 1] = (uint8_t)(h[j] >> 16);
    md[4 * j + 2] = (uint8_t)(h[j] >> 8);
    md[4 * j + 3] = (uint8_t)h[j];
  }
  return host_new_bytes_copy(ctx, md, 32);
}

static const uint64_t K512[80] = {
  0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL, 0x3956c25bf348b538ULL,
  0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL, 0xd807aa98a3030242ULL, 0x12835b0145706fbeULL,
  0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL, 0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL,
  0xc19bf174cf692694ULL, 0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
  0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL, 0x983e5152ee66dfabULL,
  0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL, 0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL,
  0x06ca6351e003826fULL, 0x142929670a0e6e70ULL, 0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL,
  0x53380d139d95b3dfULL, 0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
  0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL, 0xd192e819d6ef5218ULL,
  0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL, 0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL,
  0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL, 0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL,
  0x682e6ff3d6b2b8a3ULL, 0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
  0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL, 0xca273eceea26619cULL,
  0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL, 0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL,
  0x113f9804bef90daeULL, 0x1b710b35131c471bULL, 0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL,
  0x431d67c49c100d4cULL, 0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

#define ROR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static void sha512_block(uint64_t h[8], const uint8_t *p) {
  uint64_t w[80];
  for (int i = 0; i < 16; i++) {
    w[i] = 0;
    for (int j = 0; j < 8; j++) w[i] = w[i] << 8 | p[8 * i + j];
  }
  for (int i = 16; i < 80; i++) {
    uint64_t s0 = ROR64(w[i - 15], 1) ^ ROR64(w[i - 15], 8) ^ (w[i - 15] >> 7);
    uint64_t s1 = ROR64(w[i - 2], 19) ^ ROR64(w[i - 2], 61) ^ (w[i - 2] >> 6);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint64_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 80; i++) {
    uint64_t t1 = k + (ROR64(e, 14) ^ ROR64(e, 18) ^ ROR64(e, 41)) + ((e & f) ^ (~e & g)) + K512[i] + w[i];
    uint64_t t2 = (ROR64(a, 28) ^ ROR64(a, 34) ^ ROR64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

/* SHA-512, for the SHA-512 crypt of a password the platform hands over (Azure's ovf-env.xml). */
static JSValue js_sha512(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  uint64_t h[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
                   0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
  size_t i = 0;
  for (; i + 128 <= len; i += 128) sha512_block(h, in + i);
  uint8_t tail[256] = {0};
  size_t rest = len - i;
  memcpy(tail, in + i, rest);
  tail[rest] = 0x80;
  size_t tlen = rest + 1 + 16 <= 128 ? 128 : 256;
  uint64_t bits = (uint64_t)len * 8;
  for (int j = 0; j < 8; j++) tail[tlen - 1 - j] = (uint8_t)(bits >> (8 * j));
  sha512_block(h, tail);
  if (tlen == 256) sha512_block(h, tail + 128);
  uint8_t md[64];
  for (int j = 0; j < 8; j++)
    for (int b = 0; b < 8; b++) md[8 * j + b] = (uint8_t)(h[j] >> (56 - 8 * b));
  return host_new_bytes_copy(ctx, md, 64);
}

static JSValue js_random_bytes(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int64_t n;
  if (JS_ToInt64(ctx, &n, argv[0])) return JS_EXCEPTION;
  if (n < 0 || n > 1 << 30) return JS_ThrowRangeError(ctx, "randomBytes: bad size");
  uint8_t *buf = malloc(n ? (size_t)n : 1);
  if (!buf) return JS_ThrowOutOfMemory(ctx);
  for (size_t got = 0; got < (size_t)n;) {
    ssize_t r = getrandom(buf + got, (size_t)n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      return host_throw_errno(ctx, "getrandom", e);
    }
    got += (size_t)r;
  }
  return host_new_bytes(ctx, buf, (size_t)n);
}

/* ---- UTF-8 ---- */

/* Length of the valid sequence at s[i] (1–4), or 0 when it is not one;
 * *bad is how many bytes the maximal invalid subpart spans (WHATWG: each becomes one U+FFFD). */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t i, size_t *bad) {
  uint8_t b = s[i];
  if (b < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) need = 1;
  else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  size_t j = i + 1;
  for (size_t k = 0; k < need; k++, j++) {
    if (j >= n || s[j] < lo || s[j] > hi) {
      *bad = j - i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

static int utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0, bad;
  while (i < n) {
    /* ASCII eight at a time. */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    size_t k = utf8_seq(s, n, i, &bad);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

static JSValue js_is_utf8(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  return JS_NewBool(ctx, utf8_valid(in, len));
}

static JSValue js_utf8_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  int fatal = argc > 1 && JS_ToBool(ctx, argv[1]);
  if (utf8_valid(in, len)) return JS_NewStringLen(ctx, (const char *)in, len);
  if (fatal) return host_throw_code(ctx, "utf8Decode", "EILSEQ", "not UTF-8");
  /* Each maximal invalid subpart (1–3 bytes) becomes U+FFFD (3 bytes): at most 3× the input. */
  uint8_t *out = malloc(len * 3 + 1);
  if (!out) return JS_ThrowOutOfMemory(ctx);
  size_t o = 0, i = 0, bad;
  while (i < len) {
    size_t k = utf8_seq(in, len, i, &bad);
    if (k) {
      memcpy(out + o, in + i, k);
      o += k;
      i += k;
    } else {
      out[o++] = 0xEF;
      out[o++] = 0xBF;
      out[o++] = 0xBD;
      i += bad;
    }
  }
  JSValue s = JS_NewStringLen(ctx, (const char *)out, o);
  free(out);
  return s;
}

static JSValue js_utf8_encode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  char *s = host_utf8(ctx, argv[0], &len);
  if (!s) return JS_EXCEPTION;
  JSValue r = host_new_bytes_copy(ctx, (const uint8_t *)s, len);
  js_free(ctx, s);
  return r;
}

/* ---- latin-1 ---- */

static JSValue js_latin1_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  size_t high = 0;
  for (size_t i = 0; i < len; i++) high += in[i] >> 7;
  if (!high) return JS_NewStringLen(ctx, (const char *)in, len);
  uint8_t *out = malloc(len + high);
  if (!out) return JS_ThrowOutOfMemory(ctx);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (in[i] < 0x80) out[o++] = in[i];
    else {
      out[o++] = (uint8_t)(0xC0 | (in[i] >> 6));
      out[o++] = (uint8_t)(0x80 | (in[i] & 0x3F));
    }
  }
  JSValue s = JS_NewStringLen(ctx, (const char *)out, o);
  free(out);
  return s;
}

/* Each UTF-16 code unit's low byte, as Node's Buffer.from(s, 'latin1'). */
static JSValue js_latin1_encode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  const char *s8 = JS_ToCStringLen(ctx, &len, argv[0]);
  if (!s8) return JS_EXCEPTION;
  const uint8_t *s = (const uint8_t *)s8;
  uint8_t *out = malloc(len ? len : 1);
  if (!out) {
    JS_FreeCString(ctx, s8);
    return JS_ThrowOutOfMemory(ctx);
  }
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    uint8_t b = s[i];
    uint32_t cp;
    if (b < 0x80) { cp = b; i += 1; }
    else if (b < 0xE0 && i + 1 < len) { cp = ((b & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu); i += 2; }
    else if (b < 0xF0 && i + 2 < len) { cp = ((b & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu); i += 3; }
    else if (i + 3 < len) {
      cp = ((b & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
      i += 4;
      cp -= 0x10000;
      out[o++] = (uint8_t)(0xD800 + (cp >> 10)); /* low byte of the high surrogate */
      cp = 0xDC00 + (cp & 0x3FF);
    } else { cp = b; i += 1; }
    out[o++] = (uint8_t)cp;
  }
  JS_FreeCString(ctx, s8);
  return host_new_bytes(ctx, out, o);
}

/* ---- base64 ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static JSValue js_base64_encode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  uint8_t *in = host_bytes(ctx, argv[0], &len);
  if (!in) return JS_EXCEPTION;
  size_t olen = (len + 2) / 3 * 4;
  char *out = malloc(olen + 1);
  if (!out) return JS_ThrowOutOfMemory(ctx);
  size_t o = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
    out[o++] = B64[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
    out[o++] = '=';
  }
  JSValue s = JS_NewStringLen(ctx, out, o);
  free(out);
  return s;
}

/* Bytes of a whitespace character (JS's \s) at s[i], or 0. */
static size_t space_at(const uint8_t *s, size_t n, size_t i) {
  uint8_t b = s[i];
  if (b == ' ' || (b >= 0x09 && b <= 0x0D)) return 1;
  if (b == 0xC2 && i + 1 < n && s[i + 1] == 0xA0) return 2;
  if (i + 2 >= n) return 0;
  uint8_t c = s[i + 1], d = s[i + 2];
  if (b == 0xE1 && c == 0x9A && d == 0x80) return 3;
  if (b == 0xE2 && c == 0x80 && ((d >= 0x80 && d <= 0x8A) || d == 0xA8 || d == 0xA9 || d == 0xAF)) return 3;
  if (b == 0xE2 && c == 0x81 && d == 0x9F) return 3;
  if (b == 0xE3 && c == 0x80 && d == 0x80) return 3;
  if (b == 0xEF && c == 0xBB && d == 0xBF) return 3;
  return 0;
}

static JSValue js_base64_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  size_t len;
  const char *s8 = JS_ToCStringLen(ctx, &len, argv[0]);
  if (!s8) return JS_EXCEPTION;
  const uint8_t *s = (const uint8_t *)s8;
  uint8_t *out = malloc(len / 4 * 3 + 3);
  if (!out) {
    JS_FreeCString(ctx, s8);
    return JS_ThrowOutOfMemory(ctx);
  }
  size_t o = 0, pad = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len;) {
    size_t sp = space_at(s, len, i);
    if (sp) { i += sp; continue; }
    uint8_t c = s[i++];
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
      : c == '+' ? 62 : c == '/' ? 63 : c == '=' ? -2 : -1;
    /* Alphabet only, then at most two '=' at the end (whitespace aside). */
    if (v == -1 || (v >= 0 && pad) || (v == -2 && ++pad > 2)) {
      free(out);
      JS_FreeCString(ctx, s8);
      return host_throw_code(ctx, "base64Decode", "EINVAL", "not base64");
    }
    if (v < 0) continue;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  JS_FreeCString(ctx, s8);
  return host_new_bytes(ctx, out, o);
}

const JSCFunctionListEntry host_bytes_funcs[] = {
  JS_CFUNC_DEF("gunzip", 2, js_gunzip),
  JS_CFUNC_DEF("gzip", 1, js_gzip),
  JS_CFUNC_DEF("sha256", 1, js_sha256),
  JS_CFUNC_DEF("sha512", 1, js_sha512),
  JS_CFUNC_DEF("randomBytes", 1, js_random_bytes),
  JS_CFUNC_DEF("isUtf8", 1, js_is_utf8),
  JS_CFUNC_DEF("utf8Decode", 2, js_utf8_decode),
  JS_CFUNC_DEF("utf8Encode", 1, js_utf8_encode),
  JS_CFUNC_DEF("latin1Decode", 1, js_latin1_decode),
  JS_CFUNC_DEF("latin1Encode", 1, js_latin1_encode),
  JS_CFUNC_DEF("base64Encode", 1, js_base64_encode),
  JS_CFUNC_DEF("base64Decode", 1, js_base64_decode),
};
const size_t host_bytes_count = countof(host_bytes_funcs);
