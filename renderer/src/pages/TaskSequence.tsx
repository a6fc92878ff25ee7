// Page 4 (the console's "Stand-Alone CD/DVD"): the task sequence. Only those associated with a boot image can be
// chosen; the others are listed with the reason. How its media is started (booted, or from the running Windows with the
// site's OSD binaries), the content it references and the findings of the analysis are shown; warnings must be
// acknowledged before Next, errors (OSD_BINARIES_MISSING among them) block it. Beside the findings, who signed the boot
// image's EFI boot files (Secure Boot readiness; a PCA-2011-only boot manager is one of the warnings).
import { useTranslation } from 'react-i18next';
import { isBlocking } from '../../../shared/analysis.js';
import type { AnalysisResult, Finding, OsdBinariesSummary } from '../../../shared/analysis.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { SecureBootSection } from '../components/SecureBoot.js';
import { formatBytes, formatNumber } from '../format.js';
import { fromEngine } from '../messages.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';

export function FindingItem({ f }: { f: Finding }) {
  const { t } = useTranslation();
  return (
    <li className={`finding ${f.severity}`} data-code={f.code}>
      <span className={`severity ${f.severity}`}>{t(`severity.${f.severity}`)}</span> <strong>{t(`finding.${f.code}`)}</strong>
      {f.step ? <> — {t('taskSequence.inStep', { step: f.step })}</> : null}
      <br />
      <EngineMessage message={f.message} frame="engine.detail" />
    </li>
  );
}

/** The OSD binaries a start from Windows needs: where they come from and which architectures, or why there are none. */
function OsdBinariesLine({ osd }: { osd: OsdBinariesSummary }) {
  const { t } = useTranslation();
  if (osd.problem !== null) {
    return (
      <span data-testid="osd-binaries" data-usable="false">
        <strong>{t('taskSequence.osdMissing')}</strong> <EngineMessage message={osd.problem} frame="engine.detail" />
      </span>
    );
  }
  const archs = osd.architectures.map((a) => t('taskSequence.osdArchitecture', { name: a.name, files: formatNumber(a.files), size: formatBytes(a.bytes) })).join('; ');
  return (
    <span data-testid="osd-binaries" data-usable="true">
      <code>{osd.location}</code>
      {osd.origin ? ` (${t(`taskSequence.osdOrigin.${osd.origin}`)})` : ''}: {archs}
    </span>
  );
}

/** How the chosen task sequence's media is started, and (where it can start from Windows) the OSD binaries for it. */
function StartSection({ an }: { an: AnalysisResult }) {
  const { t } = useTranslation();
  const osd = useSite((s) => s.info.value?.osdBinaries ?? null);
  const { startsFrom, scenario, reason } = an.start;
  return (
    <section aria-labelledby="start-heading" data-testid="start" data-package={an.packageId ?? ''} data-starts-from={startsFrom}>
      <h3 id="start-heading">{t('taskSequence.startHeading')}</h3>
      <p>
        <strong data-testid="start-summary">{t(`taskSequence.start_${startsFrom}`)}</strong>
        {scenario ? <> {t('taskSequence.scenario', { scenario: t(`scenario.${scenario}`) })}</> : null}
      </p>
      <p className="help">
        <EngineMessage message={reason} frame="engine.detail" />
      </p>
      {startsFrom !== 'boot' && osd ? (
        <dl className="facts">
          <dt>{t('taskSequence.osdBinaries')}</dt>
          <dd>
            <OsdBinariesLine osd={osd} />
          </dd>
        </dl>
      ) : null}
    </section>
  );
}

export function TaskSequencePage() {
  const { t } = useTranslation();
  const ts = useAnswers((s) => s.taskSequence);
  const update = useAnswers((s) => s.update);
  const sequences = useSite((s) => s.sequences);
  const analysis = useSite((s) => s.analysis);
  const an = ts.id && analysis.value && analysis.value.packageId === ts.id ? analysis.value : null;
  const warnings = an ? an.findings.filter((f) => f.severity === 'warning') : [];
  const errors = an ? an.findings.filter(isBlocking) : [];
  return (
    <>
      <p className="intro">{t('taskSequence.intro')}</p>
      {sequences.loading ? <p role="status">{t('taskSequence.loading')}</p> : null}
      {sequences.error ? (
        <p className="error" role="alert">
          {t('taskSequence.listFailed')} <EngineMessage message={sequences.error} coded={fromEngine(sequences.errorDetail)} />
        </p>
      ) : null}
      <fieldset>
        <legend>{t('taskSequence.legend')}</legend>
        <table className="grid" aria-describedby="ts-help">
          <thead>
            <tr>
              <th scope="col">{t('taskSequence.colName')}</th>
              <th scope="col">{t('taskSequence.colId')}</th>
              <th scope="col">{t('taskSequence.colBootImage')}</th>
              <th scope="col">{t('taskSequence.colStartsFrom')}</th>
              <th scope="col">{t('taskSequence.colStatus')}</th>
            </tr>
          </thead>
          <tbody>
            {(sequences.value ?? []).map((s) => {
              const id = `ts-${s.packageId ?? s.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
              return (
                <tr key={s.packageId ?? s.name} className={s.selectable ? '' : 'unselectable'} data-testid={`ts-row-${s.packageId}`}>
                  <td>
                    <input
                      type="radio"
                      id={id}
                      name="task-sequence"
                      disabled={!s.selectable || !s.packageId}
                      checked={ts.id !== null && ts.id === s.packageId}
                      aria-describedby={s.selectable ? undefined : `${id}-reason`}
                      onChange={() => update('taskSequence', { id: s.packageId, acknowledged: false })}
                    />
                    <label htmlFor={id}>{s.name}</label>
                  </td>
                  <td>{s.packageId ?? '—'}</td>
                  <td>{s.bootImageId ?? t('taskSequence.noBootImage')}</td>
                  <td data-testid={`ts-start-${s.packageId}`} data-starts-from={s.startsFrom ?? ''}>
                    {s.startsFrom ? t(`startsFrom.${s.startsFrom}`) : '—'}
                  </td>
                  <td id={`${id}-reason`}>
                    {s.selectable ? (
                      s.findings.length > 0 ? (
                        t('taskSequence.findingCount', { count: s.findings.length })
                      ) : (
                        t('taskSequence.ok')
                      )
                    ) : (
                      <span className="reason" data-testid={`ts-reason-${s.packageId}`}>
                        {s.findings.includes('NO_BOOT_IMAGE') ? <strong>{t('finding.NO_BOOT_IMAGE')}</strong> : <strong>{t('taskSequence.notSelectable')}</strong>}
                        {s.reason ? (
                          <>
                            {' '}
                            <EngineMessage message={s.reason} frame="engine.detail" />
                          </>
                        ) : null}
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <p id="ts-help" className="help">
          {t('taskSequence.onlyBootImage')} {t('taskSequence.startsFromHelp')}
        </p>
      </fieldset>
      <div className="choice">
        <input
          type="checkbox"
          id="detect-dependencies"
          checked={ts.detectDependencies}
          onChange={(e) => update('taskSequence', { detectDependencies: e.target.checked, acknowledged: false })}
          aria-describedby="detect-dependencies-help"
        />
        <label htmlFor="detect-dependencies">{t('taskSequence.detectDependencies')}</label>
        <p id="detect-dependencies-help" className="help">
          {t('taskSequence.detectDependenciesHelp')}
        </p>
      </div>

      {ts.id && analysis.loading ? <p role="status">{t('taskSequence.analyzing')}</p> : null}
      {ts.id && analysis.error ? (
        <p className="error" role="alert">
          {t('taskSequence.analysisFailed')} <EngineMessage message={analysis.error} coded={fromEngine(analysis.errorDetail)} />
        </p>
      ) : null}
      {an ? (
        <>
          <StartSection an={an} />
          <section aria-labelledby="findings-heading" data-testid="findings">
            <h3 id="findings-heading">{t('taskSequence.findingsHeading')}</h3>
            {an.findings.length === 0 ? (
              <p className="ok">{t('taskSequence.noFindings')}</p>
            ) : (
              <>
                <p>{t('taskSequence.findingsSummary', { errors: errors.length, warnings: warnings.length })}</p>
                <ul className="findings">
                  {an.findings.map((f, i) => (
                    <FindingItem key={`${f.code}-${i}`} f={f} />
                  ))}
                </ul>
              </>
            )}
            {warnings.length > 0 && errors.length === 0 ? (
              <div className="choice acknowledge">
                <input type="checkbox" id="acknowledge" checked={ts.acknowledged} onChange={(e) => update('taskSequence', { acknowledged: e.target.checked })} />
                <label htmlFor="acknowledge">{t('taskSequence.acknowledge', { count: warnings.length })}</label>
              </div>
            ) : null}
          </section>
          <SecureBootSection readiness={an.secureBoot} />
          <section aria-labelledby="content-heading">
            <h3 id="content-heading">{t('taskSequence.contentHeading', { count: an.references.length })}</h3>
            <table className="grid" data-testid="references">
              <thead>
                <tr>
                  <th scope="col">{t('content.colId')}</th>
                  <th scope="col">{t('content.colName')}</th>
                  <th scope="col">{t('content.colKind')}</th>
                  <th scope="col">{t('content.colVersion')}</th>
                  <th scope="col">{t('content.colVia')}</th>
                </tr>
              </thead>
              <tbody>
                {an.references.map((r) => (
                  <tr key={r.packageId}>
                    <td>{r.packageId}</td>
                    <td>{r.name ?? t('common.unknown')}</td>
                    <td>{t(`kind.${r.kind}`)}</td>
                    <td>
                      {r.version ?? '—'}
                      {r.sourceVersion !== null ? ` (${t('content.source', { n: r.sourceVersion })})` : ''}
                    </td>
                    <td lang="en">{r.via.join('; ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      ) : null}
    </>
  );
}
