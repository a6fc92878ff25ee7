// Runs image writes and read-backs in a worker thread and reports their progress; an AbortSignal cancels them
// within one buffer (the worker polls a shared flag).
import { Worker } from 'node:worker_threads';
import { ContentIntegrityError, InputError } from './errors.js';
import type { ContentSource, ImageLayout } from './ImageLayout.js';
import { CancelledError, WriteError } from './ImageWriter.js';

export type WorkerJob =
  | {
      kind: 'write';
      path: string;
      layout: ImageLayout;
      /** 'file' (default) creates the file; 'device' opens a drive as it is. */
      target?: 'file' | 'device';
      gaps?: 'zero' | 'sparse' | 'skip';
      /** An image file's final length when it stands for a whole disk larger than the written part. */
      fileSize?: number;
    }
  | { kind: 'hash'; path: string }
  | { kind: 'hash-source'; source: ContentSource; label: string };

export type WorkerMessage =
  | { type: 'progress'; index: number; bytes: number; path: string | null }
  | { type: 'done'; index: number; sha256: string; bytes: number }
  | { type: 'finished' }
  | { type: 'error'; name: string; message: string };

export interface JobResult {
  sha256: string;
  bytes: number;
}

export interface RunJobsOptions {
  signal?: AbortSignal;
  onProgress?: (index: number, bytes: number, path: string | null) => void;
}

/** Rebuilds the error the worker threw, keeping its kind (the CLI's exit code depends on it). */
function reviveError(name: string, message: string): Error {
  switch (name) {
    case 'CancelledError':
      return new CancelledError();
    case 'InputError':
      return new InputError(message);
    case 'ContentIntegrityError':
      return new ContentIntegrityError(message, '');
    case 'WriteError':
      return new WriteError(message);
    default:
      return new WriteError(message);
  }
}

export function runImageJobs(jobs: WorkerJob[], options: RunJobsOptions = {}): Promise<JobResult[]> {
  const cancelFlag = new SharedArrayBuffer(4);
  const flag = new Int32Array(cancelFlag);
  const worker = new Worker(new URL('./imageWorker.js', import.meta.url), { workerData: { jobs, cancelFlag } });
  const results: JobResult[] = [];
  return new Promise((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      Atomics.store(flag, 0, 1);
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(results);
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') options.onProgress?.(m.index, m.bytes, m.path);
      else if (m.type === 'done') {
        results[m.index] = { sha256: m.sha256, bytes: m.bytes };
        options.onProgress?.(m.index, m.bytes, null);
      } else if (m.type === 'finished') finish(null);
      else if (m.type === 'error') finish(reviveError(m.name, m.message));
    });
    worker.on('error', (err) => finish(new WriteError(`the writer stopped: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!settled) finish(new WriteError(`the writer thread ended unexpectedly (exit code ${code}).`));
    });
  });
}
