// What checkMedia says before anything is written: content size, the planned discs (CD/DVD set) or the 4 GiB rule
// (USB: WIM files split into .swm parts, other large files refusing USB), and any problem that stops this media type.
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { EngineMessage } from '../components/EngineMessage.js';
import { formatBytes, formatNumber } from '../format.js';
import { fromEngine } from '../messages.js';
import { mediaCheckRequest } from '../request.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';

/** Runs checkMedia whenever the answers it depends on change. */
export function useMediaCheck(): void {
  const a = useAnswers();
  const checkMedia = useSite((s) => s.checkMedia);
  const generation = useSite((s) => s.sequences.key);
  const req = mediaCheckRequest(a);
  const key = req ? JSON.stringify(req) : null;
  useEffect(() => {
    if (req) void checkMedia(req);
  }, [key, generation, checkMedia]);
}

export function MediaCheckView({ media }: { media: 'usb' | 'iso' }) {
  const { t } = useTranslation();
  useMediaCheck();
  const check = useSite((s) => s.check);
  if (check.loading && !check.value) return <p role="status">{t('check.running')}</p>;
  if (check.error)
    return (
      <p className="error" role="alert">
        {t('check.failed')} <EngineMessage message={check.error} coded={fromEngine(check.errorDetail)} />
      </p>
    );
  const c = check.value;
  if (!c) return null;
  return (
    <div className="media-check" data-testid="media-check">
      <p>{t('check.content', { size: formatBytes(c.contentBytes), files: formatNumber(c.files) })}</p>
      {media === 'iso' && c.discs ? (
        <>
          <p data-testid="disc-count">
            <strong>{t('check.discs', { count: c.discs.length })}</strong>
          </p>
          <ol className="plain">
            {c.discs.map((d, i) => (
              <li key={i}>{t('check.disc', { n: i + 1, size: formatBytes(d.bytes), files: formatNumber(d.files) })}</li>
            ))}
          </ol>
        </>
      ) : null}
      {media === 'usb' && c.largeFiles ? (
        <>
          {c.largeFiles.refused.length === 0 ? (
            <p className="ok" data-testid="fat32-ok">
              {t('check.fat32Ok')}
            </p>
          ) : (
            <div className="error" role="alert" data-testid="fat32-refused">
              <p>
                <strong>{t('check.fat32Refused')}</strong>
              </p>
              <ul>
                {c.largeFiles.refused.map((f) => (
                  <li key={f.path}>
                    <code>{f.path}</code> — {f.packageId ?? t('common.none')} — {formatBytes(f.size)} ({t('units.bytes', { n: formatNumber(f.size) })})
                  </li>
                ))}
              </ul>
              <p>{t('check.fat32Advice')}</p>
            </div>
          )}
          {c.largeFiles.wims.length > 0 ? (
            <div className="note">
              <p>{t('check.wimsSplit')}</p>
              <ul>
                {c.largeFiles.wims.map((w) => (
                  <li key={w.path}>
                    <code>{w.path}</code> ({formatBytes(w.size)}) → {w.parts.join(', ')}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
        </>
      ) : null}
      {c.problem ? (
        <p className="error" role="alert">
          {t('check.problem')} <EngineMessage message={c.problem} coded={fromEngine(c.problemDetail)} />
        </p>
      ) : null}
      {c.distributionPoints.length > 0 ? <p>{t('check.fromDps', { names: c.distributionPoints.join(', ') })}</p> : null}
      {check.loading ? <p role="status">{t('check.running')}</p> : null}
    </div>
  );
}
