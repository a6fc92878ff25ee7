// The site and what the engine says about it: site info, task sequences, catalog, the chosen task sequence's
// analysis, the media check (sizes, discs, the 4 GiB rule) and the live drive list. Every value comes from the API.
import { create } from 'zustand';
import type { AnalysisResult, CatalogItem, SequenceSummary } from '../../../shared/analysis.js';
import type { DriveListRequest, ErrorDetail, ListedDrive, MediaCheck, MediaCheckRequest, SiteInfo } from '../../../shared/ipc.js';
import { api, errorDetail, errorMessage } from '../api.js';

export interface Loadable<T> {
  value: T | null;
  loading: boolean;
  error: string | null;
  /** The error's code and values, when the engine gave them (the page translates it; else `error` is shown). */
  errorDetail: ErrorDetail | null;
  /** What the value was asked for (a request serialised), so a stale answer is never shown for a new question. */
  key: string | null;
}

const empty = <T,>(): Loadable<T> => ({ value: null, loading: false, error: null, errorDetail: null, key: null });

interface SiteStore {
  info: Loadable<SiteInfo>;
  sequences: Loadable<SequenceSummary[]>;
  catalog: Loadable<CatalogItem[]>;
  analysis: Loadable<AnalysisResult>;
  check: Loadable<MediaCheck>;
  drives: Loadable<ListedDrive[]>;
  /** Loads the site info, task sequences and catalog (again, after another site is opened). */
  load(): Promise<void>;
  openSite(path: string | null): Promise<void>;
  analyze(taskSequenceId: string, detectDependencies: boolean): Promise<void>;
  checkMedia(req: MediaCheckRequest): Promise<void>;
  refreshDrives(req: DriveListRequest): Promise<void>;
}

/** Runs one request for a slot, ignoring its answer when a newer request for the slot was made meanwhile. */
async function fetchInto<K extends 'info' | 'sequences' | 'catalog' | 'analysis' | 'check' | 'drives'>(
  set: (fn: (s: SiteStore) => Partial<SiteStore>) => void,
  get: () => SiteStore,
  slot: K,
  key: string,
  run: () => Promise<NonNullable<SiteStore[K]['value']>>,
  keepValue = false,
): Promise<void> {
  set((s) => ({ [slot]: { value: keepValue || s[slot].key === key ? s[slot].value : null, loading: true, error: null, errorDetail: null, key } }) as Partial<SiteStore>);
  try {
    const value = await run();
    if (get()[slot].key !== key) return;
    set(() => ({ [slot]: { value, loading: false, error: null, errorDetail: null, key } }) as Partial<SiteStore>);
  } catch (e) {
    if (get()[slot].key !== key) return;
    set((s) => ({ [slot]: { value: keepValue ? s[slot].value : null, loading: false, error: errorMessage(e), errorDetail: errorDetail(e), key } }) as Partial<SiteStore>);
  }
}

let generation = 0;

export const useSite = create<SiteStore>()((set, get) => ({
  info: empty(),
  sequences: empty(),
  catalog: empty(),
  analysis: empty(),
  check: empty(),
  drives: empty(),
  load: async () => {
    const g = String(++generation);
    set(() => ({ analysis: empty(), check: empty() }));
    await Promise.all([
      fetchInto(set, get, 'info', g, () => api.getSiteInfo()),
      fetchInto(set, get, 'sequences', g, () => api.listSequences()),
      fetchInto(set, get, 'catalog', g, () => api.catalog()),
    ]);
  },
  openSite: async (path) => {
    const g = String(++generation);
    await fetchInto(set, get, 'info', g, () => api.openSite(path));
    if (get().info.error === null) await get().load();
  },
  analyze: (taskSequenceId, detectDependencies) =>
    fetchInto(set, get, 'analysis', `${generation}|${taskSequenceId}|${detectDependencies}`, () => api.analyze({ taskSequenceId, detectDependencies })),
  checkMedia: (req) => {
    const key = `${generation}|${JSON.stringify(req)}`;
    if (get().check.key === key && (get().check.loading || get().check.value)) return Promise.resolve();
    return fetchInto(set, get, 'check', key, () => api.checkMedia(req));
  },
  refreshDrives: (req) => fetchInto(set, get, 'drives', `${req.showAll}|${req.neededBytes}|${Date.now()}`, () => api.listDrives(req), true),
}));
