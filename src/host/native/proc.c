/* Processes: fork/exec chrooted into the root, in a session (and process
 * group) of its own, with pipes; a pidfd tells the event loop when the
 * program has exited. The waiting, timeouts and linger are in qjs-sys.ts,
 * over these calls and the loop's handlers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "host.h"

extern char **environ;

static int signal_number(const char *name) {
  if (strncmp(name, "SIG", 3) == 0) name += 3;
  for (int s = 1; s < NSIG; s++) {
    const char *abbrev = sigabbrev_np(s);
    if (abbrev && strcmp(abbrev, name) == 0) return s;
  }
  return -1;
}

static JSValue signal_name(JSContext *ctx, int s) {
  const char *abbrev = sigabbrev_np(s);
  char buf[32];
  if (abbrev) snprintf(buf, sizeof buf, "SIG%s", abbrev);
  else snprintf(buf, sizeof buf, "SIG%d", s);
  return JS_NewString(ctx, buf);
}

/* In the child: report why it could not start (the step and errno), then end with 127. */
static void child_fail(int errfd, char step, int err) {
  char msg[1 + sizeof err];
  msg[0] = step;
  memcpy(msg + 1, &err, sizeof err);
  (void)!write(errfd, msg, sizeof msg);
  _exit(127);
}

/* spawn(argv, env, chroot|null, cwd|null, stdin: bool, capture: bool)
 * → [pid, pidfd, stdinFd, outFd, errFd] (-1 for what is absent), or a string:
 *   why the program could not be started (the child is reaped already). */
static JSValue js_spawn(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  char **args = host_strv(ctx, argv[0]);
  if (!args) return JS_EXCEPTION;
  if (!args[0]) {
    host_free_strv(args);
    return JS_ThrowTypeError(ctx, "spawn: empty argv");
  }
  char **envp = host_strv(ctx, argv[1]);
  if (!envp) {
    host_free_strv(args);
    return JS_EXCEPTION;
  }
  /* Fail closed: a chroot (or cwd) that is given but is not a string, cannot be converted (out of
   * memory) or holds a NUL byte ("/\0tmp/root" would be chroot("/")) stops the call here, before
   * any fork: a program never runs less confined than it was asked to. Only null or undefined
   * mean "none". */
  const char *root = NULL, *cwd = NULL;
  if (!JS_IsNull(argv[2]) && !JS_IsUndefined(argv[2]) && !(root = host_cstring(ctx, argv[2], "spawn chroot"))) {
    host_free_strv(args);
    host_free_strv(envp);
    return JS_EXCEPTION;
  }
  if (!JS_IsNull(argv[3]) && !JS_IsUndefined(argv[3]) && !(cwd = host_cstring(ctx, argv[3], "spawn cwd"))) {
    if (root) JS_FreeCString(ctx, root);
    host_free_strv(args);
    host_free_strv(envp);
    return JS_EXCEPTION;
  }
  int want_stdin = JS_ToBool(ctx, argv[4]);
  int capture = JS_ToBool(ctx, argv[5]);
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
  int devnull = -1;
  JSValue result = JS_EXCEPTION;
  int failed_errno = 0;
  const char *failed_call = NULL;

  if ((want_stdin ? pipe2(in, O_CLOEXEC) : (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0 ||
      pipe2(out, O_CLOEXEC) < 0 || (capture && pipe2(err, O_CLOEXEC) < 0) || pipe2(report, O_CLOEXEC) < 0) {
    failed_errno = errno;
    failed_call = "pipe";
    goto done;
  }
  pid_t pid = fork();
  if (pid < 0) {
    failed_errno = errno;
    failed_call = "fork";
    goto done;
  }
  if (pid == 0) {
    /* The child: only async-signal-safe calls from here (other threads may have held locks). */
    close(report[0]);
    if (setsid() < 0) child_fail(report[1], 's', errno);
    if (dup2(want_stdin ? in[0] : devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(capture ? err[1] : out[1], 2) < 0)
      child_fail(report[1], 'd', errno);
    if (root && chroot(root) < 0) child_fail(report[1], 'r', errno);
    if (chdir("/") < 0) child_fail(report[1], 'c', errno);
    if (cwd && chdir(cwd) < 0) child_fail(report[1], 'c', errno);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPIPE, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* execvp searches PATH of the program's own environment (inside the chroot). */
    environ = envp;
    execvp(args[0], args);
    child_fail(report[1], 'e', errno);
  }
  close(report[1]);
  report[1] = -1;
  char msg[1 + sizeof(int)];
  ssize_t n;
  do n = read(report[0], msg, sizeof msg);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof msg) {
    int e;
    memcpy(&e, msg + 1, sizeof e);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    const char *step = msg[0] == 'r' ? "chroot" : msg[0] == 'c' ? "chdir" : msg[0] == 'e' ? "execvp" : msg[0] == 's' ? "setsid" : "dup2";
    char text[512];
    snprintf(text, sizeof text, "%s: %s", step, strerror(e));
    result = JS_NewString(ctx, text);
    goto done;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (want_stdin) fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  if (capture) fcntl(err[0], F_SETFL, O_NONBLOCK);
  result = JS_NewArray(ctx);
  JS_SetPropertyUint32(ctx, result, 0, JS_NewInt32(ctx, pid));
  JS_SetPropertyUint32(ctx, result, 1, JS_NewInt32(ctx, pidfd));
  JS_SetPropertyUint32(ctx, result, 2, JS_NewInt32(ctx, in[1]));
  JS_SetPropertyUint32(ctx, result, 3, JS_NewInt32(ctx, out[0]));
  JS_SetPropertyUint32(ctx, result, 4, JS_NewInt32(ctx, err[0]));
  in[1] = out[0] = err[0] = -1; /* now the caller's */

done:
  for (int *fd = (int[]){in[0], in[1], out[0], out[1], err[0], err[1], report[0], report[1], devnull}, i = 0; i < 9; i++) {
    if (fd[i] >= 0) close(fd[i]);
  }
  host_free_strv(args);
  host_free_strv(envp);
  if (root) JS_FreeCString(ctx, root);
  if (cwd) JS_FreeCString(ctx, cwd);
  if (failed_call) return host_throw_errno(ctx, failed_call, failed_errno);
  return result;
}

/* waitpid(pid) without waiting: null while it runs, else [code|null, signal|null]. */
static JSValue js_waitpid(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int status;
  int64_t p;
  /* A child's pid: never 0 or -1 (any child), or a wrapped number. */
  if (host_int(ctx, argv[0], 1, INT32_MAX, &p, "waitpid pid")) return JS_EXCEPTION;
  pid_t pid = (pid_t)p;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r < 0) return host_throw_errno(ctx, "waitpid", errno);
  if (r == 0) return JS_NULL;
  JSValue a = JS_NewArray(ctx);
  JS_SetPropertyUint32(ctx, a, 0, WIFEXITED(status) ? JS_NewInt32(ctx, WEXITSTATUS(status)) : JS_NULL);
  JS_SetPropertyUint32(ctx, a, 1, WIFSIGNALED(status) ? signal_name(ctx, WTERMSIG(status)) : JS_NULL);
  return a;
}

/* kill(pid, 'SIGKILL' | 0) → false when there is no such process. */
static JSValue js_kill(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int sig = 0;
  int64_t p;
  /* A process or a group (-pid): never 0 (our own group) or -1 (every process we may signal),
   * and never a NaN taken as 0 or a wrapped number. */
  if (host_int(ctx, argv[0], -INT32_MAX, INT32_MAX, &p, "kill pid")) return JS_EXCEPTION;
  if (p == 0 || p == -1) return host_throw_code(ctx, "kill", "EINVAL", "pid 0 and -1 are not one process or group");
  pid_t pid = (pid_t)p;
  if (JS_IsString(argv[1])) {
    const char *name = JS_ToCString(ctx, argv[1]);
    if (!name) return JS_EXCEPTION;
    sig = signal_number(name);
    JS_FreeCString(ctx, name);
    if (sig < 0) return host_throw_code(ctx, "kill", "EINVAL", "unknown signal");
  } else {
    int64_t n;
    if (host_int(ctx, argv[1], 0, 0, &n, "kill signal")) return JS_EXCEPTION; /* by name, or 0 */
  }
  if (kill(pid, sig) == 0) return JS_TRUE;
  if (errno == ESRCH) return JS_FALSE;
  if (errno == EPERM) return JS_TRUE; /* it exists, just not ours */
  return host_throw_errno(ctx, "kill", errno);
}

/* spawnDetached(argv, env) → pid: its own session, stdio on /dev/null, never waited for. */
static JSValue js_spawn_detached(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  char **args = host_strv(ctx, argv[0]);
  if (!args) return JS_EXCEPTION;
  char **envp = host_strv(ctx, argv[1]);
  if (!envp || !args[0]) {
    host_free_strv(args);
    host_free_strv(envp);
    return envp ? JS_ThrowTypeError(ctx, "spawnDetached: empty argv") : JS_EXCEPTION;
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = devnull < 0 ? -1 : fork();
  if (pid == 0) {
    setsid();
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (chdir("/") < 0) _exit(127);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPIPE, &dfl, NULL);
    environ = envp;
    execvp(args[0], args);
    _exit(127);
  }
  int e = errno;
  if (devnull >= 0) close(devnull);
  host_free_strv(args);
  host_free_strv(envp);
  if (pid < 0) return host_throw_errno(ctx, "fork", e);
  return JS_NewInt32(ctx, pid);
}

/* readNB(fd, max) → Uint8Array, null at the end, false when nothing is there yet. */
static JSValue js_read_nb(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int64_t fd, max;
  if (host_int(ctx, argv[0], 0, INT32_MAX, &fd, "readNB fd") || host_int(ctx, argv[1], 0, HOST_MAX_SAFE, &max, "readNB max")) return JS_EXCEPTION;
  if (max <= 0) max = 1;
  if (max > 1 << 20) max = 1 << 20;
  uint8_t *buf = malloc((size_t)max);
  if (!buf) return JS_ThrowOutOfMemory(ctx);
  ssize_t n;
  do n = read(fd, buf, (size_t)max);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    free(buf);
    if (e == EAGAIN) return JS_FALSE;
    return host_throw_errno(ctx, "read", e);
  }
  if (n == 0) {
    free(buf);
    return JS_NULL;
  }
  uint8_t *shrunk = realloc(buf, (size_t)n);
  return host_new_bytes(ctx, shrunk ? shrunk : buf, (size_t)n);
}

/* writeNB(fd, bytes, offset) → bytes written, or -1 when the descriptor is full. */
static JSValue js_write_nb(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int64_t fd, off;
  if (host_int(ctx, argv[0], 0, INT32_MAX, &fd, "writeNB fd") || host_int(ctx, argv[2], 0, HOST_MAX_SAFE, &off, "writeNB offset")) return JS_EXCEPTION;
  size_t len;
  uint8_t *b = host_bytes(ctx, argv[1], &len);
  if (!b) return JS_EXCEPTION;
  if ((uint64_t)off > len) return JS_ThrowRangeError(ctx, "writeNB: outside the buffer"); /* off >= 0: host_int */
  ssize_t n;
  do n = write(fd, b + off, len - (size_t)off);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return JS_NewInt32(ctx, -1);
    return host_throw_errno(ctx, "write", errno);
  }
  return JS_NewInt64(ctx, n);
}

const JSCFunctionListEntry host_proc_funcs[] = {
  JS_CFUNC_DEF("spawn", 6, js_spawn),
  JS_CFUNC_DEF("waitpid", 1, js_waitpid),
  JS_CFUNC_DEF("kill", 2, js_kill),
  JS_CFUNC_DEF("spawnDetached", 2, js_spawn_detached),
  JS_CFUNC_DEF("readNB", 2, js_read_nb),
  JS_CFUNC_DEF("writeNB", 3, js_write_nb),
};
const size_t host_proc_count = countof(host_proc_funcs);
