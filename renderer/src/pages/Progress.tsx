// Page 11: Progress — phase, bar, speed, ETA, current file, disc; Cancel (at the bottom) asks for a confirmation.
// Several drives: a row per drive with its own bytes, speed, time left and state, and a Cancel that stops that drive only.
import { useTranslation } from 'react-i18next';
import { formatBytes, formatDuration, formatPercent, formatRate } from '../format.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { driveErrorText } from '../messages.js';
import { useRun } from '../stores/run.js';

export function ProgressPage() {
  const { t } = useTranslation();
  const run = useRun();
  const p = run.progress;
  const value = p && p.bytesTotal > 0 ? Math.min(p.bytesDone, p.bytesTotal) : undefined;
  return (
    <>
      <p className="intro">{run.state === 'cancelling' ? t('progress.cancelling') : run.kind === 'refresh' ? t('progress.introRefresh') : t('progress.intro')}</p>
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
      {p?.drives && p.drives.length > 0 ? (
        <table className="grid drive-progress" data-testid="drive-progress">
          <caption>{t('progress.drivesHeading', { count: p.drives.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('progress.colDrive')}</th>
              <th scope="col">{t('progress.colState')}</th>
              <th scope="col">{t('progress.colBytes')}</th>
              <th scope="col">{t('progress.speed')}</th>
              <th scope="col">{t('progress.eta')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('progress.colCancel')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.drives.map((d) => {
              const ended = d.state === 'written' || d.state === 'failed' || d.state === 'cancelled';
              const asked = run.cancellingDrives.includes(d.device);
              return (
                <tr key={d.device} data-device={d.device} data-state={d.state}>
                  <th scope="row">
                    <code>{d.device}</code>
                  </th>
                  <td>
                    {t(`driveState.${d.state}`)}
                    {d.error ? (
                      <>
                        <br />
                        <EngineMessage message={d.error} translated={driveErrorText(d.errorDetail)} className="error" />
                      </>
                    ) : null}
                  </td>
                  <td>{t('progress.bytes', { done: formatBytes(d.bytesDone), total: formatBytes(d.bytesTotal), percent: formatPercent(d.bytesDone, d.bytesTotal) })}</td>
                  <td>{d.bytesPerSecond > 0 && !ended ? formatRate(d.bytesPerSecond) : '—'}</td>
                  <td>{ended ? '—' : formatDuration(d.etaSeconds)}</td>
                  <td>
                    <button type="button" disabled={ended || asked || run.state !== 'running'} onClick={() => void run.cancelDrive(d.device)} aria-label={t('progress.cancelDrive', { device: d.device })}>
                      {asked && !ended ? t('progress.cancellingDrive') : t('nav.cancel')}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <p className="help">{t('progress.safe')}</p>
    </>
  );
}
