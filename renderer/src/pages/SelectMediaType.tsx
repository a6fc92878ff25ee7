// Page 1: Select Media Type — stand-alone media, "Allow unattended operating system deployment", and the site.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { fromEngine } from '../messages.js';
import { PathField } from '../components/PathField.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';

export function SelectMediaTypePage() {
  const { t } = useTranslation();
  const unattended = useAnswers((s) => s.selectMediaType.unattended);
  const update = useAnswers((s) => s.update);
  const info = useSite((s) => s.info);
  const openSite = useSite((s) => s.openSite);
  const [sitePath, setSitePath] = useState('');
  return (
    <>
      <p className="intro">{t('selectMediaType.intro')}</p>
      <fieldset>
        <legend>{t('selectMediaType.mediaLegend')}</legend>
        <div className="choice">
          <input type="radio" id="media-standalone" name="media-kind" checked readOnly aria-describedby="media-standalone-help" />
          <label htmlFor="media-standalone">{t('selectMediaType.standalone')}</label>
          <p id="media-standalone-help" className="help">
            {t('selectMediaType.standaloneHelp')}
          </p>
        </div>
        <p className="help">{t('selectMediaType.otherKinds')}</p>
      </fieldset>
      <div className="choice">
        <input type="checkbox" id="unattended" checked={unattended} onChange={(e) => update('selectMediaType', { unattended: e.target.checked })} aria-describedby="unattended-help" />
        <label htmlFor="unattended">{t('selectMediaType.unattended')}</label>
        <p id="unattended-help" className="help">
          {t('selectMediaType.unattendedHelp')}
        </p>
      </div>

      <section className="site-box" aria-labelledby="site-heading">
        <h3 id="site-heading">{t('site.heading')}</h3>
        {info.loading ? <p role="status">{t('site.loading')}</p> : null}
        {info.error ? (
          <p className="error" role="alert">
            {t('site.failed')} <EngineMessage message={info.error} coded={fromEngine(info.errorDetail)} />
          </p>
        ) : null}
        {info.value ? (
          <dl className="facts">
            <dt>{t('site.folder')}</dt>
            <dd data-testid="site-root">
              <code>{info.value.root}</code> {info.value.isSample ? <span className="tag">{t('site.sample')}</span> : null}
            </dd>
            <dt>{t('site.code')}</dt>
            <dd>
              {info.value.siteCode ?? t('common.unknown')}
              {info.value.siteName ? ` — ${info.value.siteName}` : ''}
              {info.value.centralAdministrationSite ? ` (${t('site.cas')})` : ''}
            </dd>
            <dt>{t('site.taskSequences')}</dt>
            <dd>{info.value.taskSequences}</dd>
            <dt>{t('site.distributionPoints')}</dt>
            <dd>
              <ul className="plain">
                {info.value.distributionPoints.map((dp) => (
                  <li key={dp.name}>
                    {dp.name}
                    {dp.error ? (
                      <>
                        {' '}
                        — <EngineMessage message={dp.error} frame="site.dpUnreadable" />
                      </>
                    ) : null}
                  </li>
                ))}
              </ul>
            </dd>
          </dl>
        ) : null}
        <details>
          <summary>{t('site.openOther')}</summary>
          <PathField label={t('site.otherFolder')} value={sitePath} onChange={setSitePath} browse={() => api.chooseFolder(t('site.otherFolder'))} />
          <div className="button-row">
            <button type="button" disabled={sitePath.trim() === ''} onClick={() => void openSite(sitePath.trim())}>
              {t('site.open')}
            </button>
            <button type="button" onClick={() => void openSite(null)}>
              {t('site.openSample')}
            </button>
          </div>
        </details>
      </section>
    </>
  );
}
