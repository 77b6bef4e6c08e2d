// The narrow interface between the agent and the machine (DESIGN.md §6).
// Everything ec2-init does to the machine — files, programs, sockets, gzip,
// randomness, the clock — goes through one object of this shape. Two
// implementations exist: the shipped one in C over libc (src/host/native/,
// linked into the QuickJS executable) and one over Node's built-ins
// (src/host/node-sys.ts) for the unit tests that run the TypeScript under
// Node. Both must behave the same; the integration tests run the shipped one.
//
// Conventions:
// - File calls are the *at system calls on descriptors (AT_FDCWD for a path
//   of this machine). The agent never hands a multi-component path under the
//   root to them: src/host/tree.ts walks one component at a time, so a link
//   planted anywhere can never lead a write out of the root.
// - Failures throw a SysError whose `code` is the errno name ('ENOENT').
// - Bytes are Uint8Array, text is string; the codecs convert.
// - Numbers of flags and modes are Linux's (x86_64 and arm64 agree on these).

/** What fstat/fstatat tell. */
export interface Stat {
  kind: 'file' | 'dir' | 'link' | 'block' | 'char' | 'fifo' | 'socket';
  /** Permission bits with setuid/setgid/sticky (mode & 0o7777). */
  perm: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  dev: number;
  ino: number;
  /** Device number of a block or character device (major << 8 | minor, as the kernel encodes it). */
  rdev: number;
  /** Last modification, milliseconds since the epoch. */
  mtimeMs: number;
}

export interface SysError extends Error {
  /** errno name: 'ENOENT', 'ELOOP', 'EEXIST', … */
  code: string;
  /** The call that failed: 'openat', 'renameat', … */
  syscall: string;
}

export interface SpawnOptions {
  /** argv[0] is looked up in PATH of `env` (inside the chroot, when there is one). */
  argv: string[];
  /** The whole environment of the program (nothing is inherited). */
  env: Record<string, string>;
  /** chroot(2) into this host directory in the child, then chdir('/'), before exec. */
  chroot?: string;
  /** Working directory (inside the chroot). Default '/'. */
  cwd?: string;
  /** Bytes written to the program's stdin through a pipe, then closed; stdin is /dev/null when absent. */
  stdin?: Uint8Array;
  /**
   * Where stdout and stderr go:
   * - 'capture': each through its own pipe, returned (at most maxCapture bytes each; more is read and dropped);
   * - a file descriptor: both through one pipe that the host copies to that fd as output arrives.
   * Either way the call resolves only when the program has exited AND its
   * output pipes are closed by every process holding them (a script's own
   * `| tee` finishes writing), or `lingerMs` after the exit, whichever is first.
   */
  output: 'capture' | number;
  /** Largest capture per stream; default 1 MiB. */
  maxCapture?: number;
  /** SIGKILL the program's process group after this long. No limit when absent. */
  timeoutMs?: number;
  /** SIGKILL the program's process group when this fires (its result then says SIGKILL, not timedOut). */
  stop?: Stopper;
  /** How long to wait for the output pipes after the exit. Default 10 000 ms. */
  lingerMs?: number;
}

/** What can stop a program early: net/cancel.ts's Cancel is one (the host knows only this shape). */
export interface Stopper {
  onCancel(fn: () => void): () => void;
}

export interface SpawnResult {
  /** Exit status; null when killed by a signal. 127 when the program could not be started. */
  code: number | null;
  /** Signal name ('SIGKILL') when killed by one. */
  signal: string | null;
  timedOut: boolean;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Why the program could not be started ("execvp: No such file or directory"), else null. */
  spawnError: string | null;
}

export interface ConnectOptions {
  /** A literal IPv4 or IPv6 address (names are resolved first with resolve()). */
  address: string;
  port: number;
  /** Give up connecting (and the TLS handshake) after this long. */
  timeoutMs: number;
  /**
   * Bind the socket to this local port (any local address) before connecting.
   * Scaleway's metadata service hands out user-data only to a privileged
   * source port (< 1024, so only root can ask). Fails with EADDRINUSE when
   * the port is taken; the caller picks another. Closing such a socket
   * resets the connection (SO_LINGER 0), so that no TIME_WAIT keeps the port
   * from the next request.
   */
  localPort?: number;
  /**
   * Speak TLS: verify the peer's certificate against `ca` (PEM, the image's
   * CA bundle) and the name `servername` (also sent as SNI).
   */
  tls?: { servername: string; ca: Uint8Array };
  /** SO_MARK (needs CAP_NET_ADMIN): the firewall mark policy routing can select on. */
  mark?: number;
}

export interface Socket {
  /** Write all of `data`; rejects on a broken connection or after timeoutMs. */
  write(data: Uint8Array, timeoutMs: number): Promise<void>;
  /** The next bytes (at most `max`), or null at the end of the stream; rejects with code 'ETIMEDOUT' after timeoutMs. */
  read(max: number, timeoutMs: number): Promise<Uint8Array | null>;
  /** Close now; a pending read or write rejects with code 'ECANCELED'. */
  close(): void;
}

export interface Sys {
  // ---- files ----
  readonly AT_FDCWD: number;
  /** openat(2). Always O_CLOEXEC. Returns the descriptor. */
  openat(dirfd: number, path: string, flags: number, mode: number): number;
  close(fd: number): void;
  /** read(2) or pread(2) (position ≥ 0); returns the count, 0 at the end. */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** write(2) of buf[offset, offset+length); returns the count written. */
  write(fd: number, buf: Uint8Array, offset: number, length: number): number;
  fsync(fd: number): void;
  /** syncfs(2): everything written to the filesystem holding `fd` reaches its disk (Files.flushDeferred). */
  syncfs(fd: number): void;
  fstat(fd: number): Stat;
  /** fstatat(2); `nofollow`: AT_SYMLINK_NOFOLLOW. */
  fstatat(dirfd: number, path: string, nofollow: boolean): Stat;
  fchmod(fd: number, mode: number): void;
  fchown(fd: number, uid: number, gid: number): void;
  mkdirat(dirfd: number, path: string, mode: number): void;
  /** unlinkat(2); `dir`: AT_REMOVEDIR. */
  unlinkat(dirfd: number, path: string, dir: boolean): void;
  renameat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string): void;
  symlinkat(target: string, dirfd: number, path: string): void;
  readlinkat(dirfd: number, path: string): string;
  /** The names in an open directory, without '.' and '..', unsorted. The fd stays open and usable. */
  readdir(fd: number): string[];
  /** flock(2) exclusive; `wait` false: LOCK_NB. True when taken, false when another holds it (LOCK_NB). */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  /** statfs(2) of an open descriptor: the filesystem's magic number and sizes. */
  fstatfs(fd: number): { type: number; bsize: number; blocks: number; bfree: number };

  // ---- processes ----
  spawn(opts: SpawnOptions): Promise<SpawnResult>;
  /** Start a program in its own session, not waited for (it outlives us: power_state's waiter). Returns its pid. */
  spawnDetached(argv: string[], env: Record<string, string>): number;
  /** kill(2). `signal` by name: 'SIGKILL', 'SIGTERM', or 0 (just check that pid exists). False when the pid does not exist (ESRCH). */
  kill(pid: number, signal: string | 0): boolean;
  readonly pid: number;
  getuid(): number;
  /** gethostname(2): the running system's host name (its UTS namespace's). */
  hostname(): string;

  // ---- network ----
  /** getaddrinfo(3): the addresses of a name (IPv6 and IPv4), in the resolver's order; rejects with code 'ENOTFOUND'. */
  resolve(name: string, timeoutMs: number): Promise<string[]>;
  connect(opts: ConnectOptions): Promise<Socket>;
  /**
   * connect(2) to the unix stream socket at `path`, a path of this machine
   * (at most 107 bytes; Files.openSocket gives one for a socket of the root:
   * /proc/self/fd/N of its O_PATH descriptor). Rejects with the errno name
   * (ENOENT, ECONNREFUSED, EACCES, ENAMETOOLONG) or ETIMEDOUT after timeoutMs.
   */
  connectUnix(path: string, timeoutMs: number): Promise<Socket>;

  // ---- time ----
  /** Monotonic milliseconds (CLOCK_MONOTONIC), for deadlines and durations. */
  now(): number;
  /** CPU milliseconds (user + system) this process has used so far, all its threads, not its programs (getrusage RUSAGE_SELF). */
  cpuMs(): number;
  /** Run `fn` after `ms`; returns a handle for cancelTimer. Keeps the program alive while pending. */
  setTimer(ms: number, fn: () => void): number;
  cancelTimer(handle: number): void;

  // ---- bytes ----
  /** Undo gzip (all members, as Python's gzip module reads them); throws code 'E2BIG' past maxBytes, 'EINVAL' on corrupt data. */
  gunzip(data: Uint8Array, maxBytes: number): Uint8Array;
  /** gzip (zlib's default level, no file name, mtime 0: the same bytes for the same input). */
  gzip(data: Uint8Array): Uint8Array;
  randomBytes(n: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  utf8Encode(text: string): Uint8Array;
  /** UTF-8 to text; invalid sequences become U+FFFD (fatal: throw code 'EILSEQ'). */
  utf8Decode(bytes: Uint8Array, fatal?: boolean): string;
  isUtf8(bytes: Uint8Array): boolean;
  latin1Encode(text: string): Uint8Array;
  latin1Decode(bytes: Uint8Array): string;
  base64Encode(bytes: Uint8Array): string;
  /** Ignores whitespace; throws code 'EINVAL' on other non-alphabet characters. */
  base64Decode(text: string): Uint8Array;

  // ---- the process itself ----
  /** The name the program was started by (argv[0]: 'ec2-init', '/usr/bin/cloud-init'). */
  readonly argv0: string;
  /** The command-line arguments after the program's name. */
  readonly argv: string[];
  /** getcwd(3): the directory relative paths of the command line start from. */
  cwd(): string;
  getenv(name: string): string | undefined;
  writeStdout(data: Uint8Array | string): void;
  writeStderr(data: Uint8Array | string): void;
  /** End now with this status (after flushing stdout/stderr). */
  exit(code: number): never;
}

// open(2) flags and other numbers of Linux.
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
