// The shared ring of "one read, N writes": one reader thread fills fixed slots of shared memory with content chunks and
// hands each filled slot to every consumer (one writer thread per target, and the hashing thread) in one message each.
// A slot is reused only when every live consumer has released it. Each consumer's release is a cursor (the number of
// the last slot message it finished) rather than a per-slot count: a count cannot be corrected when a writer dies or is
// cancelled holding slots, whereas a dead consumer's cursor is simply left out of the minimum (its ALIVE word is 0).
// The reader waits on one word that every release increments (Atomics.wait / notify), so it sleeps while the ring is
// full and wakes on the first release.
import type { MessagePort } from 'node:worker_threads';
import { CancelledError } from './ImageWriter.js';

export interface FanOutShared {
  data: SharedArrayBuffer;
  /** Int32 words: ABORT, RELEASES, then per consumer its cursor, its ALIVE flag and its CANCEL flag. */
  control: SharedArrayBuffer;
  slots: number;
  slotSize: number;
  /** Writers are consumers 0 … consumers − 2; the hashing thread is the last. */
  consumers: number;
}

/** Set when the whole run stops (cancel all, or a source that cannot be read or does not match its hash). */
export const ABORT = 0;
/** Incremented and notified by every release and every death, so the reader can wait on one word. */
export const RELEASES = 1;
const BASE = 2;
export const cursorWord = (c: number): number => BASE + c;
export const aliveWord = (ring: FanOutShared, c: number): number => BASE + ring.consumers + c;
export const cancelWord = (ring: FanOutShared, c: number): number => BASE + 2 * ring.consumers + c;

export function createFanOutRing(slots: number, slotSize: number, consumers: number): FanOutShared {
  const ring: FanOutShared = { data: new SharedArrayBuffer(slots * slotSize), control: new SharedArrayBuffer(4 * (BASE + 3 * consumers)), slots, slotSize, consumers };
  const ctl = new Int32Array(ring.control);
  for (let c = 0; c < consumers; c++) ctl[aliveWord(ring, c)] = 1;
  return ring;
}

/** A chunk of a source in a slot: source `id`'s bytes from `at`, `len` of them, at `off` in the slot. */
export interface FanOutEntry {
  id: number;
  at: number;
  off: number;
  len: number;
}

/** What the reader sends each consumer: a filled slot (its `seq`-th, from 1), or the end after `seq` slots. */
export type FanOutMessage = { t: 'slot'; seq: number; slot: number; entries: FanOutEntry[] } | { t: 'end'; seq: number };

/** The reader stops: every writer has failed or been cancelled, so nothing it reads would be written. */
export class NoTargetsLeft extends Error {
  override readonly name = 'NoTargetsLeft';
}

/** A consumer's end: release a slot message once done with it, or leave the ring for good. */
export function release(ring: FanOutShared, consumer: number, seq: number): void {
  const ctl = new Int32Array(ring.control);
  Atomics.store(ctl, cursorWord(consumer), seq);
  Atomics.add(ctl, RELEASES, 1);
  Atomics.notify(ctl, RELEASES);
}

/** Marks a consumer dead: the ring no longer waits for it. */
export function leave(ring: FanOutShared, consumer: number): void {
  const ctl = new Int32Array(ring.control);
  Atomics.store(ctl, aliveWord(ring, consumer), 0);
  Atomics.add(ctl, RELEASES, 1);
  Atomics.notify(ctl, RELEASES);
}

const WAIT_MS = 100;
/** A slot with less room than this is handed over rather than filled further (many small files share one slot). */
const MIN_ROOM = 256 * 1024;

/** The reader's end: room to read into, chunks recorded, slots handed to every consumer. */
export class FanOutProducer {
  private readonly ctl: Int32Array;
  private readonly views: Buffer[];
  private seq = 0;
  private open = -1;
  private fill = 0;
  private entries: FanOutEntry[] = [];

  constructor(
    private readonly ring: FanOutShared,
    /** One port per consumer; null for a writer that never started (its target did not open). */
    private readonly ports: (MessagePort | null)[],
  ) {
    this.ctl = new Int32Array(ring.control);
    this.views = Array.from({ length: ring.slots }, (_, i) => Buffer.from(ring.data, i * ring.slotSize, ring.slotSize));
  }

  /** Room for the next chunk: the rest of the open slot, or the next slot once every live consumer released it. */
  buffer(): Buffer {
    if (this.open >= 0 && this.ring.slotSize - this.fill >= MIN_ROOM) return this.views[this.open].subarray(this.fill);
    this.handOver();
    const next = this.seq + 1;
    // The slot's previous occupant was message next − slots: every live consumer must be past it.
    this.waitFor(next - this.ring.slots, false);
    this.open = (next - 1) % this.ring.slots;
    this.fill = 0;
    return this.views[this.open];
  }

  /** Records `chunk` (source `id` from `at`); a chunk from elsewhere than buffer()'s room (a generated piece) is copied in. */
  take(id: number, at: number, chunk: Buffer): void {
    const inPlace = this.open >= 0 && chunk.buffer === this.ring.data && chunk.byteOffset === this.open * this.ring.slotSize + this.fill;
    if (inPlace) {
      this.entries.push({ id, at, off: this.fill, len: chunk.length });
      this.fill += chunk.length;
      return;
    }
    let done = 0;
    while (done < chunk.length) {
      const room = this.buffer();
      const n = chunk.copy(room, 0, done, Math.min(chunk.length, done + room.length));
      this.entries.push({ id, at: at + done, off: this.fill, len: n });
      this.fill += n;
      done += n;
    }
  }

  /** Hands over the last slot and waits until the hashing thread has checked every slot; returns the slots sent. */
  finish(): number {
    this.handOver();
    this.waitFor(this.seq, true);
    return this.seq;
  }

  /** Sends the end to every consumer still there. */
  end(): void {
    for (const p of this.ports) p?.postMessage({ t: 'end', seq: this.seq } satisfies FanOutMessage);
  }

  private handOver(): void {
    if (this.open < 0) return;
    if (this.entries.length > 0) {
      this.seq += 1;
      const m: FanOutMessage = { t: 'slot', seq: this.seq, slot: this.open, entries: this.entries };
      for (let c = 0; c < this.ports.length; c++) if (this.alive(c)) this.ports[c]?.postMessage(m);
    }
    this.open = -1;
    this.fill = 0;
    this.entries = [];
  }

  private alive(c: number): boolean {
    return Atomics.load(this.ctl, aliveWord(this.ring, c)) !== 0;
  }

  /**
   * Waits until every live consumer's cursor is at least `seq` (only the hashing thread's with `hasherOnly`). Throws
   * CancelledError on abort, NoTargetsLeft when no writer is alive, and an Error when the hashing thread has left (it
   * reported why to the parent).
   */
  private waitFor(seq: number, hasherOnly: boolean): void {
    const hasher = this.ring.consumers - 1;
    for (;;) {
      const seen = Atomics.load(this.ctl, RELEASES);
      if (Atomics.load(this.ctl, ABORT) !== 0) throw new CancelledError();
      if (!this.alive(hasher)) throw new Error('the content check stopped');
      let writers = 0;
      let behind = false;
      for (let c = 0; c < this.ring.consumers; c++) {
        if (!this.alive(c)) continue;
        if (c !== hasher) writers += 1;
        if ((!hasherOnly || c === hasher) && Atomics.load(this.ctl, cursorWord(c)) < seq) behind = true;
      }
      if (writers === 0) throw new NoTargetsLeft('every target has failed or was cancelled');
      if (!behind) return;
      Atomics.wait(this.ctl, RELEASES, seen, WAIT_MS);
    }
  }
}
