// "Refresh the media on this drive" (issue 20): the change list from the refresh's dry run — files added, replaced and
// removed with their sizes, what stays, the bytes to write against a whole write, an interrupted refresh — shown before
// anything is written; the user then confirms the drive by name (as many boxes as writing it needs) and the refresh runs.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ListedDrive } from '../../../shared/ipc.js';
import type { RefreshChanges } from '../../../shared/media.js';
import { formatBytes, formatDriveBytes, formatPercent } from '../format.js';
import { fromEngine } from '../messages.js';
import { useRefreshPlan } from '../stores/refreshPlan.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { EngineMessage } from './EngineMessage.js';

/** At most this many files of each list are named; the rest are counted. */
const SHOWN = 200;

function FileList({ kind, files }: { kind: 'added' | 'replaced' | 'removed'; files: RefreshChanges['added'] }) {
  const { t } = useTranslation();
  if (files.length === 0) return null;
  return (
    <>
      <h3 id={`refresh-${kind}-heading`}>{t(`refresh.${kind}Heading`, { count: files.length })}</h3>
      <div className="change-list">
        <table className="grid" aria-labelledby={`refresh-${kind}-heading`} data-testid={`refresh-${kind}`}>
          <thead>
            <tr>
              <th scope="col">{t('refresh.colPath')}</th>
              <th scope="col">{t('refresh.colSize')}</th>
            </tr>
          </thead>
          <tbody>
            {files.slice(0, SHOWN).map((f) => (
              <tr key={f.path} data-path={f.path} data-size={f.size}>
                <td>
                  <code>{f.path}</code>
                </td>
                <td className="size">{formatBytes(f.size)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {files.length > SHOWN ? <p className="help">{t('refresh.more', { count: files.length - SHOWN })}</p> : null}
      </div>
    </>
  );
}

export function RefreshDialog({ device, drive, onConfirm, onCancel }: { device: string; drive: ListedDrive | null; onConfirm: (confirmations: number) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const plan = useRefreshPlan();
  const [ticked, setTicked] = useState(0);
  const need = Math.max(1, drive?.evaluation.needsConfirmation ?? 1);
  const size = drive?.drive.sizeBytes ? formatDriveBytes(drive.drive.sizeBytes) : t('mediaType.noMedium');
  const c = plan.state === 'ready' ? (plan.result?.refresh?.changes ?? null) : null;
  const nothing = c !== null && c.added.length === 0 && c.replaced.length === 0 && c.removed.length === 0 && c.interrupted === 'none';
  return (
    <ConfirmDialog
      title={t('refresh.title', { device })}
      confirmLabel={t('refresh.yes', { device })}
      cancelLabel={t('nav.cancel')}
      confirmDisabled={c === null || ticked < need}
      className="wide"
      onConfirm={() => onConfirm(ticked)}
      onCancel={onCancel}
    >
      <div data-testid="refresh-changes" data-state={plan.state}>
        {plan.state === 'starting' || plan.state === 'planning' ? (
          <p role="status" data-testid="refresh-planning">
            {t('refresh.planning', { device })}{' '}
            {plan.progress && plan.progress.bytesTotal > 0 ? t('refresh.planningProgress', { percent: formatPercent(plan.progress.bytesDone, plan.progress.bytesTotal) }) : null}
          </p>
        ) : null}
        {plan.state === 'error' && plan.failure ? (
          <p className="error" role="alert" data-testid="refresh-plan-error">
            {t('refresh.planFailed')} <EngineMessage message={plan.failure.message} coded={fromEngine(plan.failure.detail)} />
          </p>
        ) : null}
        {c ? (
          <>
            <p data-testid="refresh-media">{t('refresh.media', { label: c.oldLabel, sequence: c.taskSequence })}</p>
            {c.interrupted !== 'none' ? (
              <p className="warning" data-testid="refresh-interrupted">
                {t(c.interrupted === 'roll-back' ? 'refresh.interruptedRollBack' : 'refresh.interruptedFinish')}
              </p>
            ) : null}
            <p data-testid="refresh-counts">
              {t('refresh.counts', { added: c.added.length, replaced: c.replaced.length, removed: c.removed.length })} {t('refresh.kept', { count: c.keptFiles, bytes: formatBytes(c.keptBytes) })}
            </p>
            <p data-testid="refresh-bytes" data-bytes={c.bytesToWrite} data-full={c.fullBytes}>
              <strong>{t('refresh.bytes', { bytes: formatBytes(c.bytesToWrite), full: formatBytes(c.fullBytes), percent: formatPercent(c.bytesToWrite, c.fullBytes) })}</strong>
            </p>
            {nothing ? <p data-testid="refresh-nothing">{t('refresh.nothing')}</p> : null}
            {c.method === 'rewrite' ? <p data-testid="refresh-rewrite">{t('refresh.rewrite')}</p> : null}
            <FileList kind="added" files={c.added} />
            <FileList kind="replaced" files={c.replaced} />
            <FileList kind="removed" files={c.removed} />
            <p className="help">{t('refresh.safe')}</p>
            <fieldset className="confirmations">
              <legend>{t('refresh.confirmLegend', { device })}</legend>
              {Array.from({ length: need }, (_, i) => (
                <div className="choice" key={i}>
                  <input type="checkbox" id={`confirm-refresh-${i + 1}`} checked={ticked > i} disabled={i > ticked} onChange={(e) => setTicked(e.target.checked ? i + 1 : i)} />
                  <label htmlFor={`confirm-refresh-${i + 1}`}>{t(i === 0 ? 'refresh.confirm' : 'mediaType.confirmNotUsb', { device, size })}</label>
                </div>
              ))}
            </fieldset>
          </>
        ) : null}
      </div>
    </ConfirmDialog>
  );
}
