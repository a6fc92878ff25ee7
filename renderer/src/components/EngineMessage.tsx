// An engine (or shared rule) message, shown as it comes inside a translated frame: "The engine says: …".
import { useTranslation } from 'react-i18next';

export function EngineMessage({ message, frame = 'engine.says', className }: { message: string; frame?: string; className?: string }) {
  const { t } = useTranslation();
  return (
    <span className={`engine-message${className ? ` ${className}` : ''}`}>
      <span className="engine-frame">{t(frame)}</span> <span className="engine-text" lang="en">{message}</span>
    </span>
  );
}
