// Page 1: Select Media Type — stand-alone media, "Allow unattended operating system deployment", and the site.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ErrorDetail, OpenServerSiteRequest } from '../../../shared/ipc.js';
import { api } from '../api.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
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
  const openServerSite = useSite((s) => s.openServerSite);
  const [sitePath, setSitePath] = useState('');
  const [server, setServer] = useState('');
  const [user, setUser] = useState('');
  // The password lives in this page's state only: sent with the request, never stored, cleared once the site opens.
  const [password, setPassword] = useState('');
  /** The server request just sent, to send again with the certificate the user trusts (null once answered). */
  const [pending, setPending] = useState<OpenServerSiteRequest | null>(null);
  const sendServer = async (req: OpenServerSiteRequest): Promise<void> => {
    setPending(req);
    await openServerSite(req);
    if (useSite.getState().info.error === null) {
      setPassword('');
      setPending(null);
    }
  };
  const certificate = pending && !info.loading ? certificateQuestion(info.errorDetail) : null;
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
            <dt>{info.value.live && info.value.live.address === info.value.root ? t('site.address') : t('site.folder')}</dt>
            <dd data-testid="site-root">
              <code>{info.value.root}</code> {info.value.isSample ? <span className="tag">{t('site.sample')}</span> : null}
            </dd>
            {info.value.live ? (
              <>
                <dt>{t('site.liveServer')}</dt>
                <dd data-testid="site-live">
                  {info.value.live.server} <span className="tag">{t('site.live')}</span>
                </dd>
                <dt>{t('site.signedInAs')}</dt>
                <dd data-testid="site-user">{info.value.live.user ?? t('site.ownAccount')}</dd>
              </>
            ) : null}
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
            <button
              type="button"
              disabled={sitePath.trim() === ''}
              onClick={() => {
                setPending(null);
                void openSite(sitePath.trim());
              }}
            >
              {t('site.open')}
            </button>
            <button
              type="button"
              onClick={() => {
                setPending(null);
                void openSite(null);
              }}
            >
              {t('site.openSample')}
            </button>
          </div>
          <form
            className="server-site"
            aria-labelledby="server-site-heading"
            onSubmit={(e) => {
              e.preventDefault();
              if (server.trim() === '' || info.loading) return;
              void sendServer({ address: server.trim(), user: user.trim() || null, password: user.trim() ? password : null, trustThumbprint: null });
            }}
          >
            <h4 id="server-site-heading">{t('site.orServer')}</h4>
            <div className="field">
              <label htmlFor="server-address">{t('site.serverAddress')}</label>
              <input id="server-address" name="server-address" type="text" value={server} placeholder="cm01.contoso.com" spellCheck={false} autoComplete="off" aria-describedby="server-address-help" onChange={(e) => setServer(e.target.value)} />
              <p id="server-address-help" className="help">
                {t('site.serverAddressHelp')}
              </p>
            </div>
            <div className="field">
              <label htmlFor="server-user">{t('site.serverUser')}</label>
              <input id="server-user" name="server-user" type="text" value={user} placeholder={t('site.serverUserPlaceholder')} spellCheck={false} autoComplete="off" aria-describedby="server-user-help" onChange={(e) => setUser(e.target.value)} />
              <p id="server-user-help" className="help">
                {t('site.serverUserHelp')}
              </p>
            </div>
            <div className="field">
              <label htmlFor="server-password">{t('site.serverPassword')}</label>
              <input id="server-password" name="server-password" type="password" value={password} autoComplete="off" aria-describedby="server-password-help" onChange={(e) => setPassword(e.target.value)} />
              <p id="server-password-help" className="help">
                {t('site.serverPasswordHelp')}
              </p>
            </div>
            <div className="button-row">
              <button type="submit" disabled={server.trim() === '' || info.loading}>
                {t('site.openServer')}
              </button>
            </div>
          </form>
        </details>
      </section>
      {certificate && pending ? (
        <ConfirmDialog
          title={t(certificate.changed ? 'site.certChangedTitle' : 'site.certTitle', { server: certificate.server })}
          confirmLabel={t('site.certTrust')}
          cancelLabel={t('site.certCancel')}
          danger={certificate.changed}
          onConfirm={() => void sendServer({ ...pending, trustThumbprint: certificate.thumbprint })}
          onCancel={() => setPending(null)}
        >
          {certificate.changed ? (
            <p className="warning" role="alert">
              {t('site.certChangedWarning', { server: certificate.server })}
            </p>
          ) : (
            <p>{t('site.certUntrusted', { server: certificate.server })}</p>
          )}
          <dl className="facts" data-testid="certificate">
            <dt>{t('site.certServer')}</dt>
            <dd>{certificate.server}</dd>
            {certificate.subject ? (
              <>
                <dt>{t('site.certSubject')}</dt>
                <dd>{certificate.subject}</dd>
              </>
            ) : null}
            {certificate.pinned ? (
              <>
                <dt>{t('site.certPinned')}</dt>
                <dd>
                  <code className="hash" data-testid="cert-pinned">
                    {certificate.pinned}
                  </code>
                </dd>
              </>
            ) : null}
            <dt>{certificate.changed ? t('site.certNewSha256') : t('site.certSha256')}</dt>
            <dd>
              <code className="hash" data-testid="cert-sha256">
                {certificate.thumbprint}
              </code>
            </dd>
            {certificate.sha1 ? (
              <>
                <dt>{t('site.certSha1')}</dt>
                <dd>
                  <code className="hash" data-testid="cert-sha1">
                    {certificate.sha1}
                  </code>
                </dd>
              </>
            ) : null}
          </dl>
          <p>{t('site.certCompare')}</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

interface CertificateQuestion {
  changed: boolean;
  server: string;
  thumbprint: string;
  sha1: string | null;
  subject: string | null;
  /** SITE_CERT_CHANGED: the thumbprint trusted before. */
  pinned: string | null;
}

/** The certificate to ask the user about, when opening a server failed on it (SITE_CERT_UNTRUSTED or SITE_CERT_CHANGED). */
function certificateQuestion(detail: ErrorDetail | null): CertificateQuestion | null {
  if (!detail || (detail.code !== 'SITE_CERT_UNTRUSTED' && detail.code !== 'SITE_CERT_CHANGED')) return null;
  const p = detail.params;
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const thumbprint = str(p.thumbprint);
  const server = str(p.server);
  // Without the certificate's thumbprint (the server was not reached again) there is nothing to trust: the error says why.
  if (!thumbprint || thumbprint === 'unknown' || !server) return null;
  return { changed: detail.code === 'SITE_CERT_CHANGED', server, thumbprint, sha1: str(p.sha1), subject: str(p.subject), pinned: str(p.pinned) };
}
