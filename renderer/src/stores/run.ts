// The media run: the job the engine started, its progress events, and how it ended.
import { create } from 'zustand';
import type { ErrorDetail, MediaEvent, MediaResultSummary, StartMediaRequest } from '../../../shared/ipc.js';
import type { MediaProgress } from '../../../shared/media.js';
import { api, detailOf, errorDetail, errorMessage } from '../api.js';

export type RunState = 'idle' | 'starting' | 'running' | 'cancelling' | 'done' | 'error';

interface RunStore {
  state: RunState;
  jobId: string | null;
  kind: StartMediaRequest['kind'] | null;
  progress: MediaProgress | null;
  result: MediaResultSummary | null;
  /** How a failed run ended: the engine's code and its message, and the error's own code and values when it has them. */
  failure: { code: 'invalid' | 'failed' | 'cancelled' | 'start'; message: string; detail: ErrorDetail | null } | null;
  startedAt: number | null;
  /** Drives of a several-drive run whose own Cancel was pressed (until their progress says how they ended). */
  cancellingDrives: string[];
  subscribe(): void;
  start(req: StartMediaRequest): Promise<void>;
  cancel(): Promise<void>;
  /** Stops one drive of a several-drive run; the others go on. */
  cancelDrive(device: string): Promise<void>;
  reset(): void;
}

// Events that arrive before startMedia answers with the job's id are kept here, then replayed.
let early: MediaEvent[] = [];
let subscribed = false;

export const useRun = create<RunStore>()((set, get) => {
  const apply = (e: MediaEvent): void => {
    const s = get();
    if (s.jobId === null) {
      if (s.state === 'starting') early.push(e);
      return;
    }
    if (e.jobId !== s.jobId) return;
    if (e.type === 'progress') {
      if (s.state === 'running' || s.state === 'cancelling') set({ progress: e.progress });
    } else if (e.type === 'done') {
      set({ state: 'done', result: e.result, progress: s.progress ? { ...s.progress, phase: 'done' } : s.progress });
    } else {
      set({ state: 'error', failure: { code: e.code, message: e.message, detail: detailOf(e.detail) } });
    }
  };
  return {
    subscribe: () => {
      // Subscribed once, when the wizard opens: the event stream is then connected long before a run starts.
      if (subscribed) return;
      subscribed = true;
      api.onMediaEvent(apply);
    },
    state: 'idle',
    jobId: null,
    kind: null,
    progress: null,
    result: null,
    failure: null,
    startedAt: null,
    cancellingDrives: [],
    start: async (req) => {
      get().subscribe();
      early = [];
      set({ state: 'starting', jobId: null, kind: req.kind, progress: null, result: null, failure: null, startedAt: Date.now(), cancellingDrives: [] });
      try {
        const { jobId } = await api.startMedia(req);
        set({ jobId, state: get().state === 'starting' ? 'running' : get().state });
        const pending = early;
        early = [];
        for (const e of pending) apply(e);
      } catch (e) {
        set({ state: 'error', failure: { code: 'start', message: errorMessage(e), detail: errorDetail(e) } });
      }
    },
    cancel: async () => {
      const { jobId, state } = get();
      if (!jobId || (state !== 'running' && state !== 'cancelling')) return;
      set({ state: 'cancelling' });
      try {
        await api.cancelMedia(jobId);
      } catch (e) {
        // The run may have ended meanwhile; its own event says how.
        if (get().state === 'cancelling') set({ state: 'running', failure: null });
        console.warn('cancelMedia:', errorMessage(e));
      }
    },
    cancelDrive: async (device) => {
      const { jobId, state, cancellingDrives } = get();
      if (!jobId || state !== 'running' || cancellingDrives.includes(device)) return;
      set({ cancellingDrives: [...cancellingDrives, device] });
      try {
        await api.cancelDrive(jobId, device);
      } catch (e) {
        // The drive or the run may have ended meanwhile; its progress and result say how.
        set({ cancellingDrives: get().cancellingDrives.filter((d) => d !== device) });
        console.warn('cancelDrive:', errorMessage(e));
      }
    },
    reset: () => {
      early = [];
      set({ state: 'idle', jobId: null, kind: null, progress: null, result: null, failure: null, startedAt: null, cancellingDrives: [] });
    },
  };
});
