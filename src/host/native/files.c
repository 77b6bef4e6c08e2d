/* Files: the *at system calls on descriptors (sys-api.ts "files"), plus the
 * few process facts (pid, uid, host name, cwd, environment, argv, stdio). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "host.h"

/* Descriptors, flags and modes: integers in int's range, never a NaN taken as 0 or a wrapped value
 * (2^32 - 100 would become AT_FDCWD: a path resolved against this process's directory, not the root). */
static int to_int(JSContext *ctx, JSValueConst v, int *out) {
  int64_t n;
  if (host_int(ctx, v, INT32_MIN, INT32_MAX, &n, "argument")) return -1;
  *out = (int)n;
  return 0;
}

#define ARG_INT(i, name)                               \
  int name;                                            \
  if (to_int(ctx, argv[i], &name)) return JS_EXCEPTION;
/* A path argument: a string, whole (one holding a NUL byte is refused: C would cut it there). */
#define ARG_STR(i, name)                                      \
  const char *name = host_cstring(ctx, argv[i], "path");     \
  if (!name) return JS_EXCEPTION;

static JSValue js_openat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, dirfd);
  ARG_INT(2, flags);
  ARG_INT(3, mode);
  ARG_STR(1, path);
  int fd;
  do fd = openat(dirfd, path, flags | O_CLOEXEC, (mode_t)mode);
  while (fd < 0 && errno == EINTR);
  int err = errno;
  JS_FreeCString(ctx, path);
  if (fd < 0) return host_throw_errno(ctx, "openat", err);
  return JS_NewInt32(ctx, fd);
}

static JSValue js_close(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  if (close(fd) < 0 && errno != EINTR) return host_throw_errno(ctx, "close", errno);
  return JS_UNDEFINED;
}

/* read(fd, buf, offset, length, position): pread when position >= 0. */
static JSValue js_read(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  size_t len;
  uint8_t *buf = host_bytes(ctx, argv[1], &len);
  if (!buf) return JS_EXCEPTION;
  int64_t off, n, pos;
  if (host_int(ctx, argv[2], 0, HOST_MAX_SAFE, &off, "read offset") || host_int(ctx, argv[3], 0, HOST_MAX_SAFE, &n, "read length") ||
      host_int(ctx, argv[4], -1, HOST_MAX_SAFE, &pos, "read position")) return JS_EXCEPTION;
  if ((uint64_t)off + (uint64_t)n > len) return JS_ThrowRangeError(ctx, "read: outside the buffer"); /* off, n >= 0: host_int */
  ssize_t r;
  do r = pos >= 0 ? pread(fd, buf + off, (size_t)n, (off_t)pos) : read(fd, buf + off, (size_t)n);
  while (r < 0 && errno == EINTR);
  if (r < 0) return host_throw_errno(ctx, "read", errno);
  return JS_NewInt64(ctx, r);
}

static JSValue js_write(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  size_t len;
  uint8_t *buf = host_bytes(ctx, argv[1], &len);
  if (!buf) return JS_EXCEPTION;
  int64_t off, n;
  if (host_int(ctx, argv[2], 0, HOST_MAX_SAFE, &off, "write offset") || host_int(ctx, argv[3], 0, HOST_MAX_SAFE, &n, "write length")) return JS_EXCEPTION;
  if ((uint64_t)off + (uint64_t)n > len) return JS_ThrowRangeError(ctx, "write: outside the buffer"); /* off, n >= 0: host_int */
  ssize_t r;
  do r = write(fd, buf + off, (size_t)n);
  while (r < 0 && errno == EINTR);
  if (r < 0) return host_throw_errno(ctx, "write", errno);
  return JS_NewInt64(ctx, r);
}

/* writeAll(fd, bytes | string): stdout and stderr, waiting out a full non-blocking pipe; errors dropped (the reader is gone). */
static JSValue js_write_all(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  if (JS_IsString(argv[1])) {
    size_t len;
    char *s = host_utf8(ctx, argv[1], &len);
    if (!s) return JS_EXCEPTION;
    host_write_all(fd, (const uint8_t *)s, len);
    js_free(ctx, s);
  } else {
    size_t len;
    uint8_t *b = host_bytes(ctx, argv[1], &len);
    if (!b) return JS_EXCEPTION;
    host_write_all(fd, b, len);
  }
  return JS_UNDEFINED;
}

static JSValue js_fsync(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  if (fsync(fd) < 0) return host_throw_errno(ctx, "fsync", errno);
  return JS_UNDEFINED;
}

static JSValue js_syncfs(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  if (syncfs(fd) < 0) return host_throw_errno(ctx, "syncfs", errno);
  return JS_UNDEFINED;
}

static JSValue stat_object(JSContext *ctx, const struct stat *st) {
  const char *kind = S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "dir" : S_ISLNK(st->st_mode) ? "link"
    : S_ISBLK(st->st_mode) ? "block" : S_ISCHR(st->st_mode) ? "char" : S_ISFIFO(st->st_mode) ? "fifo" : "socket";
  JSValue o = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, o, "kind", JS_NewString(ctx, kind));
  JS_SetPropertyStr(ctx, o, "perm", JS_NewInt32(ctx, (int32_t)(st->st_mode & 07777)));
  JS_SetPropertyStr(ctx, o, "uid", JS_NewInt64(ctx, st->st_uid));
  JS_SetPropertyStr(ctx, o, "gid", JS_NewInt64(ctx, st->st_gid));
  JS_SetPropertyStr(ctx, o, "size", JS_NewInt64(ctx, st->st_size));
  JS_SetPropertyStr(ctx, o, "nlink", JS_NewInt64(ctx, (int64_t)st->st_nlink));
  JS_SetPropertyStr(ctx, o, "dev", JS_NewFloat64(ctx, (double)st->st_dev));
  JS_SetPropertyStr(ctx, o, "ino", JS_NewFloat64(ctx, (double)st->st_ino));
  /* The kernel's old encoding (major << 8 | minor), as Node reports it for small numbers. */
  JS_SetPropertyStr(ctx, o, "rdev", JS_NewFloat64(ctx, (double)st->st_rdev));
  JS_SetPropertyStr(ctx, o, "mtimeMs", JS_NewFloat64(ctx, (double)st->st_mtim.tv_sec * 1e3 + (double)st->st_mtim.tv_nsec / 1e6));
  return o;
}

static JSValue js_fstat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  struct stat st;
  if (fstat(fd, &st) < 0) return host_throw_errno(ctx, "fstat", errno);
  return stat_object(ctx, &st);
}

static JSValue js_fstatat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, dirfd);
  int nofollow = JS_ToBool(ctx, argv[2]);
  ARG_STR(1, path);
  struct stat st;
  int r = fstatat(dirfd, path, &st, (nofollow ? AT_SYMLINK_NOFOLLOW : 0) | (*path ? 0 : AT_EMPTY_PATH));
  int err = errno;
  JS_FreeCString(ctx, path);
  if (r < 0) return host_throw_errno(ctx, "fstatat", err);
  return stat_object(ctx, &st);
}

static JSValue js_fchmod(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  ARG_INT(1, mode);
  if (fchmod(fd, (mode_t)mode) < 0) return host_throw_errno(ctx, "fchmod", errno);
  return JS_UNDEFINED;
}

static JSValue js_fchown(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  int64_t uid, gid;
  /* Never -1 ("leave as is") or a NaN taken as 0 (root): an owner is a real id or the call fails. */
  if (host_int(ctx, argv[1], 0, 0xfffffffe, &uid, "fchown uid") || host_int(ctx, argv[2], 0, 0xfffffffe, &gid, "fchown gid")) return JS_EXCEPTION;
  if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0) return host_throw_errno(ctx, "fchown", errno);
  return JS_UNDEFINED;
}

static JSValue js_mkdirat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, dirfd);
  ARG_INT(2, mode);
  ARG_STR(1, path);
  int r = mkdirat(dirfd, path, (mode_t)mode);
  int err = errno;
  JS_FreeCString(ctx, path);
  if (r < 0) return host_throw_errno(ctx, "mkdirat", err);
  return JS_UNDEFINED;
}

static JSValue js_unlinkat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, dirfd);
  int dir = JS_ToBool(ctx, argv[2]);
  ARG_STR(1, path);
  int r = unlinkat(dirfd, path, dir ? AT_REMOVEDIR : 0);
  int err = errno;
  JS_FreeCString(ctx, path);
  if (r < 0) return host_throw_errno(ctx, "unlinkat", err);
  return JS_UNDEFINED;
}

static JSValue js_renameat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, olddirfd);
  ARG_INT(2, newdirfd);
  ARG_STR(1, oldpath);
  const char *newpath = host_cstring(ctx, argv[3], "path");
  if (!newpath) {
    JS_FreeCString(ctx, oldpath);
    return JS_EXCEPTION;
  }
  int r = renameat(olddirfd, oldpath, newdirfd, newpath);
  int err = errno;
  JS_FreeCString(ctx, oldpath);
  JS_FreeCString(ctx, newpath);
  if (r < 0) return host_throw_errno(ctx, "renameat", err);
  return JS_UNDEFINED;
}

static JSValue js_symlinkat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(1, dirfd);
  ARG_STR(0, target);
  const char *path = host_cstring(ctx, argv[2], "path");
  if (!path) {
    JS_FreeCString(ctx, target);
    return JS_EXCEPTION;
  }
  int r = symlinkat(target, dirfd, path);
  int err = errno;
  JS_FreeCString(ctx, target);
  JS_FreeCString(ctx, path);
  if (r < 0) return host_throw_errno(ctx, "symlinkat", err);
  return JS_UNDEFINED;
}

static JSValue js_readlinkat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, dirfd);
  ARG_STR(1, path);
  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat(dirfd, path, buf, sizeof buf - 1);
  int err = errno;
  JS_FreeCString(ctx, path);
  if (n < 0) return host_throw_errno(ctx, "readlinkat", err);
  /* Node decodes the bytes as UTF-8 (invalid sequences become U+FFFD); QuickJS does the same for JS_NewStringLen. */
  return JS_NewStringLen(ctx, buf, (size_t)n);
}

/* The names in a directory, read on a duplicate so the caller's descriptor stays as it was. */
static JSValue js_readdir(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  int dupfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dupfd < 0) return host_throw_errno(ctx, "readdir", errno);
  DIR *d = fdopendir(dupfd);
  if (!d) {
    int err = errno;
    close(dupfd);
    return host_throw_errno(ctx, "readdir", err);
  }
  JSValue arr = JS_NewArray(ctx);
  uint32_t i = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) break;
    if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
    JS_SetPropertyUint32(ctx, arr, i++, JS_NewString(ctx, e->d_name));
  }
  int err = errno;
  closedir(d);
  if (err) {
    JS_FreeValue(ctx, arr);
    return host_throw_errno(ctx, "readdir", err);
  }
  return arr;
}

static JSValue js_flock(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  int exclusive = JS_ToBool(ctx, argv[1]);
  int wait = JS_ToBool(ctx, argv[2]);
  int r;
  do r = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
  while (r < 0 && errno == EINTR);
  if (r == 0) return JS_TRUE;
  if (errno == EWOULDBLOCK) return JS_FALSE;
  return host_throw_errno(ctx, "flock", errno);
}

static JSValue js_fstatfs(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_INT(0, fd);
  struct statfs s;
  if (fstatfs(fd, &s) < 0) return host_throw_errno(ctx, "fstatfs", errno);
  JSValue o = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, o, "type", JS_NewFloat64(ctx, (double)(unsigned long)s.f_type));
  JS_SetPropertyStr(ctx, o, "bsize", JS_NewFloat64(ctx, (double)s.f_bsize));
  JS_SetPropertyStr(ctx, o, "blocks", JS_NewFloat64(ctx, (double)s.f_blocks));
  JS_SetPropertyStr(ctx, o, "bfree", JS_NewFloat64(ctx, (double)s.f_bfree));
  return o;
}

/* ---- the process itself ---- */

static JSValue js_argv(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  JSValue arr = JS_NewArray(ctx);
  for (int i = 0; i < host_argc; i++) JS_SetPropertyUint32(ctx, arr, (uint32_t)i, JS_NewString(ctx, host_argv[i]));
  return arr;
}

static JSValue js_getenv(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  ARG_STR(0, name);
  const char *v = getenv(name);
  JS_FreeCString(ctx, name);
  return v ? JS_NewString(ctx, v) : JS_UNDEFINED;
}

static JSValue js_getcwd(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf)) return host_throw_errno(ctx, "getcwd", errno);
  return JS_NewString(ctx, buf);
}

static JSValue js_hostname(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  char buf[256];
  if (gethostname(buf, sizeof buf) < 0) return host_throw_errno(ctx, "gethostname", errno);
  buf[sizeof buf - 1] = 0;
  return JS_NewString(ctx, buf);
}

static JSValue js_getpid(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) { return JS_NewInt32(ctx, getpid()); }
static JSValue js_getuid(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) { return JS_NewInt64(ctx, getuid()); }

const JSCFunctionListEntry host_files_funcs[] = {
  JS_PROP_INT32_DEF("AT_FDCWD", AT_FDCWD, 0),
  JS_CFUNC_DEF("openat", 4, js_openat),
  JS_CFUNC_DEF("close", 1, js_close),
  JS_CFUNC_DEF("read", 5, js_read),
  JS_CFUNC_DEF("write", 4, js_write),
  JS_CFUNC_DEF("writeAll", 2, js_write_all),
  JS_CFUNC_DEF("fsync", 1, js_fsync),
  JS_CFUNC_DEF("syncfs", 1, js_syncfs),
  JS_CFUNC_DEF("fstat", 1, js_fstat),
  JS_CFUNC_DEF("fstatat", 3, js_fstatat),
  JS_CFUNC_DEF("fchmod", 2, js_fchmod),
  JS_CFUNC_DEF("fchown", 3, js_fchown),
  JS_CFUNC_DEF("mkdirat", 3, js_mkdirat),
  JS_CFUNC_DEF("unlinkat", 3, js_unlinkat),
  JS_CFUNC_DEF("renameat", 4, js_renameat),
  JS_CFUNC_DEF("symlinkat", 3, js_symlinkat),
  JS_CFUNC_DEF("readlinkat", 2, js_readlinkat),
  JS_CFUNC_DEF("readdir", 1, js_readdir),
  JS_CFUNC_DEF("flock", 3, js_flock),
  JS_CFUNC_DEF("fstatfs", 1, js_fstatfs),
  JS_CFUNC_DEF("argv", 0, js_argv),
  JS_CFUNC_DEF("getenv", 1, js_getenv),
  JS_CFUNC_DEF("getcwd", 0, js_getcwd),
  JS_CFUNC_DEF("hostname", 0, js_hostname),
  JS_CFUNC_DEF("getpid", 0, js_getpid),
  JS_CFUNC_DEF("getuid", 0, js_getuid),
};
const size_t host_files_count = countof(host_files_funcs);
