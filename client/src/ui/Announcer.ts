import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { t } from '../i18n/i18n.js';
import { h } from './dom.js';

const KEPT = 5;

/**
 * A polite live region: screen readers announce who joined and who left, without moving focus or
 * interrupting. Hidden from sight (the tiles already show it). Hook: `[data-announcer]`.
 */
export class Announcer {
  readonly element = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-announcer': '' });

  constructor(client: ConferenceClient) {
    client.on('participantJoined', (participant) => this.say(t('announcements.joined', { name: participant.displayName })));
    client.on('participantLeft', (participant) => this.say(t('announcements.left', { name: participant.displayName })));
  }

  /** Each announcement is a new node (a changed node is not always re-read); the oldest go. */
  say(text: string): void {
    this.element.append(h('p', {}, text));
    while (this.element.childElementCount > KEPT) this.element.firstElementChild?.remove();
  }
}
