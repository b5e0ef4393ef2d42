import type { CallProblem, Farewell } from '../conference/types.js';
import { msg, type Msg } from '../i18n/i18n.js';
import { h } from './dom.js';
import { problemText } from './explain.js';

/** Why the call ended without our leaving: a title, and more when the title does not say it all. */
const FAREWELL: Record<Farewell['reason'], { title: Msg; detail?: Msg }> = {
  removed: { title: msg('prejoin.ended.removed') },
  banned: { title: msg('prejoin.ended.banned'), detail: msg('prejoin.ended.bannedDetail') },
  ended: { title: msg('prejoin.ended.ended') },
  mediaCrashes: { title: msg('prejoin.ended.mediaCrashes'), detail: msg('prejoin.ended.mediaCrashesDetail') },
  denied: { title: msg('prejoin.ended.denied'), detail: msg('prejoin.ended.deniedDetail') },
  timeout: { title: msg('prejoin.ended.timeout'), detail: msg('prejoin.ended.timeoutDetail') },
};

/**
 * The screen after a call: why it ended (we left, it failed, we were removed or not let in) and
 * the way back. A banned person gets no Rejoin: the meeting would refuse them. Automation hooks:
 * `[data-ended]` with `data-reason` (a Farewell reason, "left" or "failed").
 */
export function endedView(farewell: Farewell | null, problem: CallProblem | null): HTMLElement {
  const reason = farewell?.reason ?? (problem ? 'failed' : 'left');
  const { title, detail } = farewell
    ? FAREWELL[farewell.reason]
    : problem
      ? { title: msg('prejoin.ended.failed'), detail: problemText(problem) }
      : { title: msg('prejoin.ended.left') };
  const rejoin = reason === 'banned' ? null : h('button', { class: 'primary', 'data-action': 'rejoin' }, msg('prejoin.ended.rejoin'));
  rejoin?.addEventListener('click', () => location.reload());
  return h(
    'div',
    { class: 'ended', 'data-ended': '', 'data-reason': reason },
    h('h1', {}, title),
    detail ? h('p', {}, detail) : null,
    h('div', { class: 'actions' }, rejoin, h('a', { href: '/' }, msg('prejoin.ended.home'))),
  );
}
