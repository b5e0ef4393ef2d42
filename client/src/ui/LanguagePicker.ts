import { isLanguage, language, LANGUAGE_NAMES, LANGUAGES, msg, onLanguageChange, setLanguage } from '../i18n/i18n.js';
import { h } from './dom.js';

/** A select of the languages we have, each named in itself; switching needs no reload. */
export function languagePicker(): HTMLSelectElement {
  const select = h(
    'select',
    { class: 'language-picker', name: 'language', 'aria-label': msg('language.label'), title: msg('language.label') },
    ...LANGUAGES.map((code) => h('option', { value: code, lang: code, selected: code === language() }, LANGUAGE_NAMES[code])),
  );
  select.addEventListener('change', () => {
    if (isLanguage(select.value)) setLanguage(select.value);
  });
  // Held weakly: a picker on a screen that is gone (the lobby's, the pre-join's) unsubscribes itself.
  const picker = new WeakRef(select);
  const stop = onLanguageChange((next) => {
    const current = picker.deref();
    if (current) current.value = next;
    else stop();
  });
  return select;
}
