// English and Spanish. The language follows the operating system (systemLocale) unless the user picked one, which
// is remembered with setPreferences. Engine and shared-rule messages with a code are translated by it (messages.ts);
// the others are shown as they come, in English, inside a translated frame.
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { api, errorMessage } from './api.js';
import en from './locales/en.json';
import es from './locales/es.json';

export type Language = 'en' | 'es';
export const LANGUAGES: readonly Language[] = ['en', 'es'];

export const i18n = i18next.createInstance();

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, es: { translation: es } },
  lng: 'en',
  fallbackLng: 'en',
  supportedLngs: ['en', 'es'],
  interpolation: { escapeValue: false },
  returnNull: false,
  initAsync: false,
});

export function languageFromLocale(locale: string | null | undefined): Language {
  return typeof locale === 'string' && locale.toLowerCase().startsWith('es') ? 'es' : 'en';
}

async function apply(lang: Language): Promise<void> {
  await i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
  document.title = i18n.t('app.title');
}

/** The remembered choice, else the operating system's language. */
export async function initLanguage(): Promise<{ language: Language; followsSystem: boolean }> {
  let chosen: Language | null = null;
  try {
    chosen = (await api.getPreferences()).language;
  } catch (e) {
    console.warn('getPreferences:', errorMessage(e));
  }
  let lang: Language = chosen ?? 'en';
  if (!chosen) {
    try {
      lang = languageFromLocale(await api.systemLocale());
    } catch (e) {
      console.warn('systemLocale:', errorMessage(e));
    }
  }
  await apply(lang);
  return { language: lang, followsSystem: chosen === null };
}

/** Switches the language; null follows the operating system again. The choice is remembered. */
export async function chooseLanguage(choice: Language | null): Promise<Language> {
  let lang: Language = choice ?? 'en';
  if (choice === null) {
    try {
      lang = languageFromLocale(await api.systemLocale());
    } catch {
      lang = 'en';
    }
  }
  await apply(lang);
  try {
    await api.setPreferences({ language: choice });
  } catch (e) {
    console.warn('setPreferences:', errorMessage(e));
  }
  return lang;
}
