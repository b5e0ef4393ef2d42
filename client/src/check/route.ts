/** The pre-call check's page: `/check` on the server (the same app), and the way there from the pre-join screen. */

export const CHECK_PATH = '/check';

/** Whether this page is the pre-call check rather than the pre-join screen or a call. */
export function isCheckPage(): boolean {
  return location.pathname.replace(/\/+$/, '') === CHECK_PATH;
}

/**
 * A page of this app (`/check`, or `/` for the pre-join screen) from here, keeping a join token (the
 * check tests media only for invited people) and a `?lang=`, as the language is now: bind it to the
 * link (`computed`) so it follows a language change.
 */
export function hrefKeeping(path: string): string {
  const here = new URLSearchParams(location.search);
  const kept = new URLSearchParams();
  const token = here.get('token');
  if (token !== null) kept.set('token', token);
  // The URL's own ?lang= is rewritten only after bound text re-renders, so ask <html>, which the i18n layer sets first.
  if (here.has('lang')) kept.set('lang', document.documentElement.lang || (here.get('lang') ?? ''));
  const query = kept.toString();
  return query ? `${path}?${query}` : path;
}

/** Shows the check page in `app` (its code loads only when it is asked for). */
export function showCheckPage(app: HTMLElement): void {
  void import('../ui/CheckView.js').then(({ CheckView }) => {
    document.title = 'Conclave';
    app.replaceChildren(new CheckView({ serverUrl: location.origin, token: new URLSearchParams(location.search).get('token') ?? undefined }).element);
  });
}
