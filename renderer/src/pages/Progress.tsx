// Page 11: Progress — phase, bar, speed, ETA, current file, disc; Cancel (at the bottom) asks for a confirmation.
import { useTranslation } from 'react-i18next';
import { formatBytes, formatDuration, formatPercent, formatRate } from '../format.js';
import { useRun } from '../stores/run.js';

export function ProgressPage() {
  const { t } = useTranslation();
  const run = useRun();
  const p = run.progress;
  const value = p && p.bytesTotal > 0 ? Math.min(p.bytesDone, p.bytesTotal) : undefined;
  return (
    <>
      <p className="intro">{run.state === 'cancelling' ? t('progress.cancelling') : t('progress.intro')}</p>
      <dl className="facts progress-facts" data-testid="progress">
        <dt>{t('progress.phase')}</dt>
        <dd data-testid="phase" data-phase={p?.phase ?? 'start'}>
          {p ? t(`phase.${p.phase}`) : t('phase.start')}
        </dd>
        {p && p.discs !== null && p.disc !== null ? (
          <>
            <dt>{t('progress.disc')}</dt>
            <dd>{t('progress.discOf', { disc: p.disc, discs: p.discs })}</dd>
          </>
        ) : null}
      </dl>
      <label htmlFor="progress-bar">{t('progress.bar')}</label>
      <progress id="progress-bar" max={p && p.bytesTotal > 0 ? p.bytesTotal : undefined} value={value} aria-valuetext={p ? `${formatPercent(p.bytesDone, p.bytesTotal)}` : undefined} />
      <p className="progress-numbers" aria-live="off">
        {p ? t('progress.bytes', { done: formatBytes(p.bytesDone), total: formatBytes(p.bytesTotal), percent: formatPercent(p.bytesDone, p.bytesTotal) }) : t('progress.waiting')}
      </p>
      <dl className="facts">
        <dt>{t('progress.speed')}</dt>
        <dd data-testid="speed">{p && p.bytesPerSecond > 0 ? formatRate(p.bytesPerSecond) : '—'}</dd>
        <dt>{t('progress.eta')}</dt>
        <dd>{p ? formatDuration(p.etaSeconds) : '—'}</dd>
        <dt>{t('progress.currentFile')}</dt>
        <dd>
          <code data-testid="current-file">{p?.currentFile ?? '—'}</code>
        </dd>
      </dl>
      <p className="help">{t('progress.safe')}</p>
    </>
  );
}
