/*
 * The sector rule of Windows' disk driver and macOS raw devices, on Linux: loaded with LD_PRELOAD, this refuses with
 * EINVAL every read or write on the drive named by TSMEDIA_SHIM_DEVICE whose offset or length is not a multiple of
 * TSMEDIA_SHIM_SECTOR bytes, or whose memory is not aligned to TSMEDIA_SHIM_MEMORY_ALIGN bytes (default: the sector
 * size; unbuffered Windows I/O needs sector-aligned memory). A call is on the drive when /proc/self/fd/N links to it.
 *
 * Each refusal is appended to TSMEDIA_SHIM_LOG as a line "REFUSED <prog> <pid> <call> fd=<fd> offset=<o> length=<n>
 * memory=<address % align>"; when the process exits, a line "SUMMARY <prog> <pid> checked=<calls on the drive>
 * refused=<n>". With TSMEDIA_SHIM_TRACE=1 every write on the drive that goes through is logged too, as
 * "WRITE <prog> <pid> <call> offset=<o> length=<n>", in order. The tests read the log: no refusal, calls on the drive
 * were seen, and the order of the writes.
 *
 * Build: cc -shared -fPIC -O2 -o sectorShim.so sectorShim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

extern char *program_invocation_short_name;

static const char *device;
static long sector;
static long memory_align;
static const char *log_path;
static int trace;
static unsigned long checked;
static unsigned long refused;

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_preadv)(int, const struct iovec *, int, off_t);
static ssize_t (*real_preadv64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_preadv2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_pread_chk)(int, void *, size_t, off_t, size_t);
static ssize_t (*real_pread64_chk)(int, void *, size_t, off_t, size_t);

static void log_line(const char *line) {
  if (!log_path) return;
  int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  size_t n = strlen(line);
  /* the log is not the drive: the real write, not ours */
  if (real_write) real_write(fd, line, n);
  close(fd);
}

__attribute__((constructor)) static void shim_init(void) {
  real_read = dlsym(RTLD_NEXT, "read");
  real_write = dlsym(RTLD_NEXT, "write");
  real_pread = dlsym(RTLD_NEXT, "pread");
  real_pread64 = dlsym(RTLD_NEXT, "pread64");
  real_pwrite = dlsym(RTLD_NEXT, "pwrite");
  real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
  real_readv = dlsym(RTLD_NEXT, "readv");
  real_writev = dlsym(RTLD_NEXT, "writev");
  real_preadv = dlsym(RTLD_NEXT, "preadv");
  real_preadv64 = dlsym(RTLD_NEXT, "preadv64");
  real_pwritev = dlsym(RTLD_NEXT, "pwritev");
  real_pwritev64 = dlsym(RTLD_NEXT, "pwritev64");
  real_preadv2 = dlsym(RTLD_NEXT, "preadv2");
  real_pwritev2 = dlsym(RTLD_NEXT, "pwritev2");
  real_read_chk = dlsym(RTLD_NEXT, "__read_chk");
  real_pread_chk = dlsym(RTLD_NEXT, "__pread_chk");
  real_pread64_chk = dlsym(RTLD_NEXT, "__pread64_chk");
  device = getenv("TSMEDIA_SHIM_DEVICE");
  const char *s = getenv("TSMEDIA_SHIM_SECTOR");
  sector = s ? atol(s) : 512;
  if (sector <= 0) sector = 512;
  const char *m = getenv("TSMEDIA_SHIM_MEMORY_ALIGN");
  memory_align = m ? atol(m) : sector;
  if (memory_align <= 0) memory_align = 1;
  log_path = getenv("TSMEDIA_SHIM_LOG");
  const char *t = getenv("TSMEDIA_SHIM_TRACE");
  trace = t && strcmp(t, "1") == 0;
}

__attribute__((destructor)) static void shim_fini(void) {
  if (!device) return;
  char line[256];
  snprintf(line, sizeof line, "SUMMARY %s %d checked=%lu refused=%lu\n", program_invocation_short_name, (int)getpid(),
           __atomic_load_n(&checked, __ATOMIC_SEQ_CST), __atomic_load_n(&refused, __ATOMIC_SEQ_CST));
  log_line(line);
}

/* Whether fd is the drive: /proc/self/fd/N links to its path. */
static int on_device(int fd) {
  if (!device || fd < 0) return 0;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = 0;
  return strcmp(target, device) == 0;
}

/* 0 when the call may go on; else it is logged and refused with EINVAL. */
static int refuse(const char *call, int fd, long long offset, unsigned long long length, uintptr_t memory) {
  if (!on_device(fd)) return 0;
  __atomic_add_fetch(&checked, 1, __ATOMIC_SEQ_CST);
  uintptr_t misaligned = memory % (uintptr_t)memory_align;
  if (offset % sector == 0 && length % (unsigned long long)sector == 0 && misaligned == 0) {
    if (trace && strstr(call, "write") != NULL) {
      char line[256];
      snprintf(line, sizeof line, "WRITE %s %d %s offset=%lld length=%llu\n", program_invocation_short_name, (int)getpid(), call, offset, length);
      log_line(line);
    }
    return 0;
  }
  __atomic_add_fetch(&refused, 1, __ATOMIC_SEQ_CST);
  char line[512];
  snprintf(line, sizeof line, "REFUSED %s %d %s fd=%d offset=%lld length=%llu memory=%lu\n", program_invocation_short_name, (int)getpid(), call, fd,
           offset, length, (unsigned long)misaligned);
  log_line(line);
  errno = EINVAL;
  return 1;
}

static long long position(int fd) { return (long long)lseek(fd, 0, SEEK_CUR); }

/* The vector's total length; its memory counts as aligned only when every piece is (first misaligned one reported). */
static unsigned long long iov_length(const struct iovec *iov, int n, const void **memory) {
  unsigned long long total = 0;
  *memory = n > 0 ? iov[0].iov_base : NULL;
  for (int i = 0; i < n; i++) {
    total += iov[i].iov_len;
    if ((uintptr_t)iov[i].iov_base % (uintptr_t)memory_align != 0 || iov[i].iov_len % (size_t)sector != 0) *memory = iov[i].iov_base;
  }
  return total;
}

/* refuse() for a vector call: its whole length, and its memory aligned only when every piece is. */
static int refuse_iov(const char *call, int fd, long long offset, const struct iovec *iov, int n) {
  const void *m;
  unsigned long long len = iov_length(iov, n, &m);
  return refuse(call, fd, offset, len, (uintptr_t)m);
}

ssize_t read(int fd, void *buf, size_t n) {
  if (refuse("read", fd, position(fd), n, (uintptr_t)buf)) return -1;
  return real_read(fd, buf, n);
}
ssize_t write(int fd, const void *buf, size_t n) {
  if (refuse("write", fd, position(fd), n, (uintptr_t)buf)) return -1;
  return real_write(fd, buf, n);
}
ssize_t pread(int fd, void *buf, size_t n, off_t off) {
  if (refuse("pread", fd, off, n, (uintptr_t)buf)) return -1;
  return real_pread(fd, buf, n, off);
}
ssize_t pread64(int fd, void *buf, size_t n, off_t off) {
  if (refuse("pread64", fd, off, n, (uintptr_t)buf)) return -1;
  return real_pread64(fd, buf, n, off);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  if (refuse("pwrite", fd, off, n, (uintptr_t)buf)) return -1;
  return real_pwrite(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
  if (refuse("pwrite64", fd, off, n, (uintptr_t)buf)) return -1;
  return real_pwrite64(fd, buf, n, off);
}
ssize_t readv(int fd, const struct iovec *iov, int n) {
  if (refuse_iov("readv", fd, position(fd), iov, n)) return -1;
  return real_readv(fd, iov, n);
}
ssize_t writev(int fd, const struct iovec *iov, int n) {
  if (refuse_iov("writev", fd, position(fd), iov, n)) return -1;
  return real_writev(fd, iov, n);
}
ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off) {
  if (refuse_iov("preadv", fd, off, iov, n)) return -1;
  return real_preadv(fd, iov, n, off);
}
ssize_t preadv64(int fd, const struct iovec *iov, int n, off_t off) {
  if (refuse_iov("preadv64", fd, off, iov, n)) return -1;
  return real_preadv64(fd, iov, n, off);
}
ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off) {
  if (refuse_iov("pwritev", fd, off, iov, n)) return -1;
  return real_pwritev(fd, iov, n, off);
}
ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off) {
  if (refuse_iov("pwritev64", fd, off, iov, n)) return -1;
  return real_pwritev64(fd, iov, n, off);
}
ssize_t preadv2(int fd, const struct iovec *iov, int n, off_t off, int flags) {
  if (refuse_iov("preadv2", fd, off == -1 ? position(fd) : off, iov, n)) return -1;
  return real_preadv2(fd, iov, n, off, flags);
}
ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags) {
  if (refuse_iov("pwritev2", fd, off == -1 ? position(fd) : off, iov, n)) return -1;
  return real_pwritev2(fd, iov, n, off, flags);
}
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (refuse("__read_chk", fd, position(fd), n, (uintptr_t)buf)) return -1;
  return real_read_chk(fd, buf, n, buflen);
}
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen) {
  if (refuse("__pread_chk", fd, off, n, (uintptr_t)buf)) return -1;
  return real_pread_chk(fd, buf, n, off, buflen);
}
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen) {
  if (refuse("__pread64_chk", fd, off, n, (uintptr_t)buf)) return -1;
  return real_pread64_chk(fd, buf, n, off, buflen);
}
