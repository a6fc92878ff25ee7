// Page 9: Customization — media variables (name checked as it is typed with shared/variables.ts; a secret value is
// masked in logs, reports and inspect output) and the prestart command with its optional files.
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { variableNameIssue, variableValueIssue, MAX_VARIABLE_VALUE } from '../../../shared/variables.js';
import { api } from '../api.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { PathField } from '../components/PathField.js';
import { fromRule } from '../messages.js';
import { newVariableKey, useAnswers } from '../stores/answers.js';
import type { VariableRow } from '../stores/answers.js';

export function CustomizationPage() {
  const { t } = useTranslation();
  const c = useAnswers((s) => s.customization);
  const update = useAnswers((s) => s.update);
  const set = (patch: Partial<typeof c>): void => update('customization', patch);
  const [focusKey, setFocusKey] = useState<number | null>(null);
  const addRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (focusKey === null) return;
    document.getElementById(`var-name-${focusKey}`)?.focus();
    setFocusKey(null);
  }, [focusKey]);
  const setRow = (key: number, patch: Partial<VariableRow>): void => set({ variables: c.variables.map((v) => (v.key === key ? { ...v, ...patch } : v)) });
  const add = (): void => {
    const key = newVariableKey();
    set({ variables: [...c.variables, { key, name: '', value: '', secret: false }] });
    setFocusKey(key);
  };
  const remove = (key: number): void => {
    set({ variables: c.variables.filter((v) => v.key !== key) });
    addRef.current?.focus();
  };
  const lower = c.variables.map((v) => v.name.trim().toLowerCase());
  return (
    <>
      <p className="intro">{t('customization.intro')}</p>
      <fieldset>
        <legend>{t('customization.variablesLegend')}</legend>
        {c.variables.length === 0 ? <p className="help">{t('customization.noVariables')}</p> : null}
        {c.variables.length > 0 ? (
          <table className="grid variables">
            <thead>
              <tr>
                <th scope="col">{t('customization.colName')}</th>
                <th scope="col">{t('customization.colValue')}</th>
                <th scope="col">{t('customization.colSecret')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('customization.colActions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {c.variables.map((v, i) => {
                const name = v.name.trim();
                const problem = variableNameIssue(name);
                const duplicate = !problem && lower.indexOf(name.toLowerCase()) !== i;
                const valueProblem = variableValueIssue(name || '?', v.value);
                const row = i + 1;
                return (
                  <tr key={v.key} data-testid={`variable-row-${row}`}>
                    <td>
                      <label htmlFor={`var-name-${v.key}`} className="visually-hidden">
                        {t('customization.nameOf', { row })}
                      </label>
                      <input
                        id={`var-name-${v.key}`}
                        type="text"
                        spellCheck={false}
                        autoComplete="off"
                        value={v.name}
                        aria-invalid={problem !== null || duplicate}
                        aria-describedby={`var-problem-${v.key}`}
                        onChange={(e) => setRow(v.key, { name: e.target.value })}
                      />
                      <p id={`var-problem-${v.key}`} className="field-error" role="status">
                        {problem ? (
                          <EngineMessage message={problem.message} coded={fromRule('variableName', problem)} frame="engine.rule" />
                        ) : duplicate ? (
                          t('customization.duplicate', { name })
                        ) : (
                          ''
                        )}
                      </p>
                    </td>
                    <td>
                      <label htmlFor={`var-value-${v.key}`} className="visually-hidden">
                        {t('customization.valueOf', { row })}
                      </label>
                      <input
                        id={`var-value-${v.key}`}
                        type={v.secret ? 'password' : 'text'}
                        autoComplete="off"
                        spellCheck={false}
                        maxLength={MAX_VARIABLE_VALUE + 1}
                        value={v.value}
                        aria-invalid={valueProblem !== null}
                        aria-describedby={`var-value-problem-${v.key}`}
                        onChange={(e) => setRow(v.key, { value: e.target.value })}
                      />
                      <p id={`var-value-problem-${v.key}`} className="field-error" role="status">
                        {valueProblem ? <EngineMessage message={valueProblem.message} coded={fromRule('variableValue', valueProblem)} frame="engine.rule" /> : ''}
                      </p>
                    </td>
                    <td>
                      <input type="checkbox" id={`var-secret-${v.key}`} checked={v.secret} onChange={(e) => setRow(v.key, { secret: e.target.checked })} />
                      <label htmlFor={`var-secret-${v.key}`}>{t('customization.secret')}</label>
                    </td>
                    <td>
                      <button type="button" onClick={() => remove(v.key)} aria-label={t('customization.removeNamed', { name: name || t('customization.rowN', { row }) })}>
                        {t('customization.remove')}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
        <button type="button" ref={addRef} onClick={add}>
          {t('customization.add')}
        </button>
        <p className="help">{t('customization.variablesHelp')}</p>
      </fieldset>

      <fieldset>
        <legend>{t('customization.prestartLegend')}</legend>
        <div className="choice">
          <input type="checkbox" id="prestart" checked={c.prestart} onChange={(e) => set({ prestart: e.target.checked })} aria-describedby="prestart-help" />
          <label htmlFor="prestart">{t('customization.prestart')}</label>
          <p id="prestart-help" className="help">
            {t('customization.prestartHelp')}
          </p>
        </div>
        {c.prestart ? (
          <>
            <div className="field">
              <label htmlFor="prestart-command">{t('customization.prestartCommand')}</label>
              <input id="prestart-command" type="text" spellCheck={false} value={c.prestartCommand} placeholder={t('customization.prestartPlaceholder')} onChange={(e) => set({ prestartCommand: e.target.value })} />
            </div>
            <div className="choice">
              <input type="checkbox" id="prestart-files" checked={c.prestartFilesEnabled} onChange={(e) => set({ prestartFilesEnabled: e.target.checked })} />
              <label htmlFor="prestart-files">{t('customization.prestartFiles')}</label>
            </div>
            {c.prestartFilesEnabled ? (
              <PathField label={t('customization.prestartFolder')} value={c.prestartFiles} onChange={(v) => set({ prestartFiles: v })} browse={() => api.chooseFolder(t('customization.prestartFolder'))} />
            ) : null}
          </>
        ) : null}
      </fieldset>
    </>
  );
}
