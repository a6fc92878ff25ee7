// A path typed by the user, with a Browse… button when the host has native dialogs (Electron). Without them (the
// loopback host answers null) the text field is the way, and a note says so.
import { useId, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

export function PathField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  browse: () => Promise<string | null>;
  placeholder?: string;
  describedBy?: string;
  help?: string;
  name?: string;
  /** Shown under the field (e.g. what the engine says of the path); name its id in `describedBy`. */
  children?: ReactNode;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [note, setNote] = useState<string | null>(null);
  const helpId = `${id}-help`;
  const described = [props.help ? helpId : null, note ? `${id}-note` : null, props.describedBy ?? null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <div className="path-row">
        <input id={id} name={props.name} type="text" value={props.value} placeholder={props.placeholder} spellCheck={false} autoComplete="off" aria-describedby={described} onChange={(e) => props.onChange(e.target.value)} />
        <button
          type="button"
          aria-label={t('common.browseFor', { what: props.label })}
          onClick={async () => {
            try {
              const p = await props.browse();
              if (p) {
                props.onChange(p);
                setNote(null);
              } else setNote(t('common.noDialog'));
            } catch {
              setNote(t('common.noDialog'));
            }
          }}
        >
          {t('common.browse')}
        </button>
      </div>
      {props.help ? (
        <p id={helpId} className="help">
          {props.help}
        </p>
      ) : null}
      {note ? (
        <p id={`${id}-note`} className="help" role="status">
          {note}
        </p>
      ) : null}
      {props.children}
    </div>
  );
}
