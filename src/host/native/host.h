/* The C host of ec2-init's QuickJS executable (DESIGN.md §6): the only code
 * that touches the machine. Each file registers its functions in the one C
 * module "ec2-init:host"; src/host/qjs-sys.ts turns them into the Sys
 * interface of src/host/sys-api.ts. Conventions:
 * - a failed call throws an Error with .code (errno name) and .syscall;
 * - bytes are Uint8Array (host_bytes / host_new_bytes);
 * - nothing blocks except file calls: sockets, pipes and child exits are
 *   watched by the event loop of main.c (host_set_handler, timers). */
#ifndef EC2_INIT_HOST_H
#define EC2_INIT_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "quickjs.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

/* Throw an Error "syscall: strerror (ECODE)" with .code and .syscall. */
JSValue host_throw_errno(JSContext *ctx, const char *syscall, int err);
/* Throw an Error "syscall: message (code)" with .code and .syscall. */
JSValue host_throw_code(JSContext *ctx, const char *syscall, const char *code, const char *message);

/* The bytes of a Uint8Array (a view: valid while the array is). NULL with an exception pending when not one. */
uint8_t *host_bytes(JSContext *ctx, JSValueConst v, size_t *len);
/* A Uint8Array that takes ownership of buf (malloc'd; NULL allowed when len is 0). */
JSValue host_new_bytes(JSContext *ctx, uint8_t *buf, size_t len);
JSValue host_new_bytes_copy(JSContext *ctx, const uint8_t *buf, size_t len);
/* A JS string as UTF-8, lone surrogates replaced by U+FFFD (as Node's Buffer.from(s, 'utf8') does). Free with js_free. */
char *host_utf8(JSContext *ctx, JSValueConst v, size_t *len);
/* Write all of buf to fd, waiting when it is non-blocking and full. 0, or -1 with errno. */
int host_write_all(int fd, const uint8_t *buf, size_t len);
/* A JS string as a C string (free with JS_FreeCString); NULL with an exception pending when it is
 * not a string, cannot be converted (out of memory) or holds a NUL byte (C would cut it there).
 * Every string that names something (a path, a chroot, a host) comes through here: a conversion
 * that fails must fail the call, never make it act on less than it was asked to. */
const char *host_cstring(JSContext *ctx, JSValueConst v, const char *what);
/* A JS number that is an integer in [min, max], into *out: 0; else -1 with a TypeError or
 * RangeError pending (no NaN → 0, no wrapping: 2^32 - 100 is not AT_FDCWD). */
#define HOST_MAX_SAFE ((int64_t)1 << 53) /* JS numbers are exact integers up to here */
int host_int(JSContext *ctx, JSValueConst v, int64_t min, int64_t max, int64_t *out, const char *what);
/* A JS string array as a NULL-terminated vector of malloc'd strings (host_free_strv frees). */
char **host_strv(JSContext *ctx, JSValueConst arr);
void host_free_strv(char **v);

/* The event loop (main.c). Handlers are called with no arguments. */
void host_set_handler(JSContext *ctx, int fd, int write, JSValueConst fn);
double host_now_ms(void);

extern const JSCFunctionListEntry host_files_funcs[];
extern const size_t host_files_count;
extern const JSCFunctionListEntry host_proc_funcs[];
extern const size_t host_proc_count;
extern const JSCFunctionListEntry host_net_funcs[];
extern const size_t host_net_count;
extern const JSCFunctionListEntry host_bytes_funcs[];
extern const size_t host_bytes_count;
extern const JSCFunctionListEntry host_loop_funcs[];
extern const size_t host_loop_count;

/* main.c: the arguments the program was started with. */
extern int host_argc;
extern char **host_argv;

#endif
