/* exitstat: run a command and report what it used, like GNU time, plus the
 * memory of the command's own process at its exit.
 *
 *   exitstat [-p] OUT CMD [ARG...]
 *
 * Writes one line to OUT:
 *   maxrss_kib user_s sys_s inblock hwm_kib rss_anon_kib rss_file_kib rss_shmem_kib
 * maxrss, user, sys and inblock (512-byte blocks read from storage) are
 * wait4()'s rusage: the process and every descendant it waited for.
 * With -p the command runs under ptrace with PTRACE_O_TRACEEXIT only (no
 * other process is traced): at its exit stop, with its memory still mapped,
 * /proc/PID/status gives VmHWM (its own peak RSS) and RssAnon, RssFile,
 * RssShmem (at exit: Linux keeps no peak per kind). The process then stops
 * only at its exec and at each signal delivered to it. Without -p the last
 * four fields are -1. Exits with the command's status (128+signal if killed).
 * Part of bench/, compiled by bench/tools.ts; never shipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static long field(const char *status, const char *name) {
  const char *p = strstr(status, name);
  if (!p) return -1;
  return strtol(p + strlen(name), NULL, 10);
}

int main(int argc, char **argv) {
  int trace = 0, i = 1;
  if (i < argc && strcmp(argv[i], "-p") == 0) { trace = 1; i++; }
  if (argc - i < 2) { fprintf(stderr, "usage: exitstat [-p] OUT CMD [ARG...]\n"); return 125; }
  const char *out = argv[i++];
  char status[8192] = "";
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 125; }
  if (pid == 0) {
    if (trace) {
      if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) { perror("ptrace"); _exit(125); }
      raise(SIGSTOP);
    }
    execvp(argv[i], argv + i);
    perror(argv[i]);
    _exit(127);
  }
  int st;
  struct rusage ru;
  if (trace) {
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) { perror("waitpid"); return 125; }
    ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
    ptrace(PTRACE_CONT, pid, 0, 0);
  }
  for (;;) {
    pid_t w = wait4(pid, &st, 0, &ru);
    if (w < 0) { if (errno == EINTR) continue; perror("wait4"); return 125; }
    if (WIFEXITED(st) || WIFSIGNALED(st)) break;
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st), event = (unsigned)st >> 16;
    if (sig == SIGTRAP && event == PTRACE_EVENT_EXIT) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
      FILE *f = fopen(path, "r");
      if (f) { size_t n = fread(status, 1, sizeof status - 1, f); status[n] = 0; fclose(f); }
      sig = 0;
    } else if (sig == SIGTRAP && event != 0) {
      sig = 0;  /* the exec stop */
    }
    ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
  }
  FILE *o = fopen(out, "w");
  if (!o) { perror(out); return 125; }
  fprintf(o, "%ld %.3f %.3f %ld %ld %ld %ld %ld\n", ru.ru_maxrss,
          ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
          ru.ru_inblock,
          status[0] ? field(status, "VmHWM:") : -1, status[0] ? field(status, "RssAnon:") : -1,
          status[0] ? field(status, "RssFile:") : -1, status[0] ? field(status, "RssShmem:") : -1);
  fclose(o);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
