/* Network: getaddrinfo on a thread of its own (its answer comes back
 * through a pipe the event loop watches, so a resolver that hangs costs a
 * timeout, not the program), non-blocking connect, and TLS over the
 * system's OpenSSL (libssl3): the peer is verified against the CA bundle
 * given (PEM) and the host name or IP address.
 *
 * libssl.so.3 (and libcrypto.so.3 under it) is loaded with dlopen at the
 * first TLS connection, not at start: most boots never speak https, and the
 * two libraries are 5 MB read from a cold disk (an EC2 volume fetches each
 * block on first read). They are still the system's shared libraries, so
 * their security updates apply; the package depends on libssl3 by name. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "host.h"

/* Every OpenSSL function used, each called through a pointer dlsym fills in
 * (OpenSSL's own macros, SSL_CTX_set_mode and the like, expand to these names too). */
#define OPENSSL_FUNCS(X)                                                                        \
  X(TLS_client_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_ctrl) X(SSL_CTX_set_verify)      \
  X(SSL_CTX_get_cert_store) X(SSL_new) X(SSL_free) X(SSL_ctrl) X(SSL_set_fd) X(SSL_get0_param)   \
  X(SSL_connect) X(SSL_read) X(SSL_write) X(SSL_get_error) X(SSL_get_verify_result)             \
  X(BIO_new_mem_buf) X(BIO_free) X(PEM_read_bio_X509) X(X509_free) X(X509_STORE_add_cert)       \
  X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_VERIFY_PARAM_set_hostflags)                           \
  X(X509_VERIFY_PARAM_set1_host) X(X509_verify_cert_error_string) X(ERR_get_error)              \
  X(ERR_peek_error) X(ERR_error_string_n) X(ERR_clear_error)

#define X(f) static __typeof__(f) *dl_##f;
OPENSSL_FUNCS(X)
#undef X
#ifdef EC2_INIT_LINK_SSL
/* Linked the usual way: the pointers are the functions themselves (taken before the names below become the pointers). */
static void openssl_linked(void) {
#define X(f) dl_##f = &f;
  OPENSSL_FUNCS(X)
#undef X
}
#endif
#define TLS_client_method dl_TLS_client_method
#define SSL_CTX_new dl_SSL_CTX_new
#define SSL_CTX_free dl_SSL_CTX_free
#define SSL_CTX_ctrl dl_SSL_CTX_ctrl
#define SSL_CTX_set_verify dl_SSL_CTX_set_verify
#define SSL_CTX_get_cert_store dl_SSL_CTX_get_cert_store
#define SSL_new dl_SSL_new
#define SSL_free dl_SSL_free
#define SSL_ctrl dl_SSL_ctrl
#define SSL_set_fd dl_SSL_set_fd
#define SSL_get0_param dl_SSL_get0_param
#define SSL_connect dl_SSL_connect
#define SSL_read dl_SSL_read
#define SSL_write dl_SSL_write
#define SSL_get_error dl_SSL_get_error
#define SSL_get_verify_result dl_SSL_get_verify_result
#define BIO_new_mem_buf dl_BIO_new_mem_buf
#define BIO_free dl_BIO_free
#define PEM_read_bio_X509 dl_PEM_read_bio_X509
#define X509_free dl_X509_free
#define X509_STORE_add_cert dl_X509_STORE_add_cert
#define X509_VERIFY_PARAM_set1_ip_asc dl_X509_VERIFY_PARAM_set1_ip_asc
#define X509_VERIFY_PARAM_set_hostflags dl_X509_VERIFY_PARAM_set_hostflags
#define X509_VERIFY_PARAM_set1_host dl_X509_VERIFY_PARAM_set1_host
#define X509_verify_cert_error_string dl_X509_verify_cert_error_string
#define ERR_get_error dl_ERR_get_error
#define ERR_peek_error dl_ERR_peek_error
#define ERR_error_string_n dl_ERR_error_string_n
#define ERR_clear_error dl_ERR_clear_error

/* The SONAME of Debian's libssl3 (OpenSSL 3.x keeps its ABI across 3.x). */
#define LIBSSL "libssl.so.3"

/* Load libssl once; NULL when it worked, else why not. Built with
 * EC2_INIT_LINK_SSL=1 (node build/qjs.ts), the executable links libssl3 the
 * usual way instead: DT_NEEDED, so dpkg-shlibdeps sees it, and every start
 * maps it (5 MB more read from a cold disk). */
static const char *openssl_load(void) {
#ifdef EC2_INIT_LINK_SSL
  static int linked;
  if (!linked) openssl_linked();
  linked = 1;
  return NULL;
#else
  static int state; /* 0 not tried, 1 loaded, -1 failed */
  static char why[256];
  if (state == 1) return NULL;
  if (state == -1) return why;
  void *h = dlopen(LIBSSL, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(why, sizeof why, "cannot load %s (package libssl3): %s", LIBSSL, dlerror());
    state = -1;
    return why;
  }
#define X(f)                                                                   \
  if (!(dl_##f = (__typeof__(dl_##f))dlsym(h, #f))) {                          \
    snprintf(why, sizeof why, "%s has no %s", LIBSSL, #f);                     \
    state = -1;                                                                \
    return why;                                                                \
  }
  OPENSSL_FUNCS(X)
#undef X
  state = 1;
  return NULL;
#endif
}

/* ---- resolve ---- */

typedef struct {
  int fd;
  char name[];
} Lookup;

static void *lookup_thread(void *p) {
  Lookup *l = p;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int r = getaddrinfo(l->name, NULL, &hints, &res);
  char out[8192];
  size_t n = 0;
  if (r != 0) {
    n = (size_t)snprintf(out, sizeof out, "!%s\n", gai_strerror(r));
  } else {
    for (struct addrinfo *a = res; a && n + INET6_ADDRSTRLEN + 2 < sizeof out; a = a->ai_next) {
      const void *addr = a->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                                   : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
      if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
      if (!inet_ntop(a->ai_family, addr, out + n, (socklen_t)(sizeof out - n))) continue;
      n += strlen(out + n);
      out[n++] = '\n';
    }
    freeaddrinfo(res);
  }
  /* The reader may have given up (a timeout) and closed its end: EPIPE, ignored. */
  host_write_all(l->fd, (const uint8_t *)out, n);
  close(l->fd);
  free(l);
  return NULL;
}

/* resolveStart(name) → a descriptor that becomes readable with the answer:
 * one address per line, or "!why". */
static JSValue js_resolve_start(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  /* A name cut at a NUL byte would be another name: refused, as every string the host is given. */
  const char *name = host_cstring(ctx, argv[0], "getaddrinfo");
  if (!name) return JS_EXCEPTION;
  size_t len = strlen(name);
  Lookup *l = malloc(sizeof *l + len + 1);
  int p[2];
  if (!l || pipe2(p, O_CLOEXEC) < 0) {
    int e = l ? errno : ENOMEM;
    free(l);
    JS_FreeCString(ctx, name);
    return host_throw_errno(ctx, "getaddrinfo", e);
  }
  memcpy(l->name, name, len + 1);
  JS_FreeCString(ctx, name);
  l->fd = p[1];
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 << 10);
  int r = pthread_create(&t, &attr, lookup_thread, l);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    close(p[0]);
    close(p[1]);
    free(l);
    return host_throw_errno(ctx, "getaddrinfo", r);
  }
  return JS_NewInt32(ctx, p[0]);
}

/* ---- connect ---- */

/* connectStart(address, port, mark, localPort) → a non-blocking socket,
 * connecting (writable when done). mark ≥ 0: SO_MARK first (policy routing
 * selects on it; needs CAP_NET_ADMIN). localPort > 0: bound to that port of
 * any local address first; EADDRINUSE when another socket holds it. */
static JSValue js_connect_start(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  /* Strict integers (host_int): a NaN or negative mark must never mean "no mark". */
  int64_t port, local_port = 0, mark = -1;
  if (host_int(ctx, argv[1], 1, 65535, &port, "connect port")) return JS_EXCEPTION;
  if (argc > 2 && !JS_IsUndefined(argv[2]) && host_int(ctx, argv[2], 0, 0xffffffffLL, &mark, "connect mark")) return JS_EXCEPTION;
  if (argc > 3 && !JS_IsUndefined(argv[3]) && host_int(ctx, argv[3], 0, 65535, &local_port, "connect local port")) return JS_EXCEPTION;
  const char *address = host_cstring(ctx, argv[0], "connect");
  if (!address) return JS_EXCEPTION;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", (int)port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  int r = getaddrinfo(address, portstr, &hints, &res);
  JS_FreeCString(ctx, address);
  if (r != 0) return host_throw_code(ctx, "connect", "EINVAL", "not an IP address");
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return host_throw_errno(ctx, "socket", errno);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (mark >= 0) {
    uint32_t m = (uint32_t)mark;
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof m) < 0) {
      int e = errno;
      close(fd);
      freeaddrinfo(res);
      return host_throw_errno(ctx, "setsockopt(SO_MARK)", e);
    }
  }
  if (local_port > 0) {
    struct sockaddr_storage local = {0};
    socklen_t local_len;
    if (res->ai_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&local;
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_any;
      a->sin6_port = htons((uint16_t)local_port);
      local_len = sizeof *a;
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&local;
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_ANY);
      a->sin_port = htons((uint16_t)local_port);
      local_len = sizeof *a;
    }
    /* Closed with a reset, not a FIN: no TIME_WAIT holds the port (and the
     * pair of addresses) for a minute, so the next request can have it. */
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard) < 0 ||
        bind(fd, (struct sockaddr *)&local, local_len) < 0) {
      int be = errno;
      close(fd);
      freeaddrinfo(res);
      return host_throw_errno(ctx, "bind", be);
    }
  }
  do r = connect(fd, res->ai_addr, res->ai_addrlen);
  while (r < 0 && errno == EINTR);
  int e = errno;
  freeaddrinfo(res);
  if (r < 0 && e != EINPROGRESS) {
    close(fd);
    return host_throw_errno(ctx, "connect", e);
  }
  return JS_NewInt32(ctx, fd);
}

/* connectUnixStart(path) → a non-blocking unix stream socket, connecting (or connected). */
static JSValue js_connect_unix_start(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  const char *path = host_cstring(ctx, argv[0], "connect");
  if (!path) return JS_EXCEPTION;
  size_t len = strlen(path);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (len == 0 || len >= sizeof addr.sun_path) {
    JS_FreeCString(ctx, path);
    return host_throw_code(ctx, "connect", len == 0 || len < sizeof addr.sun_path ? "EINVAL" : "ENAMETOOLONG",
                           "not a unix socket address");
  }
  memcpy(addr.sun_path, path, len);
  JS_FreeCString(ctx, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return host_throw_errno(ctx, "socket", errno);
  int r;
  do r = connect(fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1));
  while (r < 0 && errno == EINTR);
  /* A unix connect is done at once, or refused; EAGAIN is a full backlog (the caller's retry). */
  if (r < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return host_throw_errno(ctx, "connect", e);
  }
  return JS_NewInt32(ctx, fd);
}

/* connectFinish(fd): throws the connection's error (ECONNREFUSED, …) if it failed. */
static JSValue js_connect_finish(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int fd, err = 0;
  if (JS_ToInt32(ctx, &fd, argv[0])) return JS_EXCEPTION;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) return host_throw_errno(ctx, "connect", err);
  return JS_UNDEFINED;
}

/* ---- TLS ---- */

#define MAX_TLS 64
static SSL *tls_table[MAX_TLS];

static SSL *tls_get(JSContext *ctx, JSValueConst v) {
  int h;
  if (JS_ToInt32(ctx, &h, v)) return NULL;
  if (h < 0 || h >= MAX_TLS || !tls_table[h]) {
    host_throw_code(ctx, "tls", "EBADF", "no such TLS connection");
    return NULL;
  }
  return tls_table[h];
}

static JSValue tls_error(JSContext *ctx, const char *call, SSL *ssl, int ret) {
  int e = SSL_get_error(ssl, ret);
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) return host_throw_code(ctx, call, "ECERT", X509_verify_cert_error_string(verify));
  char buf[256];
  unsigned long q = ERR_get_error();
  if (e == SSL_ERROR_SYSCALL && q == 0) {
    int en = errno ? errno : ECONNRESET;
    ERR_clear_error();
    return host_throw_errno(ctx, call, en);
  }
  if (q) ERR_error_string_n(q, buf, sizeof buf);
  else snprintf(buf, sizeof buf, "TLS error %d", e);
  ERR_clear_error();
  return host_throw_code(ctx, call, "EPROTO", buf);
}

/* tlsNew(fd, servername, caPem) → a handle. */
static JSValue js_tls_new(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int fd;
  if (JS_ToInt32(ctx, &fd, argv[0])) return JS_EXCEPTION;
  size_t calen;
  uint8_t *ca = host_bytes(ctx, argv[2], &calen);
  if (!ca) return JS_EXCEPTION;
  int h;
  for (h = 0; h < MAX_TLS && tls_table[h]; h++) {}
  if (h == MAX_TLS) return host_throw_code(ctx, "tls", "EMFILE", "too many TLS connections");
  const char *missing = openssl_load();
  if (missing) return host_throw_code(ctx, "connect", "ENOTSUP", missing);
  /* The name the certificate must carry: checked whole, never as the part before a NUL byte. */
  const char *name = host_cstring(ctx, argv[1], "tls");
  if (!name) return JS_EXCEPTION;

  SSL_CTX *sctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = NULL;
  const char *why = NULL;
  if (!sctx) { why = "SSL_CTX_new"; goto fail; }
  SSL_CTX_set_min_proto_version(sctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_mode(sctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* The CA bundle of the root (not of this machine): every certificate in the PEM. */
  X509_STORE *store = SSL_CTX_get_cert_store(sctx);
  BIO *bio = BIO_new_mem_buf(ca, (int)calen);
  int added = 0;
  for (X509 *x; bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL; X509_free(x)) {
    if (X509_STORE_add_cert(store, x) == 1) added++;
  }
  BIO_free(bio);
  ERR_clear_error();
  if (added == 0) { why = "no certificate in the CA bundle"; goto fail; }
  ssl = SSL_new(sctx);
  if (!ssl) { why = "SSL_new"; goto fail; }
  SSL_set_fd(ssl, fd);
  X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
  unsigned char ip[16];
  int is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) { why = "bad IP address"; goto fail; }
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, name, 0) != 1) { why = "bad host name"; goto fail; }
    SSL_set_tlsext_host_name(ssl, name);
  }
  SSL_CTX_free(sctx); /* the SSL holds its own reference */
  JS_FreeCString(ctx, name);
  tls_table[h] = ssl;
  return JS_NewInt32(ctx, h);
fail:
  if (ssl) SSL_free(ssl);
  if (sctx) SSL_CTX_free(sctx);
  JS_FreeCString(ctx, name);
  ERR_clear_error();
  return host_throw_code(ctx, "connect", "EPROTO", why);
}

/* tlsHandshake(h) → 0 done, 1 wants to read, 2 wants to write. */
static JSValue js_tls_handshake(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  SSL *ssl = tls_get(ctx, argv[0]);
  if (!ssl) return JS_EXCEPTION;
  errno = 0;
  int r = SSL_connect(ssl);
  if (r == 1) return JS_NewInt32(ctx, 0);
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ) return JS_NewInt32(ctx, 1);
  if (e == SSL_ERROR_WANT_WRITE) return JS_NewInt32(ctx, 2);
  return tls_error(ctx, "connect", ssl, r);
}

/* tlsRead(h, max) → Uint8Array, null at the end, 1 / 2 when it must wait to read / write. */
static JSValue js_tls_read(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  SSL *ssl = tls_get(ctx, argv[0]);
  if (!ssl) return JS_EXCEPTION;
  int64_t max;
  if (JS_ToInt64(ctx, &max, argv[1])) return JS_EXCEPTION;
  if (max <= 0) max = 1;
  if (max > 1 << 20) max = 1 << 20;
  uint8_t *buf = malloc((size_t)max);
  if (!buf) return JS_ThrowOutOfMemory(ctx);
  errno = 0;
  int r = SSL_read(ssl, buf, (int)max);
  if (r > 0) {
    uint8_t *shrunk = realloc(buf, (size_t)r);
    return host_new_bytes(ctx, shrunk ? shrunk : buf, (size_t)r);
  }
  free(buf);
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ) return JS_NewInt32(ctx, 1);
  if (e == SSL_ERROR_WANT_WRITE) return JS_NewInt32(ctx, 2);
  /* close_notify, or the peer closed without one (common, and what Node also takes as the end). */
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
    ERR_clear_error();
    return JS_NULL;
  }
  if (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    return JS_NULL;
  }
  return tls_error(ctx, "read", ssl, r);
}

/* tlsWrite(h, bytes, offset) → bytes written, or -1 / -2 when it must wait to read / write. */
static JSValue js_tls_write(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  SSL *ssl = tls_get(ctx, argv[0]);
  if (!ssl) return JS_EXCEPTION;
  int64_t off;
  if (JS_ToInt64(ctx, &off, argv[2])) return JS_EXCEPTION;
  size_t len;
  uint8_t *b = host_bytes(ctx, argv[1], &len);
  if (!b) return JS_EXCEPTION;
  if (off < 0 || (uint64_t)off >= len) return JS_NewInt32(ctx, 0);
  size_t n = len - (size_t)off;
  if (n > 1 << 30) n = 1 << 30;
  errno = 0;
  int r = SSL_write(ssl, b + off, (int)n);
  if (r > 0) return JS_NewInt32(ctx, r);
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ) return JS_NewInt32(ctx, -1);
  if (e == SSL_ERROR_WANT_WRITE) return JS_NewInt32(ctx, -2);
  return tls_error(ctx, "write", ssl, r);
}

static JSValue js_tls_free(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
  int h;
  if (JS_ToInt32(ctx, &h, argv[0])) return JS_EXCEPTION;
  if (h >= 0 && h < MAX_TLS && tls_table[h]) {
    SSL_free(tls_table[h]);
    tls_table[h] = NULL;
  }
  return JS_UNDEFINED;
}

const JSCFunctionListEntry host_net_funcs[] = {
  JS_CFUNC_DEF("resolveStart", 1, js_resolve_start),
  JS_CFUNC_DEF("connectStart", 4, js_connect_start),
  JS_CFUNC_DEF("connectUnixStart", 1, js_connect_unix_start),
  JS_CFUNC_DEF("connectFinish", 1, js_connect_finish),
  JS_CFUNC_DEF("tlsNew", 3, js_tls_new),
  JS_CFUNC_DEF("tlsHandshake", 1, js_tls_handshake),
  JS_CFUNC_DEF("tlsRead", 2, js_tls_read),
  JS_CFUNC_DEF("tlsWrite", 3, js_tls_write),
  JS_CFUNC_DEF("tlsFree", 1, js_tls_free),
};
const size_t host_net_count = countof(host_net_funcs);
