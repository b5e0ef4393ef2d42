import type { Farewell } from '../conference/types.js';
import { h } from './dom.js';

const TEXT = {
  left: 'You left the room',
  failed: 'Could not join',
  rejoin: 'Rejoin',
  home: 'Choose another room',
  farewell: {
    removed: 'You were removed from the meeting',
    banned: 'You were removed from the meeting',
    ended: 'The meeting has ended',
    mediaCrashes: 'You were disconnected',
    denied: 'You were not let in',
    timeout: 'Nobody let you in',
  } satisfies Record<Farewell['reason'], string>,
};

/**
 * The screen after a call: why it ended (we left, it failed, we were removed or not let in) and
 * the way back. A banned person gets no Rejoin: the meeting would refuse them. Automation hooks:
 * `[data-ended]` with `data-reason` (a Farewell reason, "left" or "failed").
 */
export function endedView(farewell: Farewell | null, failure: string | undefined): HTMLElement {
  const reason = farewell?.reason ?? (failure ? 'failed' : 'left');
  const title = farewell ? TEXT.farewell[farewell.reason] : failure ? TEXT.failed : TEXT.left;
  const detail = farewell?.message ?? failure;
  const rejoin = reason === 'banned' ? null : h('button', { class: 'primary', 'data-action': 'rejoin' }, TEXT.rejoin);
  rejoin?.addEventListener('click', () => location.reload());
  return h(
    'div',
    { class: 'ended', 'data-ended': '', 'data-reason': reason },
    h('h1', {}, title),
    detail && detail !== title ? h('p', {}, detail) : null,
    h('div', { class: 'actions' }, rejoin, h('a', { href: '/' }, TEXT.home)),
  );
}
