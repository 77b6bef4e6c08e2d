/* Helpers shared by the host's files: errors, Uint8Array, strings. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host.h"

JSValue host_throw_code(JSContext *ctx, const char *syscall, const char *code, const char *message) {
  JSValue e = JS_NewError(ctx);
  char buf[1024];
  snprintf(buf, sizeof buf, "%s: %s (%s)", syscall, message, code);
  JS_SetPropertyStr(ctx, e, "message", JS_NewString(ctx, buf));
  JS_SetPropertyStr(ctx, e, "code", JS_NewString(ctx, code));
  JS_SetPropertyStr(ctx, e, "syscall", JS_NewString(ctx, syscall));
  return JS_Throw(ctx, e);
}

JSValue host_throw_errno(JSContext *ctx, const char *syscall, int err) {
  const char *name = strerrorname_np(err);
  char code[32];
  if (!name) {
    snprintf(code, sizeof code, "E%d", err);
    name = code;
  }
  return host_throw_code(ctx, syscall, name, strerror(err));
}

uint8_t *host_bytes(JSContext *ctx, JSValueConst v, size_t *len) {
  size_t off, n, per;
  JSValue ab = JS_GetTypedArrayBuffer(ctx, v, &off, &n, &per);
  if (JS_IsException(ab)) return NULL;
  size_t size;
  uint8_t *p = JS_GetArrayBuffer(ctx, &size, ab);
  JS_FreeValue(ctx, ab);
  if (!p) {
    /* A zero-length buffer may have no storage: still a valid empty view. */
    if (n == 0) {
      JS_FreeValue(ctx, JS_GetException(ctx));
      *len = 0;
      return (uint8_t *)"";
    }
    return NULL;
  }
  *len = n;
  return p + off;
}

static void free_buf(JSRuntime *rt, void *opaque, void *ptr) { free(ptr); }

JSValue host_new_bytes(JSContext *ctx, uint8_t *buf, size_t len) {
  JSValue ab = JS_NewArrayBuffer(ctx, buf, len, free_buf, NULL, 0);
  if (JS_IsException(ab)) {
    free(buf);
    return ab;
  }
  /* The constructor reads (buffer, offset, length) whatever argc says: pass all three. */
  JSValue args[3] = {ab, JS_UNDEFINED, JS_UNDEFINED};
  JSValue u8 = JS_NewTypedArray(ctx, 3, args, JS_TYPED_ARRAY_UINT8);
  JS_FreeValue(ctx, ab);
  return u8;
}

JSValue host_new_bytes_copy(JSContext *ctx, const uint8_t *buf, size_t len) {
  uint8_t *p = malloc(len ? len : 1);
  if (!p) return JS_ThrowOutOfMemory(ctx);
  if (len) memcpy(p, buf, len);
  return host_new_bytes(ctx, p, len);
}

char *host_utf8(JSContext *ctx, JSValueConst v, size_t *plen) {
  size_t len;
  const char *s = JS_ToCStringLen(ctx, &len, v);
  if (!s) return NULL;
  char *out = js_malloc(ctx, len + 1);
  if (!out) {
    JS_FreeCString(ctx, s);
    return NULL;
  }
  memcpy(out, s, len + 1);
  JS_FreeCString(ctx, s);
  /* QuickJS writes a lone surrogate as its 3-byte form (ED A0..BF xx): Node writes U+FFFD (EF BF BD), as WHATWG says. */
  for (size_t i = 0; i + 2 < len; i++) {
    if ((uint8_t)out[i] == 0xED && ((uint8_t)out[i + 1] & 0xE0) == 0xA0) {
      out[i] = (char)0xEF;
      out[i + 1] = (char)0xBF;
      out[i + 2] = (char)0xBD;
      i += 2;
    }
  }
  if (plen) *plen = len;
  return out;
}

int host_write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, -1);
        continue;
      }
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

const char *host_cstring(JSContext *ctx, JSValueConst v, const char *what) {
  if (!JS_IsString(v)) {
    JS_ThrowTypeError(ctx, "%s: not a string", what);
    return NULL;
  }
  size_t len;
  const char *s = JS_ToCStringLen(ctx, &len, v);
  if (!s) return NULL; /* out of memory: the exception is pending */
  if (strlen(s) != len) {
    JS_FreeCString(ctx, s);
    host_throw_code(ctx, what, "EINVAL", "a NUL byte in the string (C would cut it there)");
    return NULL;
  }
  return s;
}

int host_int(JSContext *ctx, JSValueConst v, int64_t min, int64_t max, int64_t *out, const char *what) {
  double d;
  if (!JS_IsNumber(v) || JS_ToFloat64(ctx, &d, v)) {
    if (!JS_HasException(ctx)) JS_ThrowTypeError(ctx, "%s: not a number", what);
    return -1;
  }
  /* NaN fails both comparisons; a fraction or a value out of range is refused, never wrapped or rounded. */
  if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d) {
    JS_ThrowRangeError(ctx, "%s: not an integer in [%lld, %lld]", what, (long long)min, (long long)max);
    return -1;
  }
  *out = (int64_t)d;
  return 0;
}

char **host_strv(JSContext *ctx, JSValueConst arr) {
  int64_t n;
  JSValue lv = JS_GetPropertyStr(ctx, arr, "length");
  int bad = JS_ToInt64(ctx, &n, lv);
  JS_FreeValue(ctx, lv);
  if (bad) return NULL;
  if (n < 0 || n > 1 << 20) {
    JS_ThrowRangeError(ctx, "not a list of strings");
    return NULL;
  }
  char **v = calloc((size_t)n + 1, sizeof *v);
  if (!v) {
    JS_ThrowOutOfMemory(ctx);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) {
    JSValue e = JS_GetPropertyUint32(ctx, arr, (uint32_t)i);
    /* Strings only, and none cut short at a NUL byte: an argument or variable is passed whole or not at all. */
    const char *s = host_cstring(ctx, e, "argument");
    JS_FreeValue(ctx, e);
    if (!s) {
      host_free_strv(v);
      return NULL;
    }
    v[i] = strdup(s);
    JS_FreeCString(ctx, s);
    if (!v[i]) {
      host_free_strv(v);
      JS_ThrowOutOfMemory(ctx);
      return NULL;
    }
  }
  return v;
}

void host_free_strv(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}
