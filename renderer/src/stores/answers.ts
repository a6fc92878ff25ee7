// The wizard's answers, one slice per page. Going back keeps every slice as it was entered; nothing here decides
// whether an answer is valid (the rules come from shared/, see ../validation.ts).
import { create } from 'zustand';
import { DEFAULT_MEDIA_LABEL } from '../../../shared/media.js';
import type { DiscSizeName } from '../../../shared/media.js';
import { WIZARD_PAGES, type PageId } from '../../../shared/wizard.js';

export type { PageId };

/** The console's order. */
export const PAGES: readonly PageId[] = WIZARD_PAGES;

export interface VariableRow {
  /** A stable key for the table row (not sent anywhere). */
  key: number;
  name: string;
  value: string;
  secret: boolean;
}

export interface Answers {
  selectMediaType: { unattended: boolean };
  mediaType: {
    media: 'usb' | 'iso' | null;
    usbTarget: 'drive' | 'image';
    showAllDrives: boolean;
    /** The chosen drive's device; never pre-selected. */
    drive: string | null;
    /** Confirmations the user ticked for the chosen drive (as many as its evaluation's needsConfirmation). */
    driveConfirmations: number;
    /** "Write several drives" (off by default: choosing several makes erasing the wrong one easier). */
    severalDrives: boolean;
    /** With severalDrives: the ticked drives, in the order ticked (the first is the request's target). */
    drives: string[];
    /** With severalDrives: the confirmations ticked for each drive, by device. */
    drivesConfirmations: Record<string, number>;
    format: boolean;
    /**
     * "Refresh the media on this drive": the chosen drive holds tsmedia media, and only what changed is written
     * (one drive only; the change list is shown and confirmed before anything is written).
     */
    refresh: boolean;
    imagePath: string;
    /** The existing file at the image path the user confirmed may be replaced (asked when the engine says so); '' none. */
    replaceImage: string;
    imageSize: string;
    imageUnit: 'MiB' | 'GiB';
    size: DiscSizeName | 'custom';
    /** Custom disc size in MB (1,000,000 bytes), as typed. */
    customSize: string;
    out: string;
    staging: string;
    label: string;
    autorun: boolean;
    /** SMS\bin\i386 too, to start the media from 32-bit Windows. */
    i386Binaries: boolean;
  };
  security: { protect: boolean; password: string; confirm: string; startDate: string; expireDate: string };
  taskSequence: { id: string | null; detectDependencies: boolean; acknowledged: boolean };
  applications: { selected: string[] };
  packages: { selected: string[] };
  driverPackages: { selected: string[] };
  distributionPoints: { selected: string[] };
  customization: { variables: VariableRow[]; prestart: boolean; prestartCommand: string; prestartFilesEnabled: boolean; prestartFiles: string };
  summary: { answerFile: string };
}

export const initialAnswers = (): Answers => ({
  selectMediaType: { unattended: false },
  mediaType: {
    media: null,
    usbTarget: 'drive',
    showAllDrives: false,
    drive: null,
    driveConfirmations: 0,
    severalDrives: false,
    drives: [],
    drivesConfirmations: {},
    format: true,
    refresh: false,
    imagePath: '',
    replaceImage: '',
    imageSize: '',
    imageUnit: 'MiB',
    size: 'unlimited',
    customSize: '',
    out: '',
    staging: '',
    label: DEFAULT_MEDIA_LABEL,
    autorun: false,
    i386Binaries: false,
  },
  security: { protect: true, password: '', confirm: '', startDate: '', expireDate: '' },
  taskSequence: { id: null, detectDependencies: true, acknowledged: false },
  applications: { selected: [] },
  packages: { selected: [] },
  driverPackages: { selected: [] },
  distributionPoints: { selected: [] },
  customization: { variables: [], prestart: false, prestartCommand: '', prestartFilesEnabled: false, prestartFiles: '' },
  summary: { answerFile: '' },
});

interface AnswersStore extends Answers {
  update<P extends keyof Answers>(page: P, patch: Partial<Answers[P]>): void;
  reset(): void;
}

export const useAnswers = create<AnswersStore>()((set) => ({
  ...initialAnswers(),
  update: (page, patch) => set((s) => ({ [page]: { ...s[page], ...patch } }) as Partial<AnswersStore>),
  reset: () => set(initialAnswers()),
}));

/** Where the wizard is. */
interface WizardStore {
  page: PageId;
  go(page: PageId): void;
}

export const useWizard = create<WizardStore>()((set) => ({
  page: 'selectMediaType',
  go: (page) => set({ page }),
}));

let nextKey = 1;
export const newVariableKey = (): number => nextKey++;
