// The site and what the engine says about it: site info, task sequences, catalog, the chosen task sequence's
// analysis, the media check (sizes, discs, the 4 GiB rule), the media file's place and the live drive list. Every value comes from the API.
import { create } from 'zustand';
import type { AnalysisResult, CatalogItem, SequenceSummary } from '../../../shared/analysis.js';
import type { DriveListRequest, DriveMediaRequest, ErrorDetail, ListedDrive, MediaCheck, MediaCheckRequest, OpenServerSiteRequest, OutputCheck, OutputCheckRequest, SiteInfo } from '../../../shared/ipc.js';
import type { ExistingMedia } from '../../../shared/media.js';
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
  /** Whether the media file (ISO or USB image) can be written where it is typed; its key is the request serialised. */
  output: Loadable<OutputCheck>;
  /** Whether the chosen drive holds tsmedia media (for "refresh the media on this drive"); its key is existingKey(). */
  existing: Loadable<ExistingMedia>;
  /** Loads the site info, task sequences and catalog (again, after another site is opened). */
  load(): Promise<void>;
  openSite(path: string | null): Promise<void>;
  /**
   * A live site by its server; the request (its password too) goes to the engine and is kept nowhere here. When it
   * fails, the site still open stays shown beside the error (the engine keeps it open).
   */
  openServerSite(req: OpenServerSiteRequest): Promise<void>;
  analyze(taskSequenceId: string, detectDependencies: boolean): Promise<void>;
  checkMedia(req: MediaCheckRequest): Promise<void>;
  refreshDrives(req: DriveListRequest): Promise<void>;
  /** Asks about the media file's place; `again` asks again for the same request (a folder created meanwhile). */
  checkOutput(req: OutputCheckRequest, again?: boolean): Promise<void>;
  /** Reads the drive's tsmedia manifest. */
  readDriveMedia(req: DriveMediaRequest): Promise<void>;
}

/** The key of the `existing` answer for a drive. */
export const existingKey = (req: DriveMediaRequest): string => `${req.device}|${req.showAll}`;

/** Runs one request for a slot, ignoring its answer when a newer request for the slot was made meanwhile. */
async function fetchInto<K extends 'info' | 'sequences' | 'catalog' | 'analysis' | 'check' | 'drives' | 'output' | 'existing'>(
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
  output: empty(),
  existing: empty(),
  load: async () => {
    const g = String(++generation);
    // Another site: a media file inside it is refused, so the place is asked about again.
    set(() => ({ analysis: empty(), check: empty(), output: empty() }));
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
  openServerSite: async (req) => {
    const g = String(++generation);
    await fetchInto(set, get, 'info', g, () => api.openServerSite(req), true);
    if (get().info.error === null) await get().load();
  },
  analyze: (taskSequenceId, detectDependencies) =>
    fetchInto(set, get, 'analysis', `${generation}|${taskSequenceId}|${detectDependencies}`, () => api.analyze({ taskSequenceId, detectDependencies })),
  checkMedia: (req) => {
    const key = `${generation}|${JSON.stringify(req)}`;
    if (get().check.key === key && (get().check.loading || get().check.value)) return Promise.resolve();
    return fetchInto(set, get, 'check', key, () => api.checkMedia(req));
  },
  checkOutput: (req, again = false) => {
    const key = JSON.stringify(req);
    const o = get().output;
    if (o.key === key && (o.loading || (o.value && !again))) return Promise.resolve();
    // Asked again: the answer shown stays until the new one comes (no flicker, Next not blocked meanwhile).
    return fetchInto(set, get, 'output', key, () => api.checkOutput(req), o.key === key);
  },
  readDriveMedia: (req) => {
    const key = existingKey(req);
    const e = get().existing;
    // Read again each time the drive is chosen (or the page shown): a refresh or another tool may have changed it.
    if (e.key === key && e.loading) return Promise.resolve();
    return fetchInto(set, get, 'existing', key, () => api.readDriveMedia(req));
  },
  refreshDrives: (req) => fetchInto(set, get, 'drives', `${req.showAll}|${req.neededBytes}|${Date.now()}`, () => api.listDrives(req), true),
}));
