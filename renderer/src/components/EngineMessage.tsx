// An engine (or shared rule) message inside a translated frame: "The engine says: …". A message with a code the
// resources know is shown in the page's language; anything else as the English sentence it comes as (lang="en").
import { useTranslation } from 'react-i18next';
import { translateCoded, type Coded } from '../messages.js';

export function EngineMessage({
  message,
  coded,
  translated,
  frame = 'engine.says',
  className,
}: {
  message: string;
  /** The message's code and values (messages.ts fromEngine / fromRule), when it has one. */
  coded?: Coded | null;
  /** A sentence already in the page's language (e.g. a drive constraint), used instead of `message`. */
  translated?: string | null;
  frame?: string;
  className?: string;
}) {
  // useTranslation re-renders on a language switch, and the sentence is translated again here.
  const { t } = useTranslation();
  const text = translated ?? translateCoded(coded);
  return (
    <span className={`engine-message${className ? ` ${className}` : ''}`}>
      <span className="engine-frame">{t(frame)}</span>{' '}
      {text !== null ? (
        <span className="engine-text" data-code={coded?.key}>
          {text}
        </span>
      ) : (
        <span className="engine-text" lang="en">
          {message}
        </span>
      )}
    </span>
  );
}
