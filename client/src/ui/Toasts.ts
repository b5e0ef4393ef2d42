import { msg, type Msg } from '../i18n/i18n.js';
import { h } from './dom.js';

/** Short messages in a corner: media problems, failed requests; a message may carry a link (a Node). */
export class Toasts {
  readonly element = h('div', { class: 'toasts', 'aria-live': 'polite' });

  /** `durationMs` Infinity: stays until dismissed (something the user has to act on). */
  show(message: Msg | string | Node, level: 'info' | 'warning' | 'error' = 'info', durationMs = 8000): void {
    const close = h('button', { class: 'toast-close', 'aria-label': msg('common.dismiss') }, '×');
    const toast = h('div', { class: `toast ${level}`, role: level === 'error' ? 'alert' : 'status' }, h('span', {}, message), close);
    close.addEventListener('click', () => toast.remove());
    this.element.append(toast);
    if (Number.isFinite(durationMs)) setTimeout(() => toast.remove(), durationMs);
  }
}
