// Page 3: Security — "Protect media with a password" (it encrypts the task sequence environment, not the packages),
// its confirmation and a strength hint, and the optional start and expiration dates.
import { useTranslation } from 'react-i18next';
import { useAnswers } from '../stores/answers.js';

/** A hint only (length and kinds of characters); any non-empty password is accepted, as by the console. */
function strength(pw: string): 'weak' | 'fair' | 'strong' {
  const kinds = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(pw)).length;
  if (pw.length >= 12 && kinds >= 3) return 'strong';
  if (pw.length >= 8 && kinds >= 2) return 'fair';
  return 'weak';
}

export function SecurityPage() {
  const { t } = useTranslation();
  const s = useAnswers((x) => x.security);
  const update = useAnswers((x) => x.update);
  const set = (patch: Partial<typeof s>): void => update('security', patch);
  const mismatch = s.protect && s.confirm !== '' && s.password !== s.confirm;
  const level = strength(s.password);
  return (
    <>
      <p className="intro">{t('security.intro')}</p>
      <div className="choice">
        <input type="checkbox" id="protect" checked={s.protect} onChange={(e) => set({ protect: e.target.checked })} aria-describedby="protect-help" />
        <label htmlFor="protect">{t('security.protect')}</label>
        <p id="protect-help" className="help">
          {t('security.protectHelp')}
        </p>
      </div>
      {s.protect ? (
        <>
          <div className="field">
            <label htmlFor="password">{t('security.password')}</label>
            <input id="password" type="password" autoComplete="new-password" value={s.password} onChange={(e) => set({ password: e.target.value })} aria-describedby="password-strength" />
            <p id="password-strength" className={`help strength strength-${s.password ? level : 'none'}`} role="status">
              {s.password ? t(`security.strength.${level}`) : t('security.strength.none')}
            </p>
          </div>
          <div className="field">
            <label htmlFor="password-confirm">{t('security.confirm')}</label>
            <input
              id="password-confirm"
              type="password"
              autoComplete="new-password"
              value={s.confirm}
              aria-invalid={mismatch}
              aria-describedby="password-confirm-problem"
              onChange={(e) => set({ confirm: e.target.value })}
            />
            <p id="password-confirm-problem" className="field-error" role="status">
              {mismatch ? t('security.mismatch') : ''}
            </p>
          </div>
        </>
      ) : (
        <p className="warning" role="note" data-testid="no-password-warning">
          {t('security.noPassword')}
        </p>
      )}
      <p className="help">{t('security.encryptedOnly')}</p>
      <fieldset>
        <legend>{t('security.datesLegend')}</legend>
        <p className="help">{t('security.datesHelp')}</p>
        <div className="field inline">
          <label htmlFor="start-date">{t('security.startDate')}</label>
          <input id="start-date" type="date" value={s.startDate} onChange={(e) => set({ startDate: e.target.value })} />
        </div>
        <div className="field inline">
          <label htmlFor="expire-date">{t('security.expireDate')}</label>
          <input id="expire-date" type="date" value={s.expireDate} min={s.startDate || undefined} onChange={(e) => set({ expireDate: e.target.value })} />
        </div>
      </fieldset>
    </>
  );
}
