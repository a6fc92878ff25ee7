// Page 12: Completion — the result, where the media is, the verification result, and the log.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, errorDetail, errorMessage } from '../api.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { formatBytes } from '../format.js';
import { driveErrorText, fromEngine, translateCoded } from '../messages.js';
import { useRun } from '../stores/run.js';

function OpenButton({ path, label }: { path: string; label: string }) {
  const name = path.split(/[\\/]/).pop() ?? path;
  const { t } = useTranslation();
  const [note, setNote] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        aria-label={`${label}: ${name}`}
        onClick={async () => {
          try {
            setNote((await api.openPath(path)) ? null : t('completion.cannotOpen', { path }));
          } catch (e) {
            setNote(translateCoded(fromEngine(errorDetail(e))) ?? errorMessage(e));
          }
        }}
      >
        {label}
      </button>
      {note ? (
        <span className="help" role="status">
          {' '}
          {note}
        </span>
      ) : null}
    </>
  );
}

export function CompletionPage() {
  const { t } = useTranslation();
  const run = useRun();
  const r = run.result;
  if (run.state === 'error' && run.failure) {
    const f = run.failure;
    return (
      <div data-testid="result" data-result={f.code}>
        <p className={f.code === 'cancelled' ? 'warning' : 'error'} role="alert">
          <strong>{run.kind === 'refresh' ? t(`completion.refresh_${f.code}`) : t(`completion.${f.code}`)}</strong>
        </p>
        <p>
          <EngineMessage message={f.message} coded={fromEngine(f.detail)} />
        </p>
        <p className="help">{run.kind === 'refresh' ? t('completion.refreshNothingLost') : t('completion.nothingLost')}</p>
      </div>
    );
  }
  if (!r) return <p role="status">{t('completion.waiting')}</p>;
  // Several drives of which some were not written: the run is done, but not all it was asked for.
  const short = r.drives?.some((d) => d.status !== 'written') ?? false;
  return (
    <div data-testid="result" data-result="done">
      <p className={short ? 'warning' : 'ok'} role="status">
        <strong>
          {r.kind === 'refresh'
            ? t('completion.doneRefresh', { device: r.refresh?.changes.target ?? '' })
            : r.kind === 'iso'
            ? t('completion.doneIso', { count: r.outputs.length })
            : r.drives
              ? t('completion.doneDrives', { written: r.drives.filter((d) => d.status === 'written').length, count: r.drives.length })
              : t('completion.doneUsb')}
        </strong>
      </p>
      {r.drives ? (
        <>
          <h3>{t('completion.drivesHeading')}</h3>
          <ul className="plain drive-results">
            {r.drives.map((d) => (
              <li key={d.device} data-testid="drive-result" data-device={d.device} data-status={d.status} data-verified={String(d.verified)} className={d.status === 'written' ? 'ok' : d.status === 'failed' ? 'error' : 'warning'}>
                <code>{d.device}</code> —{' '}
                {d.status === 'written'
                  ? d.verified
                    ? t('completion.driveVerified', { bytes: formatBytes(d.bytesWritten) })
                    : t('completion.driveWritten', { bytes: formatBytes(d.bytesWritten) })
                  : d.status === 'failed'
                    ? t('completion.driveFailed')
                    : t('completion.driveCancelled')}
                {d.error ? (
                  <>
                    {' '}
                    <EngineMessage message={d.error} coded={null} translated={driveErrorText(d.errorDetail)} />
                  </>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {r.refresh ? (
        <p data-testid="refresh-result" data-bytes-written={r.refresh.bytesWritten} data-added={r.refresh.changes.added.length} data-replaced={r.refresh.changes.replaced.length} data-removed={r.refresh.changes.removed.length}>
          {t('completion.refreshWritten', { bytes: formatBytes(r.refresh.bytesWritten), full: formatBytes(r.refresh.changes.fullBytes) })}{' '}
          {t('refresh.counts', { added: r.refresh.changes.added.length, replaced: r.refresh.changes.replaced.length, removed: r.refresh.changes.removed.length })}{' '}
          {t('refresh.kept', { count: r.refresh.changes.keptFiles, bytes: formatBytes(r.refresh.changes.keptBytes) })}
        </p>
      ) : null}
      <h3>{t('completion.whereHeading')}</h3>
      <ul className="plain outputs">
        {r.outputs.map((o) => (
          <li key={o.path}>
            <code data-testid="output-path">{o.path}</code> — {formatBytes(o.bytes)}
            {o.sha256 ? (
              <>
                <br />
                <span className="help">SHA-256: </span>
                <code className="hash">{o.sha256}</code>
              </>
            ) : null}
          </li>
        ))}
      </ul>
      <p data-testid="verified" data-verified={String(r.verified)} className={r.verified ? 'ok' : 'warning'}>
        {r.drives
          ? t('completion.verifiedDrives', { verified: r.drives.filter((d) => d.verified).length, count: r.drives.filter((d) => d.status === 'written').length })
          : r.verified
            ? t('completion.verified')
            : t('completion.notVerified')}
      </p>
      <p>{t('completion.mediaGuid', { guid: r.mediaGuid })}</p>
      <h3>{t('completion.startHeading')}</h3>
      <p data-testid="how-to-start" data-starts-from={r.start.startsFrom}>
        {r.start.startsFrom !== 'boot' && r.start.tsmbAutorun === null ? t('completion.startBootOnly') : t(`taskSequence.start_${r.start.startsFrom}`)}
        {r.start.scenario ? <> {t('taskSequence.scenario', { scenario: t(`scenario.${r.start.scenario}`) })}</> : null}
      </p>
      {r.reportFiles.length > 0 ? (
        <>
          <h3>{t('completion.reportsHeading')}</h3>
          <ul className="plain">
            {r.reportFiles.map((f) => (
              <li key={f}>
                <code>{f}</code> <OpenButton path={f} label={t('completion.openReport')} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {r.logFiles.length > 0 ? (
        <>
          <h3>{t('completion.logHeading')}</h3>
          <ul className="plain">
            {r.logFiles.map((f) => (
              <li key={f}>
                <code>{f}</code> <OpenButton path={f} label={t('completion.openLog')} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
