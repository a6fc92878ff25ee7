// The hashing thread beside the writer: checks content hashes of the chunks the writer hands over (and, on a read-back,
// hashes the whole image), then frees each slot of the shared ring. It runs on the second core.
import { createHash, type Hash } from 'node:crypto';
import { workerData, type MessagePort } from 'node:worker_threads';
import { SourceHashes } from './ImageWriter.js';
import type { RingMessage, RingReply, RingShared } from './SlotRing.js';
import { lowerThisThreadPriority } from './threadPriority.js';

lowerThisThreadPriority();
const { ring, port } = workerData as { ring: RingShared; port: MessagePort };
const state = new Int32Array(ring.control);
const views = Array.from({ length: ring.slots }, (_, i) => Buffer.from(ring.data, i * ring.slotSize, ring.slotSize));
const hashes = new SourceHashes();
let image: Hash = createHash('sha256');
let failed = false;

function reply(r: RingReply): void {
  port.postMessage(r);
  Atomics.add(state, ring.slots + 1, 1);
  Atomics.notify(state, ring.slots + 1);
}

function free(slot: number): void {
  Atomics.store(state, slot, 0);
  Atomics.notify(state, slot);
}

port.on('message', (m: RingMessage) => {
  if (m.t === 'digest') {
    reply({ t: 'digest', sha256: image.digest('hex') });
    image = createHash('sha256');
    return;
  }
  try {
    // After a failure the slots are only freed, so the writer is never left waiting.
    if (!failed) {
      for (const e of m.entries) {
        const chunk = views[m.slot].subarray(e.offset, e.offset + e.length);
        if (e.t === 'image') image.update(chunk);
        else hashes.update({ kind: 'file', path: e.key, size: e.size, sha256: e.sha256, label: e.label }, e.at, chunk);
      }
    }
  } catch (err) {
    failed = true;
    const e = err as Error & { file?: unknown };
    reply({ t: 'error', name: e.name, message: e.message, label: typeof e.file === 'string' ? e.file : '' });
    Atomics.store(state, ring.slots, 1);
  } finally {
    free(m.slot);
  }
});
