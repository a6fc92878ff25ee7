// Secure Boot readiness of the boot image's EFI boot files, as the engine read them before anything is written: each
// file, its class, and each signature's signer, CA and root. Shown beside the findings on the Stand-Alone CD/DVD page.
import { useTranslation } from 'react-i18next';
import type { SecureBootReadiness } from '../../../shared/secureBoot.js';

export function SecureBootSection({ readiness }: { readiness: SecureBootReadiness | null }) {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="secure-boot-heading" data-testid="secure-boot" data-overall={readiness?.overall ?? ''}>
      <h3 id="secure-boot-heading">{t('secureBoot.heading')}</h3>
      {!readiness || readiness.files.length === 0 ? (
        <p>{t('secureBoot.notRead')}</p>
      ) : (
        <>
          <p>{t('secureBoot.overall', { class: t(`secureBoot.class.${readiness.overall ?? 'unsigned'}`) })}</p>
          <table className="grid" data-testid="secure-boot-files">
            <thead>
              <tr>
                <th scope="col">{t('secureBoot.colFile')}</th>
                <th scope="col">{t('secureBoot.colClass')}</th>
                <th scope="col">{t('secureBoot.colSignatures')}</th>
              </tr>
            </thead>
            <tbody>
              {readiness.files.map((f) => (
                <tr key={f.path} data-class={f.class}>
                  <td>
                    <code>{f.path}</code>
                  </td>
                  <td>{t(`secureBoot.class.${f.class}`)}</td>
                  <td lang="en">
                    {f.signatures.length === 0
                      ? f.class === 'damaged'
                        ? f.authorities.join('; ')
                        : '—'
                      : f.signatures.map((s, i) => (
                          <div key={i}>
                            {s.problem !== null
                              ? t('secureBoot.damagedSignature', { problem: s.problem })
                              : t('secureBoot.signature', { signer: s.signer ?? '?', ca: s.authorityName ?? '?', root: s.root ?? '?' })}
                          </div>
                        ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
