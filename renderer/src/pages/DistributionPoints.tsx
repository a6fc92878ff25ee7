// Page 8: Distribution Points — only those holding all the content can be chosen; the others are listed with what
// they lack (from the analysis, and the extra content chosen on the previous pages).
import { useTranslation } from 'react-i18next';
import { EngineMessage } from '../components/EngineMessage.js';
import { fromEngine } from '../messages.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';
import { distributionPointViews } from '../validation.js';

export function DistributionPointsPage() {
  const { t } = useTranslation();
  const a = useAnswers();
  const analysis = useSite((s) => s.analysis);
  const catalog = useSite((s) => s.catalog);
  const views = distributionPointViews(a, analysis.value, catalog.value);
  const selected = a.distributionPoints.selected;
  const toggle = (name: string, on: boolean): void => a.update('distributionPoints', { selected: on ? [...selected.filter((x) => x !== name), name] : selected.filter((x) => x !== name) });
  const names = new Map((catalog.value ?? []).map((c) => [c.packageId, c.name]));
  return (
    <>
      <p className="intro">{t('dps.intro')}</p>
      {analysis.loading ? <p role="status">{t('taskSequence.analyzing')}</p> : null}
      {analysis.error ? (
        <p className="error" role="alert">
          {t('taskSequence.analysisFailed')} <EngineMessage message={analysis.error} coded={fromEngine(analysis.errorDetail)} />
        </p>
      ) : null}
      <fieldset>
        <legend>{t('dps.legend')}</legend>
        <ul className="dp-list">
          {views.map((v) => {
            const id = `dp-${v.status.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
            return (
              <li key={v.status.name} className={v.selectable ? '' : 'unselectable'} data-testid={`dp-${v.status.name}`}>
                <input
                  type="checkbox"
                  id={id}
                  disabled={!v.selectable}
                  checked={selected.includes(v.status.name)}
                  onChange={(e) => toggle(v.status.name, e.target.checked)}
                  aria-describedby={v.selectable ? undefined : `${id}-lacks`}
                />
                <label htmlFor={id}>{v.status.name}</label> {v.selectable ? <span className="ok">{t('dps.hasAll')}</span> : null}
                {!v.selectable ? (
                  <div id={`${id}-lacks`} className="lacks">
                    {v.status.error ? (
                      <p>
                        {t('dps.unreadable')} <EngineMessage message={v.status.error} />
                      </p>
                    ) : (
                      <>
                        <p>{t('dps.lacks', { count: v.lacks.length })}</p>
                        <ul>
                          {v.lacks.map((l) => (
                            <li key={l.packageId}>
                              <strong>{l.packageId}</strong>
                              {names.get(l.packageId) ? ` (${names.get(l.packageId)})` : ''}: {t(`missing.${l.reason}`, { have: l.have.join(', '), want: l.want ?? '?' })}
                            </li>
                          ))}
                        </ul>
                      </>
                    )}
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
        {analysis.value && views.every((v) => !v.selectable) ? (
          <p className="error" role="alert">
            {t('dps.noneHoldAll')}
          </p>
        ) : null}
      </fieldset>
      <p className="help">{t('dps.readAccess')}</p>
    </>
  );
}
