import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { t } from '../i18n/i18n.js';
import { h } from './dom.js';

const KEPT = 5;

/**
 * A polite live region: screen readers announce who joined and who left, without moving focus or
 * interrupting — not the people already there when we join or rejoin. Hidden from sight (the tiles
 * already show it). Hook: `[data-announcer]`.
 */
export class Announcer {
  readonly element = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-announcer': '' });

  /** True while the people already present are being added (our own join or rejoin): not news. */
  private settling = true;

  constructor(private readonly client: ConferenceClient) {
    client.on('connectionState', (state) => {
      if (state !== 'joined') {
        this.settling = true;
        return;
      }
      // The join's list of who is there is added right after this state, in the same task.
      queueMicrotask(() => (this.settling = false));
    });
    client.on('participantJoined', (participant) => this.announce(t('announcements.joined', { name: participant.displayName })));
    client.on('participantLeft', (participant) => this.announce(t('announcements.left', { name: participant.displayName })));
  }

  private announce(text: string): void {
    if (!this.settling && this.client.connectionState === 'joined') this.say(text);
  }

  /** Each announcement is a new node (a changed node is not always re-read); the oldest go. */
  say(text: string): void {
    this.element.append(h('p', {}, text));
    while (this.element.childElementCount > KEPT) this.element.firstElementChild?.remove();
  }
}
