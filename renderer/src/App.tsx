// The wizard's frame: a rail of page names as in the console, the current page, and Previous / Next / Cancel with the
// reason Next is disabled. Focus moves to the page heading on every page change (keyboard and screen reader users
// start at the top of the new page).
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ErrorDetail } from '../../shared/ipc.js';
import { formatDriveBytes } from './format.js';
import { Blockers } from './components/Blockers.js';
import { ConfirmDialog } from './components/ConfirmDialog.js';
import { RefreshDialog } from './components/RefreshDialog.js';
import { EngineMessage } from './components/EngineMessage.js';
import { chooseLanguage, initLanguage, type Language } from './i18n.js';
import { fromEngine } from './messages.js';
import { i386Unavailable, osdProblem } from './osd.js';
import { CompletionPage } from './pages/Completion.js';
import { ContentPage } from './pages/Content.js';
import { CustomizationPage } from './pages/Customization.js';
import { DistributionPointsPage } from './pages/DistributionPoints.js';
import { MediaTypePage } from './pages/MediaType.js';
import { useOutputCheck } from './pages/OutputCheckView.js';
import { ProgressPage } from './pages/Progress.js';
import { SecurityPage } from './pages/Security.js';
import { SelectMediaTypePage } from './pages/SelectMediaType.js';
import { SummaryPage } from './pages/Summary.js';
import { TaskSequencePage } from './pages/TaskSequence.js';
import { startRequest, withRefreshConfirmations } from './request.js';
import { PAGES, useAnswers, useWizard, type PageId } from './stores/answers.js';
import { useRefreshPlan } from './stores/refreshPlan.js';
import { useRun } from './stores/run.js';
import { useSite } from './stores/site.js';
import { pageBlockers, type Blocker } from './validation.js';

/** Blockers that only wait for the engine's answer. */
const WAITING = new Set(['checking', 'checkingOutput']);

function PageBody({ page }: { page: PageId }) {
  switch (page) {
    case 'selectMediaType':
      return <SelectMediaTypePage />;
    case 'mediaType':
      return <MediaTypePage />;
    case 'security':
      return <SecurityPage />;
    case 'taskSequence':
      return <TaskSequencePage />;
    case 'applications':
    case 'packages':
    case 'driverPackages':
      return <ContentPage page={page} key={page} />;
    case 'distributionPoints':
      return <DistributionPointsPage />;
    case 'customization':
      return <CustomizationPage />;
    case 'summary':
      return <SummaryPage />;
    case 'progress':
      return <ProgressPage />;
    case 'completion':
      return <CompletionPage />;
  }
}

/**
 * Keeps the analysis in step with the chosen task sequence, forgets choices that belonged to another site, and keeps
 * autorun.inf and SMS\bin\i386 off where the site's OSD binaries cannot give them (the engine would refuse the run).
 */
function useSiteEffects(): void {
  const tsId = useAnswers((s) => s.taskSequence.id);
  const autorun = useAnswers((s) => s.mediaType.autorun);
  const i386 = useAnswers((s) => s.mediaType.i386Binaries);
  const osd = useSite((s) => s.info.value?.osdBinaries ?? null);
  const deps = useAnswers((s) => s.taskSequence.detectDependencies);
  const update = useAnswers((s) => s.update);
  const analyze = useSite((s) => s.analyze);
  const generation = useSite((s) => s.sequences.key);
  const root = useSite((s) => s.info.value?.root ?? null);
  const lastRoot = useRef<string | null>(null);
  useEffect(() => {
    if (root === null) return;
    if (lastRoot.current !== null && lastRoot.current !== root) {
      update('taskSequence', { id: null, acknowledged: false });
      update('applications', { selected: [] });
      update('packages', { selected: [] });
      update('driverPackages', { selected: [] });
      update('distributionPoints', { selected: [] });
    }
    lastRoot.current = root;
  }, [root, update]);
  useEffect(() => {
    if (autorun && osdProblem(osd) !== null) update('mediaType', { autorun: false });
    if (i386 && i386Unavailable(osd) !== null) update('mediaType', { i386Binaries: false });
  }, [osd, autorun, i386, update]);
  useEffect(() => {
    if (tsId && generation) void analyze(tsId, deps);
  }, [tsId, deps, generation, analyze]);
}

export function App() {
  const { t } = useTranslation();
  const page = useWizard((s) => s.page);
  const go = useWizard((s) => s.go);
  const answers = useAnswers();
  const site = useSite();
  const run = useRun();
  const [language, setLanguage] = useState<{ language: Language; followsSystem: boolean } | null>(null);
  const [confirm, setConfirm] = useState<'wizard' | 'run' | 'erase' | 'refresh' | null>(null);
  const [startError, setStartError] = useState<{ message: string; detail: ErrorDetail | null } | null>(null);
  /** An existing file at the image's path that is no tsmedia image: the engine replaces it only once the user names it. */
  const [replaceAsk, setReplaceAsk] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    void initLanguage().then(setLanguage);
    useRun.getState().subscribe();
    void useSite.getState().load();
  }, []);
  useSiteEffects();
  useOutputCheck(page);

  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    headingRef.current?.focus();
  }, [page]);

  // A run that ends moves on to Completion by itself (closing a "Cancel media creation?" question left open).
  useEffect(() => {
    if (page === 'progress' && (run.state === 'done' || (run.state === 'error' && run.failure?.code !== 'start'))) {
      setConfirm((c) => (c === 'run' ? null : c));
      go('completion');
    }
  }, [page, run.state, run.failure, go]);

  const index = PAGES.indexOf(page);
  let blockers: Blocker[] = pageBlockers(page, answers, site);
  if (page === 'summary') {
    // Answers changed on a later page can make an earlier one invalid (a drive unplugged, a package that breaks the
    // 4 GiB rule): each is named, so the user can go back to it.
    // A page only waiting for an answer (the media file's check as the media's size becomes known) is said to be
    // waiting, not wrong.
    const earlier: Blocker[] = [];
    for (const p of PAGES.slice(0, index)) {
      if (p === 'summary') break;
      const found = pageBlockers(p, answers, site);
      if (found.length === 0) continue;
      if (found.every((b) => WAITING.has(b.key))) earlier.push(...found.filter((b) => !earlier.some((e) => e.key === b.key)));
      else earlier.push({ key: 'pageInvalid', params: { page: t(`rail.${p}`) } });
    }
    blockers = [...earlier, ...blockers];
    if (!startRequest(answers, site.info.value)) blockers.push({ key: 'incomplete' });
  }
  const running = page === 'progress';
  const finished = page === 'completion';
  // After a failed or cancelled run, Previous goes back to the Summary with every answer kept.
  const canPrevious = index > 0 && !running && (!finished || run.state === 'error');
  const canNext = !running && !finished && blockers.length === 0 && run.state !== 'starting';

  const startRun = async (a: typeof answers, refreshConfirmations = 0): Promise<void> => {
    const asked = startRequest(a, site.info.value);
    if (!asked) return;
    // A refresh runs once its change list was seen and the drive confirmed in the dialog.
    const req = withRefreshConfirmations(asked, refreshConfirmations);
    setStartError(null);
    await useRun.getState().start(req);
    const s = useRun.getState();
    if (s.state === 'error' && s.failure?.code === 'start') {
      setStartError({ message: s.failure.message, detail: s.failure.detail });
      const path = s.failure.detail?.code === 'IMAGE_EXISTS' ? s.failure.detail.params.path : undefined;
      if (typeof path === 'string') setReplaceAsk(path);
      return;
    }
    go('progress');
  };
  const next = async (): Promise<void> => {
    if (!canNext) return;
    if (page === 'summary') {
      // Several drives: one last question that names every drive about to be erased.
      const m = answers.mediaType;
      if (m.media === 'usb' && m.usbTarget === 'drive' && m.severalDrives) {
        setConfirm('erase');
        return;
      }
      // A refresh: its dry run first, whose change list the dialog shows; nothing is written until it is confirmed.
      const req = startRequest(answers, site.info.value);
      if (req?.kind === 'refresh') {
        setStartError(null);
        setConfirm('refresh');
        void useRefreshPlan.getState().start(req);
        return;
      }
      return startRun(answers);
    }
    go(PAGES[index + 1]);
  };
  const replaceImage = async (path: string): Promise<void> => {
    setReplaceAsk(null);
    answers.update('mediaType', { replaceImage: path });
    await startRun({ ...answers, mediaType: { ...answers.mediaType, replaceImage: path } });
  };
  const previous = (): void => {
    if (!canPrevious) return;
    setStartError(null);
    if (finished) {
      useRun.getState().reset();
      go('summary');
    } else go(PAGES[index - 1]);
  };
  const cancel = (): void => {
    if (running) {
      if (run.state === 'running') setConfirm('run');
    } else setConfirm('wizard');
  };
  const restart = (): void => {
    useRun.getState().reset();
    answers.reset();
    setStartError(null);
    go('selectMediaType');
  };

  return (
    <div className="wizard">
      <header className="titlebar">
        <h1>{t('app.title')}</h1>
        <div className="language">
          <label htmlFor="language">{t('app.language')}</label>
          <select
            id="language"
            value={language ? (language.followsSystem ? 'system' : language.language) : 'system'}
            onChange={async (e) => {
              const v = e.target.value;
              const choice = v === 'system' ? null : (v as Language);
              const lang = await chooseLanguage(choice);
              setLanguage({ language: lang, followsSystem: choice === null });
            }}
          >
            <option value="system">{t('app.languageSystem')}</option>
            <option value="en" lang="en">
              English
            </option>
            <option value="es" lang="es">
              Español
            </option>
          </select>
        </div>
      </header>
      <div className="body">
        <nav className="rail" aria-label={t('rail.label')}>
          <ol>
            {PAGES.map((p, i) => (
              <li key={p} aria-current={p === page ? 'step' : undefined} className={p === page ? 'current' : i < index ? 'done' : ''}>
                {t(`rail.${p}`)}
              </li>
            ))}
          </ol>
        </nav>
        <main className="content" aria-labelledby="page-heading">
          <h2 id="page-heading" ref={headingRef} tabIndex={-1} data-page={page}>
            {t(`rail.${page}`)}
          </h2>
          <PageBody page={page} />
          {startError && page === 'summary' ? (
            <p className="error" role="alert" data-testid="start-error">
              {t('summary.startFailed')} <EngineMessage message={startError.message} coded={fromEngine(startError.detail)} />
            </p>
          ) : null}
        </main>
      </div>
      <footer className="buttons">
        <Blockers id="next-reason" blockers={canNext || running || finished ? [] : blockers} />
        <div className="button-row">
          <button type="button" onClick={previous} disabled={!canPrevious}>
            {t('nav.previous')}
          </button>
          {finished ? (
            <button type="button" className="primary" onClick={restart}>
              {t('nav.close')}
            </button>
          ) : (
            <button type="button" className="primary" onClick={() => void next()} disabled={!canNext} aria-describedby="next-reason">
              {t('nav.next')}
            </button>
          )}
          <button type="button" onClick={cancel} disabled={finished || (running && run.state !== 'running')}>
            {t('nav.cancel')}
          </button>
        </div>
      </footer>
      {confirm === 'wizard' ? (
        <ConfirmDialog
          title={t('confirm.wizardTitle')}
          confirmLabel={t('confirm.wizardYes')}
          cancelLabel={t('confirm.no')}
          onConfirm={() => {
            setConfirm(null);
            restart();
          }}
          onCancel={() => setConfirm(null)}
        >
          <p>{t('confirm.wizardBody')}</p>
        </ConfirmDialog>
      ) : null}
      {replaceAsk !== null ? (
        <ConfirmDialog
          title={t('confirm.replaceTitle', { path: replaceAsk })}
          confirmLabel={t('confirm.replaceYes')}
          cancelLabel={t('confirm.no')}
          danger
          onConfirm={() => void replaceImage(replaceAsk)}
          onCancel={() => setReplaceAsk(null)}
        >
          <p>{t('confirm.replaceBody', { path: replaceAsk })}</p>
        </ConfirmDialog>
      ) : null}
      {confirm === 'erase' ? (
        <ConfirmDialog
          title={t('confirm.eraseTitle', { count: answers.mediaType.drives.length })}
          confirmLabel={t('confirm.eraseYes', { count: answers.mediaType.drives.length })}
          cancelLabel={t('confirm.no')}
          danger
          onConfirm={() => {
            setConfirm(null);
            void startRun(answers);
          }}
          onCancel={() => setConfirm(null)}
        >
          <p>{t('confirm.eraseBody', { count: answers.mediaType.drives.length })}</p>
          <ul className="plain" data-testid="erase-drives">
            {answers.mediaType.drives.map((device) => {
              const d = site.drives.value?.find((x) => x.drive.device === device);
              return (
                <li key={device} data-device={device}>
                  <strong>{d?.drive.description || t('mediaType.noDescription')}</strong> — {d?.drive.sizeBytes ? formatDriveBytes(d.drive.sizeBytes) : t('mediaType.noMedium')} — <code>{device}</code>
                </li>
              );
            })}
          </ul>
        </ConfirmDialog>
      ) : null}
      {confirm === 'refresh' && answers.mediaType.drive ? (
        <RefreshDialog
          device={answers.mediaType.drive}
          drive={site.drives.value?.find((x) => x.drive.device === answers.mediaType.drive) ?? null}
          onConfirm={(n) => {
            setConfirm(null);
            void useRefreshPlan.getState().cancel();
            void startRun(answers, n);
          }}
          onCancel={() => {
            setConfirm(null);
            void useRefreshPlan.getState().cancel();
          }}
        />
      ) : null}
      {confirm === 'run' ? (
        <ConfirmDialog
          title={t('confirm.runTitle')}
          confirmLabel={t('confirm.runYes')}
          cancelLabel={t('confirm.runNo')}
          danger
          onConfirm={() => {
            setConfirm(null);
            void useRun.getState().cancel();
          }}
          onCancel={() => setConfirm(null)}
        >
          <p>{run.kind === 'refresh' ? t('confirm.refreshRunBody') : t('confirm.runBody')}</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
