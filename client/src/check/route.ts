/** The pre-call check's page: `/check` on the server (the same app), and the way there from the pre-join screen. */

export const CHECK_PATH = '/check';

/** Whether this page is the pre-call check rather than the pre-join screen or a call. */
export function isCheckPage(): boolean {
  return location.pathname.replace(/\/+$/, '') === CHECK_PATH;
}

/** The check's address from here, keeping a join token and the language (the check tests media only for invited people). */
export function checkHref(): string {
  const here = new URLSearchParams(location.search);
  const kept = new URLSearchParams();
  for (const name of ['token', 'lang']) {
    const value = here.get(name);
    if (value !== null) kept.set(name, value);
  }
  const query = kept.toString();
  return query ? `${CHECK_PATH}?${query}` : CHECK_PATH;
}

/** Shows the check page in `app` (its code loads only when it is asked for). */
export function showCheckPage(app: HTMLElement): void {
  void import('../ui/CheckView.js').then(({ CheckView }) => {
    document.title = 'Conclave';
    app.replaceChildren(new CheckView({ serverUrl: location.origin, token: new URLSearchParams(location.search).get('token') ?? undefined }).element);
  });
}
