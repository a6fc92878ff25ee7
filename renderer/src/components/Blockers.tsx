// Why Next is disabled, shown beside it (a live region, so a screen reader hears the reason too).
import { useTranslation } from 'react-i18next';
import type { Blocker } from '../validation.js';
import { EngineMessage } from './EngineMessage.js';

export function BlockerText({ blocker }: { blocker: Blocker }) {
  const { t } = useTranslation();
  return (
    <>
      {t(`blocker.${blocker.key}`, blocker.params ?? {})}
      {blocker.detail ? (
        <>
          {' '}
          <EngineMessage message={blocker.detail} coded={blocker.coded} frame="engine.detail" />
        </>
      ) : null}
    </>
  );
}

export function Blockers({ id, blockers }: { id: string; blockers: Blocker[] }) {
  const { t } = useTranslation();
  return (
    <div id={id} className="next-reason" role="status" aria-live="polite">
      {blockers.length > 0 ? (
        <>
          <span className="visually-hidden">{t('nav.nextDisabled')} </span>
          <ul>
            {blockers.map((b, i) => (
              <li key={`${b.key}-${i}`}>
                <BlockerText blocker={b} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
