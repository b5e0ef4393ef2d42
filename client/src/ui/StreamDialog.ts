import { StreamUrl } from '../../../shared/recording.js';
import { localize, msg, type Msg } from '../i18n/i18n.js';
import { h } from './dom.js';

/**
 * Asks a host for the live stream's RTMP(S) URL, stream key included, in a modal dialog (Escape or
 * Cancel closes it). The URL is checked with the server's own rule (`StreamUrl`) before it is
 * sent. It is a secret: typed into a masked field and forgotten by the dialog once submitted or
 * closed, so it never shows again. Automation hooks: `dialog[data-stream-dialog]`,
 * `input[data-stream-url]`, `[data-stream-problem]`, `[data-action="stream-submit"]`, `[data-action="stream-cancel"]`.
 */
export class StreamDialog {
  readonly element: HTMLDialogElement;
  private readonly input: HTMLInputElement;
  private readonly problem: HTMLElement;
  private opener: HTMLElement | null = null;

  constructor(onSubmit: (url: string) => void) {
    this.input = h('input', {
      type: 'password',
      name: 'stream-url',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      'aria-describedby': 'stream-dialog-hint stream-dialog-problem',
      'data-stream-url': '',
    });
    this.problem = h('p', { id: 'stream-dialog-problem', class: 'form-error', 'aria-live': 'assertive', 'data-stream-problem': '' });
    const cancel = h('button', { type: 'button', class: 'secondary', 'data-action': 'stream-cancel' }, msg('common.cancel'));
    const submit = h('button', { type: 'submit', class: 'primary', 'data-action': 'stream-submit' }, msg('recording.dialog.submit'));
    const form = h(
      'form',
      { method: 'dialog', novalidate: true },
      h('h2', { id: 'stream-dialog-title' }, msg('recording.dialog.title')),
      h('p', { class: 'dialog-intro' }, msg('recording.dialog.intro')),
      h('label', { class: 'dialog-field' }, h('span', {}, msg('recording.dialog.url')), this.input),
      h('p', { id: 'stream-dialog-hint', class: 'dialog-hint' }, msg('recording.dialog.hint')),
      this.problem,
      h('div', { class: 'dialog-actions' }, cancel, submit),
    );
    this.element = h('dialog', { class: 'stream-dialog', 'aria-labelledby': 'stream-dialog-title', 'data-stream-dialog': '' }, form);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const url = this.check();
      if (url === null) return;
      this.close();
      onSubmit(url);
    });
    cancel.addEventListener('click', () => this.close());
    // Escape closes a modal dialog by itself; either way nothing typed is kept.
    this.element.addEventListener('close', () => {
      this.forget();
      this.opener?.focus();
      this.opener = null;
    });
    this.input.addEventListener('input', () => this.setProblem(null));
  }

  /** `opener` gets the focus back when the dialog closes. */
  open(opener: HTMLElement): void {
    if (this.element.open) return;
    this.forget();
    this.opener = opener;
    this.element.showModal();
    this.input.focus();
  }

  close(): void {
    this.forget();
    if (this.element.open) this.element.close();
  }

  /** The URL as the server will take it, or null (with the problem shown) when it would be refused. */
  private check(): string | null {
    const checked = StreamUrl.safeParse(this.input.value);
    if (checked.success) return checked.data;
    const issue = checked.error.issues[0];
    this.setProblem(
      this.input.value.trim() === ''
        ? msg('recording.dialog.required')
        : issue?.code === 'too_big'
          ? msg('recording.dialog.tooLong', { max: Number(issue.maximum) })
          : msg('recording.dialog.format'),
    );
    this.input.focus();
    return null;
  }

  private setProblem(problem: Msg | null): void {
    localize(this.problem, 'text', problem ?? '');
    if (problem) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }

  private forget(): void {
    this.input.value = '';
    this.setProblem(null);
  }
}
