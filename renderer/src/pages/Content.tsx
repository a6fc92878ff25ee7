// Pages 5–7: Select Application, Select Package, Select Driver Package — extra content from the site's catalog.
import { useTranslation } from 'react-i18next';
import type { ReferenceKind } from '../../../shared/analysis.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { fromEngine } from '../messages.js';
import { formatBytes } from '../format.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';

type ContentPageId = 'applications' | 'packages' | 'driverPackages';
const KIND: Record<ContentPageId, ReferenceKind> = { applications: 'Application', packages: 'Package', driverPackages: 'DriverPackage' };

export function ContentPage({ page }: { page: ContentPageId }) {
  const { t } = useTranslation();
  const selected = useAnswers((s) => s[page].selected);
  const update = useAnswers((s) => s.update);
  const catalog = useSite((s) => s.catalog);
  const analysis = useSite((s) => s.analysis);
  const referenced = new Set((analysis.value?.references ?? []).map((r) => r.packageId));
  const items = (catalog.value ?? []).filter((c) => c.kind === KIND[page]);
  const toggle = (id: string, on: boolean): void => update(page, { selected: on ? [...selected.filter((x) => x !== id), id] : selected.filter((x) => x !== id) });
  return (
    <>
      <p className="intro">{t(`content.${page}.intro`)}</p>
      {catalog.loading ? <p role="status">{t('content.loading')}</p> : null}
      {catalog.error ? (
        <p className="error" role="alert">
          {t('content.failed')} <EngineMessage message={catalog.error} coded={fromEngine(catalog.errorDetail)} />
        </p>
      ) : null}
      {catalog.value && items.length === 0 ? <p>{t(`content.${page}.none`)}</p> : null}
      {items.length > 0 ? (
        <fieldset>
          <legend>{t(`content.${page}.legend`)}</legend>
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">{t('content.colName')}</th>
                <th scope="col">{t('content.colId')}</th>
                <th scope="col">{t('content.colVersion')}</th>
                <th scope="col">{t('content.colSize')}</th>
                <th scope="col">{t('content.colDps')}</th>
                <th scope="col">{t('content.colNote')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => {
                const id = `${page}-${c.packageId}`;
                return (
                  <tr key={c.packageId}>
                    <td>
                      <input type="checkbox" id={id} checked={selected.includes(c.packageId)} onChange={(e) => toggle(c.packageId, e.target.checked)} />
                      <label htmlFor={id}>{c.name ?? c.packageId}</label>
                    </td>
                    <td>{c.packageId}</td>
                    <td>{c.version ?? '—'}</td>
                    <td>{c.sizeBytes === null ? t('content.noContent') : formatBytes(c.sizeBytes)}</td>
                    <td>{c.distributionPoints.length > 0 ? c.distributionPoints.join(', ') : t('common.none')}</td>
                    <td>
                      {referenced.has(c.packageId) ? t('content.alreadyReferenced') : ''}
                      {c.dependencies.length > 0 ? ` ${t('content.dependsOn', { ids: c.dependencies.join(', ') })}` : ''}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </fieldset>
      ) : null}
      <p className="help">{t('content.selectedCount', { count: selected.length })}</p>
    </>
  );
}
