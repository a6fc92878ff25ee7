// The hashing thread of a fan-out write: one more consumer of the ring, checking each content chunk once against the
// content library's SHA-256 (SourceHashes), on its own core while the writers write. On a mismatch it leaves the ring
// and tells the parent, which stops the run: the reader, waiting for this thread before it sends the end, stops too.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ContentSource } from './ImageLayout.js';
import { SourceHashes } from './ImageWriter.js';
import { leave, release, type FanOutMessage, type FanOutShared } from './FanOutRing.js';
import { lowerThisThreadPriority } from './threadPriority.js';

export type HasherReport = { type: 'error'; name: string; message: string; label: string };

const { ring, port, sources } = workerData as { ring: FanOutShared; port: MessagePort; sources: (ContentSource | null)[] };
lowerThisThreadPriority();
const me = ring.consumers - 1;
const hashes = new SourceHashes();
const data = Buffer.from(ring.data);

port.on('message', (m: FanOutMessage) => {
  if (m.t === 'end') {
    port.close();
    return;
  }
  try {
    for (const e of m.entries) {
      const source = sources[e.id];
      if (source) hashes.update(source, e.at, data.subarray(m.slot * ring.slotSize + e.off, m.slot * ring.slotSize + e.off + e.len));
    }
    release(ring, me, m.seq);
  } catch (err) {
    const e = err as Error & { file?: unknown };
    parentPort?.postMessage({ type: 'error', name: e.name, message: e.message, label: typeof e.file === 'string' ? e.file : '' } satisfies HasherReport);
    leave(ring, me);
    port.close();
  }
});
