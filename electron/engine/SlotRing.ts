// A ring of buffers in shared memory between the thread that reads and writes (the producer) and a hashing thread
// (the consumer), so SHA-256 runs on the second core while the first copies. A slot is free (0) or with the hasher
// (1); the producer waits on a slot with Atomics.wait, the hasher frees it with Atomics.notify. Chunk descriptions
// travel over a MessagePort; the hasher's answers (an integrity error, an image digest) come back on the same port
// and are read synchronously with receiveMessageOnPort, since the producer's loop never yields.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ContentIntegrityError } from './errors.js';
import { CancelledError, type ContentHasher } from './ImageWriter.js';
import type { ContentSource } from './ImageLayout.js';

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

/** What the producer sends for a chunk. */
export type RingMessage =
  | { t: 'content'; slot: number; length: number; key: string; size: number; sha256: string; label: string; at: number }
  | { t: 'image'; slot: number; length: number }
  | { t: 'digest' };

/** What the hasher answers. */
export type RingReply = { t: 'error'; name: string; message: string; label: string } | { t: 'digest'; sha256: string };

const WAIT_MS = 100;

/** The producer's end: hands chunks to the hasher and checks content as a ContentHasher. */
export class RingProducer implements ContentHasher {
  private readonly state: Int32Array;
  private readonly views: Buffer[];
  private next = 0;
  private current = -1;
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

  get slotSize(): number {
    return this.ring.slotSize;
  }

  /** The next free slot's buffer (waits while the hasher still holds it). */
  buffer(): Buffer {
    const i = this.next;
    this.next = (this.next + 1) % this.ring.slots;
    this.waitFree(i);
    this.current = i;
    return this.views[i];
  }

  take(source: ContentSource, sourceOffset: number, chunk: Buffer): void {
    if ((source.kind !== 'library' && source.kind !== 'file') || !source.sha256) return;
    const slot = this.slotOf(chunk);
    const key = source.kind === 'library' ? source.blobPath : source.path;
    this.send({ t: 'content', slot, length: chunk.length, key, size: source.size, sha256: source.sha256, label: source.label, at: sourceOffset }, slot);
  }

  /** Hands over a chunk of the image (read back) for the whole-image hash. */
  takeImage(chunk: Buffer): void {
    const slot = this.slotOf(chunk);
    this.send({ t: 'image', slot, length: chunk.length }, slot);
  }

  drain(): void {
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

  private slotOf(chunk: Buffer): number {
    const i = this.current;
    if (i < 0 || chunk.buffer !== this.ring.data || chunk.byteOffset < i * this.ring.slotSize || chunk.byteOffset + chunk.length > (i + 1) * this.ring.slotSize) {
      throw new Error('ring: a chunk handed over is not in the slot last given out');
    }
    return i;
  }

  private send(m: RingMessage, slot: number): void {
    Atomics.store(this.state, slot, 1);
    this.port.postMessage(m);
    this.current = -1;
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
