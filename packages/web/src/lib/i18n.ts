// i18next with English (default) and Japanese. Both catalogs are bundled in
// the entry chunk (a few kB) so the first paint is never in the wrong
// language. The choice is stored in localStorage `kanade_lang`; without one
// the browser language decides. test/locales.test.ts keeps the catalogs' keys
// in step. Operator-authored data (group names, job ids) is never translated.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from '../locales/en.json' with { type: 'json' };
import ja from '../locales/ja.json' with { type: 'json' };

export const LANGUAGES = ['en', 'ja'] as const;
export type Language = (typeof LANGUAGES)[number];
export const LANG_KEY = 'kanade_lang';

function initialLanguage(): Language {
  try {
    const v = localStorage.getItem(LANG_KEY);
    if (v === 'en' || v === 'ja') return v;
  } catch {
    // storage unavailable: use the browser's language
  }
  return navigator.language.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

export function setLanguage(lang: Language) {
  localStorage.setItem(LANG_KEY, lang);
  void i18n.changeLanguage(lang);
}

i18n.on('languageChanged', (lng) => {
  document.documentElement.lang = lng;
});

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, ja: { translation: ja } },
  lng: initialLanguage(),
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
});

export default i18n;
