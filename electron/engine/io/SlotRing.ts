// A ring of buffers in shared memory between the thread that reads and writes (the producer) and a hashing thread
// (the consumer), so SHA-256 runs on the second core while the first copies. A slot is free (0) or with the hasher
// (1); the producer fills a slot with one or more chunks (many small files share one), then hands it over in one
// message. The producer waits on a slot with Atomics.wait, the hasher frees it with Atomics.notify. The hasher's
// answers (an integrity error, an image digest) come back on the same port and are read with receiveMessageOnPort,
// since the producer's loop never yields.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ContentIntegrityError } from '../errors.js';
import { CancelledError, checkedSource, type ContentHasher } from './ImageWriter.js';
import { sourceSize, type ContentSource } from './ImageLayout.js';

export interface RingShared {
  data: SharedArrayBuffer;
  /** Int32: one state per slot, then the error flag, then the count of replies sent. */
  control: SharedArrayBuffer;
  slots: number;
  slotSize: number;
}

export function createRing(slots: number, slotSize: number): RingShared {
  return { data: new SharedArrayBuffer(slots * slotSize), control: new SharedArrayBuffer(4 * (slots + 2)), slots, slotSize };
}

/** A chunk in a slot: content to check against its source's hash, or bytes of the image to hash whole. */
export type RingEntry =
  | { t: 'content'; offset: number; length: number; key: string; size: number; sha256: string; label: string; at: number }
  | { t: 'image'; offset: number; length: number };

/** What the producer sends. */
export type RingMessage = { t: 'slot'; slot: number; entries: RingEntry[] } | { t: 'digest' };

/** What the hasher answers. */
export type RingReply = { t: 'error'; name: string; message: string; label: string } | { t: 'digest'; sha256: string };

const WAIT_MS = 100;
/** A slot with less room than this is handed over rather than filled further. */
const MIN_ROOM = 256 * 1024;

/** The producer's end: hands chunks to the hasher and checks content as a ContentHasher. */
export class RingProducer implements ContentHasher {
  private readonly state: Int32Array;
  private readonly views: Buffer[];
  private next = 0;
  /** The slot being filled, how far, and with what. */
  private open = -1;
  private fill = 0;
  private entries: RingEntry[] = [];
  private replies = 0;
  private failure: Error | null = null;

  constructor(
    private readonly ring: RingShared,
    private readonly port: MessagePort,
    private readonly cancelled: () => boolean,
  ) {
    this.state = new Int32Array(ring.control);
    this.views = Array.from({ length: ring.slots }, (_, i) => Buffer.from(ring.data, i * ring.slotSize, ring.slotSize));
  }

  /** Room to read the next chunk into: the rest of the open slot, or the next free one (waiting for it). */
  buffer(): Buffer {
    if (this.open >= 0 && this.ring.slotSize - this.fill >= MIN_ROOM) return this.views[this.open].subarray(this.fill);
    this.handOver();
    const i = this.next;
    this.next = (this.next + 1) % this.ring.slots;
    this.waitFree(i);
    this.open = i;
    this.fill = 0;
    return this.views[i];
  }

  take(source: ContentSource, sourceOffset: number, chunk: Buffer): void {
    // Bytes that need no check leave their room to the next chunk.
    const checked = checkedSource(source);
    if (!checked) return;
    this.add(chunk, { t: 'content', offset: this.fill, length: chunk.length, key: checked.key, size: sourceSize(source), sha256: checked.sha256, label: source.label, at: sourceOffset });
  }

  /** Hands over a chunk of the image (read back) for the whole-image hash. */
  takeImage(chunk: Buffer): void {
    this.add(chunk, { t: 'image', offset: this.fill, length: chunk.length });
  }

  drain(): void {
    this.handOver();
    for (let i = 0; i < this.ring.slots; i++) this.waitFree(i);
    this.checkError();
  }

  /** The SHA-256 of every chunk given to takeImage since the last digest. */
  digest(): string {
    this.drain();
    this.port.postMessage({ t: 'digest' } satisfies RingMessage);
    const reply = this.awaitReply();
    if (reply.t !== 'digest') throw this.revive(reply);
    return reply.sha256;
  }

  get slotSize(): number {
    return this.ring.slotSize;
  }

  private add(chunk: Buffer, entry: RingEntry): void {
    const i = this.open;
    if (i < 0 || chunk.buffer !== this.ring.data || chunk.byteOffset !== i * this.ring.slotSize + this.fill || chunk.length > this.ring.slotSize - this.fill) {
      throw new Error('ring: a chunk handed over is not where buffer() gave room');
    }
    this.entries.push(entry);
    this.fill += chunk.length;
  }

  private handOver(): void {
    if (this.open < 0) return;
    if (this.entries.length > 0) {
      Atomics.store(this.state, this.open, 1);
      this.port.postMessage({ t: 'slot', slot: this.open, entries: this.entries } satisfies RingMessage);
    }
    this.open = -1;
    this.fill = 0;
    this.entries = [];
  }

  private waitFree(i: number): void {
    while (Atomics.load(this.state, i) !== 0) {
      this.checkError();
      if (this.cancelled()) throw new CancelledError();
      Atomics.wait(this.state, i, 1, WAIT_MS);
    }
  }

  private checkError(): void {
    if (this.failure) throw this.failure;
    if (Atomics.load(this.state, this.ring.slots) === 0) return;
    this.failure = this.revive(this.awaitReply());
    throw this.failure;
  }

  private awaitReply(): RingReply {
    const counter = this.ring.slots + 1;
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got) {
        this.replies += 1;
        return got.message as RingReply;
      }
      if (this.cancelled()) throw new CancelledError();
      Atomics.wait(this.state, counter, this.replies, WAIT_MS);
    }
  }

  private revive(reply: RingReply): Error {
    if (reply.t === 'error') return reply.name === 'ContentIntegrityError' ? new ContentIntegrityError(reply.message, reply.label) : new Error(reply.message);
    return new Error('ring: an unexpected digest');
  }
}
