/*
 * A slow disk for the kill campaigns, on Linux: loaded with LD_PRELOAD, every write to the file named by
 * TSMEDIA_SLOW_PATH (a call is on it when /proc/self/fd/N links to it) is made, then traced, then followed by a pause of
 * TSMEDIA_SLOW_CALL_US microseconds plus TSMEDIA_SLOW_US_PER_MIB for each MiB it wrote. The trace, appended to
 * TSMEDIA_SLOW_TRACE, has one line per call: "WRITE <offset> <length>" (offset -1 for a write at the file position) and
 * "FSYNC" for fsync/fdatasync. A test that watches the trace can stop the process after any write it chooses: the
 * pause gives it the time to, before the next write begins. With TSMEDIA_SLOW_CHUNK, a positioned write larger than
 * that is made as several writes of that size (each traced and paused), as a disk takes it a piece at a time: a kill
 * can then land inside what the program wrote with one call, as SIGKILL can inside one large write. With
 * TSMEDIA_SLOW_FAIL_AFTER=N, every write to the file after the first N fails with EIO, as a drive pulled out does.
 *
 * Build: cc -shared -fPIC -O2 -o slowWrites.so slowWrites.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *target;
static const char *trace_path;
static long call_us;
static long us_per_mib;
static long chunk;
static long fail_after = -1;
static long writes_done;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

__attribute__((constructor)) static void init(void) {
  target = getenv("TSMEDIA_SLOW_PATH");
  trace_path = getenv("TSMEDIA_SLOW_TRACE");
  const char *c = getenv("TSMEDIA_SLOW_CALL_US");
  const char *m = getenv("TSMEDIA_SLOW_US_PER_MIB");
  call_us = c ? atol(c) : 0;
  us_per_mib = m ? atol(m) : 0;
  const char *k = getenv("TSMEDIA_SLOW_CHUNK");
  chunk = k ? atol(k) : 0;
  const char *f = getenv("TSMEDIA_SLOW_FAIL_AFTER");
  fail_after = f ? atol(f) : -1;
  real_write = dlsym(RTLD_NEXT, "write");
  real_pwrite = dlsym(RTLD_NEXT, "pwrite");
  real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
  real_writev = dlsym(RTLD_NEXT, "writev");
  real_pwritev = dlsym(RTLD_NEXT, "pwritev");
  real_pwritev64 = dlsym(RTLD_NEXT, "pwritev64");
  real_pwritev2 = dlsym(RTLD_NEXT, "pwritev2");
  real_fsync = dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
}

static int on_target(int fd) {
  if (!target || fd < 0) return 0;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  return strcmp(path, target) == 0;
}

static void traced(const char *line, size_t bytes) {
  if (trace_path) {
    int fd = open(trace_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      real_write(fd, line, strlen(line));
      close(fd);
    }
  }
  long us = call_us + (long)((double)bytes * us_per_mib / (1024.0 * 1024.0));
  if (us > 0) {
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
}

static ssize_t after_write(int fd, ssize_t r, long long offset) {
  if (r > 0 && on_target(fd)) {
    char line[96];
    snprintf(line, sizeof line, "WRITE %lld %zd\n", offset, r);
    traced(line, (size_t)r);
  }
  return r;
}

/* A write to the target once the drive "is gone": EIO, nothing written. */
static int gone(int fd) {
  if (fail_after < 0 || !on_target(fd)) return 0;
  if (__atomic_fetch_add(&writes_done, 1, __ATOMIC_SEQ_CST) < fail_after) return 0;
  errno = EIO;
  return 1;
}

ssize_t write(int fd, const void *b, size_t n) { return gone(fd) ? -1 : after_write(fd, real_write(fd, b, n), -1); }
/* A positioned write on the target, in pieces of `chunk` bytes when asked (stops at the first short or failed piece). */
static ssize_t pieces(ssize_t (*real)(int, const void *, size_t, off_t), int fd, const void *b, size_t n, off_t o) {
  if (chunk <= 0 || (long)n <= chunk || !on_target(fd)) return gone(fd) ? -1 : after_write(fd, real(fd, b, n, o), o);
  size_t done = 0;
  while (done < n) {
    size_t want = n - done < (size_t)chunk ? n - done : (size_t)chunk;
    ssize_t r = gone(fd) ? -1 : after_write(fd, real(fd, (const char *)b + done, want, o + (off_t)done), o + (off_t)done);
    if (r < 0) return done > 0 ? (ssize_t)done : r;
    done += (size_t)r;
    if ((size_t)r < want) break;
  }
  return (ssize_t)done;
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t o) { return pieces(real_pwrite, fd, b, n, o); }
ssize_t pwrite64(int fd, const void *b, size_t n, off_t o) { return pieces(real_pwrite64, fd, b, n, o); }
ssize_t writev(int fd, const struct iovec *v, int c) { return gone(fd) ? -1 : after_write(fd, real_writev(fd, v, c), -1); }
ssize_t pwritev(int fd, const struct iovec *v, int c, off_t o) { return gone(fd) ? -1 : after_write(fd, real_pwritev(fd, v, c, o), o); }
ssize_t pwritev64(int fd, const struct iovec *v, int c, off_t o) { return gone(fd) ? -1 : after_write(fd, real_pwritev64(fd, v, c, o), o); }
ssize_t pwritev2(int fd, const struct iovec *v, int c, off_t o, int f) { return gone(fd) ? -1 : after_write(fd, real_pwritev2(fd, v, c, o, f), o); }

int fsync(int fd) {
  int r = real_fsync(fd);
  if (r == 0 && on_target(fd)) traced("FSYNC\n", 0);
  return r;
}

int fdatasync(int fd) {
  int r = real_fdatasync(fd);
  if (r == 0 && on_target(fd)) traced("FSYNC\n", 0);
  return r;
}
