// Checks on the progress a media run reports.
import assert from 'node:assert/strict';
import type { MediaProgress } from '../../shared/media.js';

/** The write phase's events: never past the total, never back, ending at it; its total. */
export function checkWritePhase(events: MediaProgress[], what: string): number {
  const writes = events.filter((e) => e.phase === 'write');
  assert.ok(writes.length > 0, `${what}: no write progress`);
  const total = writes[0].bytesTotal;
  let last = 0;
  for (const e of writes) {
    assert.equal(e.bytesTotal, total, `${what}: the total changed`);
    assert.ok(e.bytesDone <= total, `${what}: ${e.bytesDone} bytes done of ${total}`);
    assert.ok(e.bytesDone >= last, `${what}: progress went back from ${last} to ${e.bytesDone}`);
    last = e.bytesDone;
  }
  assert.equal(last, total, `${what}: the write ended at ${last} of ${total}`);
  return total;
}
