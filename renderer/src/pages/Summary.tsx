// Page 10: Summary — every choice, the media report preview (packages, sizes, discs) from checkMedia, the equivalent
// `tsmedia create` command line, and "Save answer file". Next starts the run.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { answersFromRequest, commandLineFor, type CommandShell, PASSWORD_FILE_PLACEHOLDER, secretFilePlaceholder } from '../../../shared/answers.js';
import type { ErrorDetail } from '../../../shared/ipc.js';
import { api, errorDetail, errorMessage } from '../api.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { fromEngine } from '../messages.js';
import { PathField } from '../components/PathField.js';
import { formatBytes } from '../format.js';
import { autorunTarget, smsBinArchitectures } from '../osd.js';
import { imageSizeBytes, startRequest } from '../request.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';
import { MediaCheckView } from './MediaCheckView.js';
import { useDrivePolling } from './MediaType.js';

export function SummaryPage() {
  const { t } = useTranslation();
  const a = useAnswers();
  const info = useSite((s) => s.info.value);
  const analysis = useSite((s) => s.analysis.value);
  const catalog = useSite((s) => s.catalog.value);
  const sequences = useSite((s) => s.sequences.value);
  const check = useSite((s) => s.check.value);
  useDrivePolling(a.mediaType.media === 'usb' && a.mediaType.usbTarget === 'drive');
  const [saved, setSaved] = useState<{ ok: boolean; message: string; detail?: ErrorDetail | null } | null>(null);
  const req = startRequest(a, info);
  const m = a.mediaType;
  const yes = (b: boolean): string => (b ? t('common.yes') : t('common.no'));
  const ts = sequences?.find((s) => s.packageId === a.taskSequence.id);
  const byId = new Map((catalog ?? []).map((c) => [c.packageId, c]));
  const packages: { id: string; name: string; kind: string; version: string; size: number | null; why: string }[] = [];
  for (const r of analysis?.references ?? []) {
    if (r.kind === 'TaskSequence') continue;
    packages.push({ id: r.packageId, name: r.name ?? t('common.unknown'), kind: t(`kind.${r.kind}`), version: r.version ?? '—', size: byId.get(r.packageId)?.sizeBytes ?? null, why: t('summary.referenced') });
  }
  for (const id of [...a.applications.selected, ...a.packages.selected, ...a.driverPackages.selected]) {
    if (packages.some((p) => p.id === id)) continue;
    const c = byId.get(id);
    packages.push({ id, name: c?.name ?? id, kind: c ? t(`kind.${c.kind}`) : '—', version: c?.version ?? '—', size: c?.sizeBytes ?? null, why: t('summary.chosen') });
  }
  const findings = analysis?.findings ?? [];
  // SMS\bin\<arch>: what the engine copies from the site's OSD binaries (x64 whenever it can, i386 when asked).
  const smsBin = smsBinArchitectures(info?.osdBinaries, m.i386Binaries);
  const start = analysis?.start ?? null;

  const extras = {};
  // The page runs on the computer the engine runs on (the loopback host answers 127.0.0.1 only): its shell is this one's.
  const shell: CommandShell = /^Win/.test(navigator.platform) ? 'powershell' : 'posix';
  const commandLine = req ? commandLineFor(req, extras, shell) : null;
  const save = async (): Promise<void> => {
    if (!req) return;
    try {
      await api.saveAnswerFile(a.summary.answerFile.trim(), answersFromRequest(req, extras));
      setSaved({ ok: true, message: a.summary.answerFile.trim() });
    } catch (e) {
      setSaved({ ok: false, message: errorMessage(e), detail: errorDetail(e) });
    }
  };
  const secretNames = a.customization.variables.filter((v) => v.secret && v.name.trim() !== '').map((v) => v.name.trim());

  return (
    <>
      <p className="intro">{t('summary.intro')}</p>
      <section aria-labelledby="choices-heading">
        <h3 id="choices-heading">{t('summary.choicesHeading')}</h3>
        <dl className="facts" data-testid="summary-choices">
          <dt>{t('summary.mediaKind')}</dt>
          <dd>{t('selectMediaType.standalone')}</dd>
          <dt>{t('selectMediaType.unattended')}</dt>
          <dd>{yes(a.selectMediaType.unattended)}</dd>
          <dt>{t('summary.media')}</dt>
          <dd>{m.media === 'usb' ? t('mediaType.usb') : m.media === 'iso' ? t('mediaType.iso') : '—'}</dd>
          {m.media === 'usb' && m.usbTarget === 'drive' ? (
            <>
              <dt>{m.severalDrives ? t('summary.drives') : t('summary.drive')}</dt>
              <dd data-testid="summary-drives">{m.severalDrives ? m.drives.join(', ') || '—' : (m.drive ?? '—')}</dd>
              <dt>{t('summary.writeHow')}</dt>
              <dd data-testid="summary-write-how" data-refresh={String(req?.kind === 'refresh')}>
                {req?.kind === 'refresh' ? t('summary.writeRefresh') : t('summary.writeWhole')}
              </dd>
            </>
          ) : null}
          {m.media === 'usb' && m.usbTarget === 'image' ? (
            <>
              <dt>{t('mediaType.imagePath')}</dt>
              <dd>
                <code>{m.imagePath}</code> ({formatBytes(imageSizeBytes(m))})
              </dd>
            </>
          ) : null}
          {/* A refresh formats nothing: the "Writing" row above says what it does. */}
          {m.media === 'usb' && req?.kind !== 'refresh' ? (
            <>
              <dt>{t('mediaType.format')}</dt>
              <dd>{m.format ? yes(true) : t('summary.noFormatBoot')}</dd>
            </>
          ) : null}
          {m.media === 'iso' ? (
            <>
              <dt>{t('mediaType.size')}</dt>
              <dd>{m.size === 'custom' ? t('summary.customSize', { mb: m.customSize }) : t(`discSize.${m.size}`)}</dd>
              <dt>{t('mediaType.mediaFile')}</dt>
              <dd>
                <code data-testid="summary-out">{m.out}</code>
              </dd>
            </>
          ) : null}
          <dt>{t('mediaType.staging')}</dt>
          <dd>{m.staging.trim() || t('mediaType.stagingPlaceholder')}</dd>
          <dt>{t('mediaType.label')}</dt>
          <dd>{m.label}</dd>
          <dt>{t('summary.smsBin')}</dt>
          <dd data-testid="summary-sms-bin">{smsBin.length > 0 ? smsBin.join(', ') : t('summary.smsBinNone')}</dd>
          <dt>{t('mediaType.autorun')}</dt>
          <dd data-testid="summary-autorun">{m.autorun ? t('summary.autorunOpens', { path: autorunTarget(smsBin) }) : t('common.no')}</dd>
          <dt>{t('security.protect')}</dt>
          <dd>{a.security.protect ? t('summary.passwordSet') : t('summary.noPassword')}</dd>
          <dt>{t('security.startDate')}</dt>
          <dd>{a.security.startDate || t('summary.noDate')}</dd>
          <dt>{t('security.expireDate')}</dt>
          <dd>{a.security.expireDate || t('summary.noDate')}</dd>
          <dt>{t('summary.taskSequence')}</dt>
          <dd>{ts ? `${ts.name} (${ts.packageId})` : (a.taskSequence.id ?? '—')}</dd>
          <dt>{t('summary.startsFrom')}</dt>
          <dd data-testid="summary-start">
            {start ? t(`startsFrom.${start.startsFrom}`) : '—'}
            {start?.scenario ? ` (${t(`scenario.${start.scenario}`)})` : ''}
          </dd>
          <dt>{t('taskSequence.detectDependencies')}</dt>
          <dd>{yes(a.taskSequence.detectDependencies)}</dd>
          <dt>{t('summary.secureBoot')}</dt>
          <dd data-testid="summary-secure-boot" data-overall={analysis?.secureBoot?.overall ?? ''}>
            {analysis?.secureBoot?.overall
              ? `${t(`secureBoot.class.${analysis.secureBoot.overall}`)} (${analysis.secureBoot.files.map((f) => `${f.path}: ${t(`secureBoot.class.${f.class}`)}`).join('; ')})`
              : t('summary.secureBootNotRead')}
          </dd>
          <dt>{t('summary.findings')}</dt>
          <dd>{findings.length === 0 ? t('common.none') : t('summary.findingsAcknowledged', { count: findings.length, codes: findings.map((f) => t(`finding.${f.code}`)).join(', ') })}</dd>
          <dt>{t('content.applications.legend')}</dt>
          <dd>{a.applications.selected.join(', ') || t('common.none')}</dd>
          <dt>{t('content.packages.legend')}</dt>
          <dd>{a.packages.selected.join(', ') || t('common.none')}</dd>
          <dt>{t('content.driverPackages.legend')}</dt>
          <dd>{a.driverPackages.selected.join(', ') || t('common.none')}</dd>
          <dt>{t('rail.distributionPoints')}</dt>
          <dd>{a.distributionPoints.selected.join(', ') || t('common.none')}</dd>
          <dt>{t('customization.variablesLegend')}</dt>
          <dd>
            {a.customization.variables.length === 0 ? (
              t('common.none')
            ) : (
              <ul className="plain">
                {a.customization.variables.map((v) => (
                  <li key={v.key}>
                    <code>
                      {v.name}={v.secret ? '********' : v.value}
                    </code>
                    {v.secret ? ` (${t('customization.secret')})` : ''}
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>{t('customization.prestart')}</dt>
          <dd>{a.customization.prestart ? <code>{a.customization.prestartCommand}</code> : t('common.no')}</dd>
          {a.customization.prestart && a.customization.prestartFilesEnabled ? (
            <>
              <dt>{t('customization.prestartFolder')}</dt>
              <dd>
                <code>{a.customization.prestartFiles}</code>
              </dd>
            </>
          ) : null}
        </dl>
      </section>

      <section aria-labelledby="report-heading">
        <h3 id="report-heading">{t('summary.reportHeading')}</h3>
        <table className="grid" data-testid="report-packages">
          <caption className="visually-hidden">{t('summary.reportHeading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('content.colId')}</th>
              <th scope="col">{t('content.colName')}</th>
              <th scope="col">{t('content.colKind')}</th>
              <th scope="col">{t('content.colVersion')}</th>
              <th scope="col">{t('content.colSize')}</th>
              <th scope="col">{t('summary.colWhy')}</th>
            </tr>
          </thead>
          <tbody>
            {packages.map((p) => (
              <tr key={p.id}>
                <td>{p.id}</td>
                <td>{p.name}</td>
                <td>{p.kind}</td>
                <td>{p.version}</td>
                <td>{p.size === null ? '—' : formatBytes(p.size)}</td>
                <td>{p.why}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {m.media ? <MediaCheckView media={m.media} /> : null}
        {check && check.warnings.length > 0 ? <p className="help">{t('summary.checkWarnings', { count: check.warnings.length })}</p> : null}
      </section>

      <section aria-labelledby="cli-heading">
        <h3 id="cli-heading">{t('summary.cliHeading')}</h3>
        <p className="help">
          {t('summary.cliHelp')} {t(shell === 'powershell' ? 'summary.cliPowerShell' : 'summary.cliPosix')}
        </p>
        {commandLine ? (
          <pre className="command-line" tabIndex={0} aria-labelledby="cli-heading" data-testid="command-line">
            {commandLine}
          </pre>
        ) : null}
      </section>

      <section aria-labelledby="answers-heading">
        <h3 id="answers-heading">{t('summary.answersHeading')}</h3>
        <PathField
          label={t('summary.answerFile')}
          value={a.summary.answerFile}
          onChange={(v) => a.update('summary', { answerFile: v })}
          browse={() => api.chooseSaveFile({ title: t('summary.answerFile'), defaultPath: a.summary.answerFile || null, filters: [{ name: t('summary.answerFilter'), extensions: ['json'] }] })}
          placeholder={t('summary.answerPlaceholder')}
          help={
            a.security.protect || secretNames.length > 0
              ? t('summary.answerSecrets', { password: PASSWORD_FILE_PLACEHOLDER, secrets: secretNames.map(secretFilePlaceholder).join(', ') || t('common.none') })
              : t('summary.answerHelp')
          }
        />
        <button type="button" disabled={!req || a.summary.answerFile.trim() === ''} onClick={() => void save()}>
          {t('summary.saveAnswers')}
        </button>
        {saved ? (
          <p className={saved.ok ? 'ok' : 'error'} role={saved.ok ? 'status' : 'alert'} data-testid="answers-saved">
            {saved.ok ? t('summary.answersSaved', { path: saved.message }) : <EngineMessage message={saved.message} coded={fromEngine(saved.detail)} frame="summary.answersFailed" />}
          </p>
        ) : null}
      </section>
      <p className="help">{req?.kind === 'refresh' ? t('summary.nextRefresh') : t('summary.nextStarts')}</p>
    </>
  );
}
