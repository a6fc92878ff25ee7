// A refresh's dry run (issue 20): the job that compares the drive's media with the media the answers make and gives
// the change list, before anything is written. Its events come on the same stream as a media run's, by its own job ID.
import { create } from 'zustand';
import type { ErrorDetail, MediaEvent, MediaResultSummary, StartMediaRequest } from '../../../shared/ipc.js';
import type { MediaProgress } from '../../../shared/media.js';
import { api, detailOf, errorDetail, errorMessage } from '../api.js';

export type PlanState = 'idle' | 'starting' | 'planning' | 'ready' | 'error';

interface RefreshPlanStore {
  state: PlanState;
  jobId: string | null;
  progress: MediaProgress | null;
  /** The dry run's result: `refresh.changes` is the change list. */
  result: MediaResultSummary | null;
  failure: { code: string; message: string; detail: ErrorDetail | null } | null;
  start(req: StartMediaRequest): Promise<void>;
  /** Stops the dry run (if it still runs) and forgets it. */
  cancel(): Promise<void>;
}

let early: MediaEvent[] = [];
let subscribed = false;

export const useRefreshPlan = create<RefreshPlanStore>()((set, get) => {
  const apply = (e: MediaEvent): void => {
    const s = get();
    if (s.jobId === null) {
      if (s.state === 'starting') early.push(e);
      return;
    }
    if (e.jobId !== s.jobId || s.state !== 'planning') return;
    if (e.type === 'progress') set({ progress: e.progress });
    else if (e.type === 'done') set({ state: 'ready', result: e.result });
    else set({ state: 'error', failure: { code: e.code, message: e.message, detail: detailOf(e.detail) } });
  };
  return {
    state: 'idle',
    jobId: null,
    progress: null,
    result: null,
    failure: null,
    start: async (req) => {
      if (!subscribed) {
        subscribed = true;
        api.onMediaEvent(apply);
      }
      early = [];
      set({ state: 'starting', jobId: null, progress: null, result: null, failure: null });
      try {
        const { jobId } = await api.startMedia(req);
        if (get().state !== 'starting') {
          // Cancelled while it was starting.
          void api.cancelMedia(jobId).catch(() => undefined);
          return;
        }
        set({ jobId, state: 'planning' });
        const pending = early;
        early = [];
        for (const e of pending) apply(e);
      } catch (e) {
        set({ state: 'error', failure: { code: 'start', message: errorMessage(e), detail: errorDetail(e) } });
      }
    },
    cancel: async () => {
      const { jobId, state } = get();
      set({ state: 'idle', jobId: null, progress: null, result: null, failure: null });
      early = [];
      if (jobId && state === 'planning') {
        try {
          await api.cancelMedia(jobId);
        } catch (e) {
          console.warn('cancelMedia:', errorMessage(e));
        }
      }
    },
  };
});
