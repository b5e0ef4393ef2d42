import type { Knock } from '../../../shared/moderation.js';
import type { Meeting } from '../conference/Meeting.js';
import { computed, formatTime, localize, msg, t } from '../i18n/i18n.js';
import { h } from './dom.js';

/**
 * Who waits in the lobby, for hosts and moderators: admit or deny each, or everyone at once.
 * Automation hooks: `[data-lobby]`, `li[data-knock]` with `data-knock-id` and its
 * `[data-action="admit"]` / `[data-action="deny"]`; `[data-action="admit-all"]`, `[data-action="deny-all"]`.
 */
export class KnockList {
  readonly element: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly list: HTMLUListElement;

  constructor(
    private readonly meeting: Meeting,
    private readonly failed: (error: unknown) => void,
  ) {
    this.heading = h('h3', {});
    this.list = h('ul', { class: 'knock-list' });
    const admitAll = h('button', { class: 'small primary', 'data-action': 'admit-all' }, msg('meeting.lobby.admitAll'));
    const denyAll = h('button', { class: 'small secondary', 'data-action': 'deny-all' }, msg('meeting.lobby.denyAll'));
    admitAll.addEventListener('click', () => this.answer(true));
    denyAll.addEventListener('click', () => this.answer(false));
    this.element = h(
      'section',
      { class: 'panel-section lobby-section', 'data-lobby': '', hidden: true },
      h('div', { class: 'section-heading' }, this.heading, h('span', { class: 'section-actions' }, admitAll, denyAll)),
      this.list,
    );
  }

  render(knocks: Knock[]): void {
    this.element.hidden = knocks.length === 0;
    localize(this.heading, 'text', msg('meeting.lobby.heading', { count: knocks.length }));
    this.list.replaceChildren(...knocks.map((knock) => this.item(knock)));
  }

  private item(knock: Knock): HTMLLIElement {
    const admit = h('button', { class: 'small primary', 'data-action': 'admit' }, msg('meeting.lobby.admit'));
    const deny = h('button', { class: 'small secondary', 'data-action': 'deny' }, msg('meeting.lobby.deny'));
    admit.addEventListener('click', () => this.answer(true, knock.id));
    deny.addEventListener('click', () => this.answer(false, knock.id));
    return h(
      'li',
      { class: 'knock', 'data-knock': '', 'data-knock-id': knock.id },
      h('span', { class: 'knock-name' }, knock.displayName),
      h(
        'span',
        { class: 'knock-since' },
        computed(() => t('meeting.lobby.since', { time: formatTime(knock.since) })),
      ),
      admit,
      deny,
    );
  }

  private answer(admit: boolean, knockId?: string): void {
    this.meeting.answerKnocks(admit, knockId === undefined ? undefined : [knockId]).catch(this.failed);
  }
}
