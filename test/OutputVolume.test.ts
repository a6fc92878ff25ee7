// The output folder's kind: shares named from the mount tables as Linux and macOS print them and from Windows paths,
// free space that a file system does not report, and what a run leaves and removes on a share (SafeOutput).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CmTraceLog } from '../electron/engine/media/CmTraceLog.js';
import { FOREIGN_PARTIAL_AGE_MS, computerTag, nameShareFailure, removeStalePartials, tempPathFor } from '../electron/engine/media/SafeOutput.js';
import { WriteError } from '../electron/engine/io/ImageWriter.js';
import { InputError } from '../electron/engine/errors.js';
import { freeSpace, mountOf, outputVolume, parseMacMount, parseMountInfo, shareOfMount, uncShare, windowsShare, type MountEntry, type OutputVolume } from '../electron/engine/io/OutputVolume.js';
import { tempDir } from './helpers.js';

// Lines as /proc/self/mountinfo prints them (proc(5)); the smbnetfs one was read off this machine.
const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
  '44 26 0:39 / /tmp/smbx/mnt rw,nosuid,nodev,relatime - fuse.smbnetfs smbnetfs rw,user_id=0,group_id=0',
  '51 22 0:45 / /mnt/deploy rw,relatime - cifs //nas01/Deploy rw,vers=3.1.1,username=admin',
  '52 22 0:46 / /mnt/user\\040media rw,relatime - cifs //alice@nas02/Media\\040Sets rw',
  '53 22 0:47 / /srv/nfs rw,relatime shared:5 - nfs4 filer:/export/osd rw,vers=4.2',
  '54 22 0:48 / /run/user/1000/gvfs rw - fuse.gvfsd-fuse gvfsd-fuse rw,user_id=1000',
  '55 22 0:49 / /media/usb rw - vfat /dev/sdb1 rw',
].join('\n');

// macOS `mount` output (mount(8)).
const MAC_MOUNT = [
  '/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)',
  '//admin@fs01.corp.example/OSD on /Volumes/OSD (smbfs, nodev, nosuid, mounted by admin)',
  'filer:/export/media on /Volumes/media (nfs, nodev, nosuid, mounted by admin)',
  '/dev/disk4s1 on /Volumes/STICK (msdos, local, nodev, nosuid, noowners, noatime)',
].join('\n');

/** The share a path is on, as a mount table lists the mounts. */
function shareAt(entries: MountEntry[], path: string): ReturnType<typeof shareOfMount> {
  const e = mountOf(entries, path);
  return e ? shareOfMount(e, path) : null;
}

describe('output volume: which share a folder is on', () => {
  test('Linux mountinfo: cifs (user dropped, escapes undone), NFS, smbnetfs by path, GNOME gvfs; local disks are no share', () => {
    const entries = parseMountInfo(MOUNTINFO);
    assert.equal(entries.length, 7);
    const share = (path: string) => shareAt(entries, path);
    assert.deepEqual(share('/mnt/deploy/iso'), { name: '//nas01/Deploy', protocol: 'smb', mountedAt: '/mnt/deploy' });
    assert.deepEqual(share('/mnt/user media/a'), { name: '//nas02/Media Sets', protocol: 'smb', mountedAt: '/mnt/user media' });
    assert.deepEqual(share('/srv/nfs/x'), { name: 'filer:/export/osd', protocol: 'nfs', mountedAt: '/srv/nfs' });
    assert.deepEqual(share('/tmp/smbx/mnt/127.0.0.1/media/sets'), { name: '//127.0.0.1/media', protocol: 'smb', mountedAt: '/tmp/smbx/mnt/127.0.0.1/media' });
    // smbnetfs' top levels (the network, a server) are no share yet.
    assert.equal(share('/tmp/smbx/mnt/127.0.0.1'), null);
    assert.deepEqual(share('/run/user/1000/gvfs/smb-share:server=nas03,share=osd/sets'), { name: '//nas03/osd', protocol: 'smb', mountedAt: '/run/user/1000/gvfs/smb-share:server=nas03,share=osd' });
    assert.equal(share('/media/usb/x'), null);
    assert.equal(share('/home/admin'), null);
    // A prefix of a mountpoint's name is not inside it.
    assert.equal(mountOf(entries, '/mnt/deployments')?.mountpoint, '/');
  });

  test('macOS mount: smbfs without the user, NFS; a local volume is no share', () => {
    const entries = parseMacMount(MAC_MOUNT);
    assert.equal(entries.length, 4);
    const share = (path: string) => shareAt(entries, path);
    assert.deepEqual(share('/Volumes/OSD/sets'), { name: '//fs01.corp.example/OSD', protocol: 'smb', mountedAt: '/Volumes/OSD' });
    assert.deepEqual(share('/Volumes/media'), { name: 'filer:/export/media', protocol: 'nfs', mountedAt: '/Volumes/media' });
    assert.equal(share('/Volumes/STICK/x'), null);
  });

  test('Windows: UNC paths, long UNC paths and drive letters mapped to a share; local and device paths are no share', () => {
    assert.equal(uncShare('\\\\fs01\\OSD\\sets\\media.iso'), '\\\\fs01\\OSD');
    assert.equal(uncShare('\\\\fs01\\OSD'), '\\\\fs01\\OSD');
    assert.equal(uncShare('\\\\?\\UNC\\fs01\\OSD\\sets'), '\\\\fs01\\OSD');
    assert.equal(uncShare('//fs01/OSD/sets'), '\\\\fs01\\OSD');
    for (const local of ['C:\\media\\x.iso', '\\\\?\\C:\\media', '\\\\.\\PhysicalDrive1', '\\\\fs01', 'relative\\x.iso']) assert.equal(uncShare(local), null, local);
    const mapped: Record<string, string> = { 'Z:\\sets': '\\\\fs01\\OSD\\sets' };
    const finalPath = (p: string): string | null => mapped[p] ?? null;
    assert.deepEqual(windowsShare('Z:\\sets', finalPath), { name: '\\\\fs01\\OSD', protocol: 'smb', mountedAt: 'Z:' });
    assert.deepEqual(windowsShare('\\\\fs01\\OSD\\sets', finalPath), { name: '\\\\fs01\\OSD', protocol: 'smb', mountedAt: null });
    assert.equal(windowsShare('C:\\media', () => 'C:\\media'), null);
    assert.equal(windowsShare('D:\\media', () => null), null);
  });

  test('free space: known on a local disk, unknown (null, with the reason) where the query fails', (t) => {
    const dir = tempDir(t);
    const here = freeSpace(dir);
    assert.equal(here.why, null);
    assert.ok(here.free !== null && here.free > 0);
    const gone = freeSpace(join(dir, 'missing'));
    assert.equal(gone.free, null);
    assert.match(gone.why ?? '', /cannot be asked/);
    assert.equal(outputVolume(dir).share, null);
  });
});

describe('safe output on a share', () => {
  const share: OutputVolume = { folder: '/nowhere/share', free: null, freeUnknown: 'x', share: { name: '//srv/media', protocol: 'smb', mountedAt: '/nowhere/share' } };

  test('a failed write on a share that no longer answers is SHARE_LOST, naming the share and the files left', async () => {
    const err = await nameShareFailure(new WriteError('I/O error writing /nowhere/share/.a.iso.partial: the disk or drive reported a failure'), share, ['/nowhere/share/.a.iso.tsmedia-1-0123abcd-pc.partial']);
    assert.ok(err instanceof WriteError);
    assert.deepEqual(err.detail, { code: 'SHARE_LOST', params: { share: '//srv/media', folder: '/nowhere/share' } });
    assert.match(err.message, /^the network share \/\/srv\/media \(at \/nowhere\/share\) stopped answering while the media was written \(I\/O error writing \/nowhere\/share\/\.a\.iso\.partial\)\./);
    assert.match(err.message, /removes what this run left \(\.a\.iso\.tsmedia-1-0123abcd-pc\.partial\)/);
  });

  test('refusals, a share that still answers, and local folders keep their own error', async (t) => {
    const refusal = new InputError('bad');
    assert.equal(await nameShareFailure(refusal, share, []), refusal);
    const local = new WriteError('disk full');
    assert.equal(await nameShareFailure(local, { ...share, share: null }, []), local);
    const dir = tempDir(t);
    assert.equal(await nameShareFailure(local, { ...share, folder: dir }, []), local, 'the folder answers: the cause is not a lost share');
  });

  test('partial names carry the computer; another computer\'s partial is removed only when a day old', (t) => {
    const dir = tempDir(t);
    const final = join(dir, 'media.iso');
    const mine = tempPathFor(final);
    assert.match(mine, new RegExp(`\\.media\\.iso\\.tsmedia-${process.pid}-[0-9a-f]{8}-${computerTag()}\\.partial$`));
    assert.equal(computerTag('WS-01.corp.example'), 'WS-01-corp-example');
    const other = (name: string): string => join(dir, `.media.iso.tsmedia-4242-0123abcd-${name}.partial`);
    const fresh = other('OTHERPC');
    const old = other('OLDPC');
    const deadHere = join(dir, `.media.iso.tsmedia-999999-0123abcd-${computerTag()}.partial`);
    for (const p of [mine, fresh, old, deadHere]) writeFileSync(p, 'x');
    const now = Date.now();
    const dayAgo = (now - FOREIGN_PARTIAL_AGE_MS - 60_000) / 1000;
    utimesSync(old, dayAgo, dayAgo);
    const r = removeStalePartials([final], now);
    assert.deepEqual(r.removed.sort(), [deadHere, old].sort());
    assert.deepEqual(r.kept, [fresh]);
    assert.deepEqual(readdirSync(dir).sort(), [mine, fresh].map((p) => p.slice(dir.length + 1)).sort(), 'this live run\'s own file stays');
  });
});

describe('CMTrace log without O_APPEND', () => {
  test('entries go to the end of the file, also of one another run wrote, and after reopening', (t) => {
    const dir = tempDir(t);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'CreateTSMedia.log');
    const a = new CmTraceLog([path], { thread: 1 });
    const b = new CmTraceLog([path], { thread: 2 });
    a.info('first');
    b.info('second');
    a.info('third');
    a.close();
    b.close();
    const c = new CmTraceLog([path], { thread: 3 });
    c.info('fourth');
    c.close();
    const lines = readFileSync(path, 'utf8').split('\r\n').filter(Boolean);
    assert.deepEqual(lines.map((l) => /<!\[LOG\[(.*)\]LOG\]!>/.exec(l)?.[1]), ['first', 'second', 'third', 'fourth']);
    assert.equal(c.problems.length, 0);
  });
});
