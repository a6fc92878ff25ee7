// Lowers the priority of the calling thread (Linux: nice values are per thread, and /proc/thread-self names it), so
// the writer's threads yield the CPU to the wizard's window and the rest of the desktop when both are busy. Elsewhere
// it does nothing: other systems only set priorities per process, and the UI may share the writer's process.
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';

export function lowerThisThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // no /proc or not allowed: the thread keeps its priority
  }
}
