// The reader thread of a fan-out write: reads every shared content source once, in the order planned, into the ring
// (FanOutRing), and hands each filled slot to every writer and to the hashing thread. It sends the end only after the
// hashing thread has checked every slot, so no writer finishes (or writes a drive's boot region) on content that failed.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ContentSource } from './ImageLayout.js';
import { readSource } from './ImageWriter.js';
import { ABORT, FanOutProducer, type FanOutShared } from './FanOutRing.js';
import { rehydrateSource } from './LayoutClone.js';
import { lowerThisThreadPriority } from './threadPriority.js';

/** A source to read once: the union of the byte ranges any target needs of it, in order. */
export interface ReadSpan {
  id: number;
  source: ContentSource;
  ranges: [number, number][];
}

export type ReaderReport = { type: 'read'; bytes: number } | { type: 'error'; name: string; message: string; label: string };

const { ring, ports, spans } = workerData as { ring: FanOutShared; ports: (MessagePort | null)[]; spans: ReadSpan[] };
lowerThisThreadPriority();
const ctl = new Int32Array(ring.control);
const cancelled = (): boolean => Atomics.load(ctl, ABORT) !== 0;
const producer = new FanOutProducer(ring, ports);
let bytes = 0;

try {
  for (const span of spans) {
    const source = rehydrateSource(span.source);
    for (const [from, to] of span.ranges) {
      readSource(source, from, to - from, () => producer.buffer(), cancelled, (chunk, at) => {
        producer.take(span.id, at, chunk);
        bytes += chunk.length;
      });
    }
  }
  producer.finish();
  producer.end();
  parentPort?.postMessage({ type: 'read', bytes } satisfies ReaderReport);
} catch (err) {
  const e = err as Error & { file?: unknown };
  parentPort?.postMessage({ type: 'error', name: e.name, message: e.message, label: typeof e.file === 'string' ? e.file : '' } satisfies ReaderReport);
  parentPort?.postMessage({ type: 'read', bytes } satisfies ReaderReport);
} finally {
  for (const p of ports) p?.close();
}
