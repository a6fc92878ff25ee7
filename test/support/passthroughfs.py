#!/usr/bin/python3
# A tiny FUSE file system for the failing-disk tests: it mirrors a backing folder (every call passed straight to it),
# so a test can mount it as an output folder and then kill this process with SIGKILL while the writer is at work —
# a network share or a USB disk that vanishes. Needs Debian's python3-fuse (libfuse 2).
#
#   passthroughfs.py BACKING MOUNTPOINT [--unknown-size] [--subtype=NAME]
#
# It stays in the foreground; unmount with "umount -l MOUNTPOINT". --unknown-size reports a size of 0 blocks, as smbnetfs
# and other network file systems do (free space not reported); --subtype=smbnetfs makes the mount's type fuse.smbnetfs,
# so that <MOUNTPOINT>/<server>/<share>/… is taken for a share, as smbnetfs lays one out.
import errno
import os
import sys

import fuse
from fuse import Fuse

fuse.fuse_python_api = (0, 2)


class Handle:
    def __init__(self, fd):
        self.fd = fd


class Passthrough(Fuse):
    def __init__(self, backing, unknown_size, *args, **kw):
        Fuse.__init__(self, *args, **kw)
        self.backing = backing
        self.unknown_size = unknown_size

    def _p(self, path):
        return os.path.join(self.backing, path.lstrip('/'))

    def getattr(self, path):
        return os.lstat(self._p(path))

    def readdir(self, path, offset):
        for name in ['.', '..'] + os.listdir(self._p(path)):
            yield fuse.Direntry(name)

    def access(self, path, mode):
        if not os.access(self._p(path), mode):
            return -errno.EACCES

    def statfs(self):
        if self.unknown_size:
            return fuse.StatVfs(f_bsize=4096, f_frsize=4096, f_blocks=0, f_bfree=0, f_bavail=0, f_files=0, f_ffree=0, f_favail=0, f_flag=0, f_namemax=255)
        return os.statvfs(self.backing)

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def unlink(self, path):
        os.unlink(self._p(path))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def truncate(self, path, size):
        os.truncate(self._p(path), size)

    def utimens(self, path, ts_acc, ts_mod):
        os.utime(self._p(path), ns=(ts_acc.tv_sec * 10**9 + ts_acc.tv_nsec, ts_mod.tv_sec * 10**9 + ts_mod.tv_nsec))

    # Files: the handle returned by open/create holds the backing file's descriptor (python-fuse takes a returned
    # int for an error number, so it is wrapped).
    def open(self, path, flags):
        return Handle(os.open(self._p(path), flags))

    def create(self, path, flags, mode):
        return Handle(os.open(self._p(path), flags | os.O_CREAT, mode))

    def read(self, path, size, offset, fh):
        return os.pread(fh.fd, size, offset)

    def write(self, path, buf, offset, fh):
        return os.pwrite(fh.fd, buf, offset)

    def ftruncate(self, path, size, fh):
        os.ftruncate(fh.fd, size)

    def fgetattr(self, path, fh):
        return os.fstat(fh.fd)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh.fd)

    def release(self, path, flags, fh):
        os.close(fh.fd)


def main():
    options = sys.argv[3:]
    subtypes = [o[len('--subtype='):] for o in options if o.startswith('--subtype=')]
    if len(sys.argv) < 3 or any(o != '--unknown-size' and not o.startswith('--subtype=') for o in options):
        sys.exit('usage: passthroughfs.py BACKING MOUNTPOINT [--unknown-size] [--subtype=NAME]')
    backing, mountpoint = os.path.realpath(sys.argv[1]), sys.argv[2]
    server = Passthrough(backing, '--unknown-size' in options, version='passthroughfs', usage='passthroughfs.py BACKING MOUNTPOINT', dash_s_do='setsingle')
    mount_options = 'big_writes,max_write=131072,fsname=tsmedia-passthrough' + ''.join(',subtype=' + t for t in subtypes)
    server.multithreaded = False
    server.parse(['-f', '-o', mount_options, mountpoint], errex=1)
    server.main()


if __name__ == '__main__':
    main()
