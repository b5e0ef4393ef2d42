import { REACTIONS, type Actor } from '../../../shared/moderation.js';
import type { MediaSource } from '../../../shared/protocol.js';
import type { Role } from '../../../shared/roles.js';
import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { computed, label, localize, msg, plural, t } from '../i18n/i18n.js';
import { h, toolbarButton } from './dom.js';
import { errorText } from './errorText.js';
import { ParticipantsPanel } from './ParticipantsPanel.js';
import type { Tile } from './Tile.js';
import type { Toasts } from './Toasts.js';
import './meeting.css';

const MUTED_BY = {
  mic: 'meeting.mutedBy.mic',
  camera: 'meeting.mutedBy.camera',
  screen: 'meeting.mutedBy.screen',
} as const satisfies Record<MediaSource, string>;

const NOW_ROLE = {
  host: 'meeting.nowRole.host',
  moderator: 'meeting.nowRole.moderator',
  participant: 'meeting.nowRole.participant',
} as const satisfies Record<Role, string>;

const nameOf = (by: Actor): string => ('peerId' in by ? by.displayName : t('meeting.someone'));

/**
 * What the room view gets for running the meeting: toolbar buttons (raise hand, reactions,
 * participants with the number waiting), the "N waiting" indicator for the header, the
 * participants panel, the "asked to unmute" prompt, and hands and reactions on the tiles.
 * Automation hooks: `[data-action="hand"]`, `[data-action="reactions"]` with its picker
 * `[data-reaction-picker]` of `[data-action="react"][data-reaction]`, `[data-action="participants"]`,
 * `[data-waiting-count]`, `[data-unmute-prompt]` with `[data-action="unmute"]`.
 */
export class MeetingUi {
  readonly buttons: HTMLElement[];
  readonly waitingIndicator: HTMLButtonElement;
  readonly panel: HTMLElement;
  readonly banner: HTMLElement;
  private readonly participants: ParticipantsPanel;
  private readonly handButton: HTMLButtonElement;
  private readonly peopleButton: HTMLButtonElement;
  private readonly waitingBadge: HTMLElement;
  private readonly picker: HTMLElement;
  private readonly promptText: HTMLElement;
  private role: Role | null = null;

  constructor(
    private readonly client: ConferenceClient,
    private readonly toasts: Toasts,
    private readonly tiles: () => Iterable<Tile>,
  ) {
    const failed = (error: unknown): void => {
      const reason = errorText(error);
      toasts.show(
        computed(() => t('meeting.failed', { reason: reason.render() })),
        'warning',
      );
    };
    this.participants = new ParticipantsPanel(
      client,
      () => this.setPanelOpen(false),
      failed,
      (message) => toasts.show(message, 'info', 4000),
    );
    this.panel = this.participants.element;

    this.handButton = toolbarButton('hand', 'hand', msg('meeting.raiseHand'), () => {
      const raised = (client.self?.handRaisedAt ?? null) !== null;
      (raised ? client.meeting.lowerHand() : client.meeting.raiseHand()).catch(failed);
    });
    this.picker = h('div', { class: 'reaction-picker', role: 'menu', 'data-reaction-picker': '', hidden: true });
    for (const reaction of REACTIONS) {
      const choice = h('button', { class: 'reaction-choice', role: 'menuitem', 'data-action': 'react', 'data-reaction': reaction, title: reaction }, reaction);
      choice.addEventListener('click', () => {
        this.picker.hidden = true;
        client.meeting.react(reaction).catch(failed);
      });
      this.picker.append(choice);
    }
    const reactButton = toolbarButton('reactions', 'emoji', msg('meeting.reactions'), () => (this.picker.hidden = !this.picker.hidden));
    const anchor = h('span', { class: 'reaction-anchor' }, reactButton, this.picker);
    // The picker closes on a click anywhere else, as menus do.
    document.addEventListener('click', (event) => {
      if (!this.picker.hidden && event.target instanceof Node && !anchor.contains(event.target)) this.picker.hidden = true;
    });
    this.waitingBadge = h('span', { class: 'badge', 'data-waiting-badge': '0', hidden: true });
    this.peopleButton = toolbarButton('participants', 'people', msg('meeting.participants'), () => this.setPanelOpen(!this.participants.isOpen), false);
    this.peopleButton.append(this.waitingBadge);
    this.buttons = [this.handButton, anchor, this.peopleButton];

    this.waitingIndicator = h('button', { class: 'waiting-indicator', 'data-waiting-count': '0', hidden: true });
    this.waitingIndicator.addEventListener('click', () => this.setPanelOpen(true));

    this.promptText = h('span', {});
    const unmute = h('button', { class: 'primary', 'data-action': 'unmute' }, msg('meeting.unmute'));
    const dismiss = h('button', { class: 'secondary', 'data-action': 'unmute-dismiss' }, msg('meeting.notNow'));
    this.banner = h('div', { class: 'unmute-prompt', role: 'alertdialog', 'data-unmute-prompt': '', hidden: true }, this.promptText, unmute, dismiss);
    unmute.addEventListener('click', () => {
      this.banner.hidden = true;
      client.setMic(true).catch(failed);
    });
    dismiss.addEventListener('click', () => (this.banner.hidden = true));
    this.bind();
    this.renderSelf();
  }

  /** Hand badges (with the queue order) on every camera tile. */
  renderHands(): void {
    for (const tile of this.tiles()) {
      if (tile.kind === 'camera') tile.setHand(this.client.meeting.handPosition(tile.peerId));
    }
  }

  private bind(): void {
    const { client } = this;
    client.on('selfUpdated', () => {
      this.renderSelf();
      this.renderHands();
    });
    // A rejoin (after a lost room) makes us someone new: role and hand as the new room says.
    client.on('connectionState', () => this.renderSelf());
    client.on('lobbyChanged', (knocks) => this.renderWaiting(knocks.length));
    client.on('reaction', (peerId, reaction) => {
      for (const tile of this.tiles()) if (tile.peerId === peerId && tile.kind === 'camera') tile.showReaction(reaction);
    });
    client.on('mutedBy', (source, by) => {
      this.toasts.show(
        computed(() => t(MUTED_BY[source], { name: nameOf(by) })),
        'info',
      );
      if (source === 'mic') this.banner.hidden = true;
    });
    client.on('unmuteRequested', (by) => {
      if (client.local.mic.enabled) return;
      localize(
        this.promptText,
        'text',
        computed(() => t('meeting.askedToUnmute', { name: nameOf(by) })),
      );
      this.banner.hidden = false;
    });
    client.on('localMediaChanged', (source) => {
      if (source === 'mic' && client.local.mic.enabled) this.banner.hidden = true;
    });
  }

  private renderSelf(): void {
    const self = this.client.self;
    const raised = self !== null && self.handRaisedAt !== null;
    this.handButton.setAttribute('aria-pressed', String(raised));
    label(this.handButton, msg(raised ? 'meeting.lowerHand' : 'meeting.raiseHand'));
    const role = self?.role ?? null;
    // Announce a change of role, not the role one joined with.
    if (role && this.role && role !== this.role) this.toasts.show(msg(NOW_ROLE[role]), 'info');
    this.role = role;
  }

  private renderWaiting(count: number): void {
    this.waitingIndicator.hidden = count === 0;
    localize(
      this.waitingIndicator,
      'text',
      computed(() => plural('meeting.waiting', count)),
    );
    this.waitingIndicator.dataset.waitingCount = String(count);
    this.waitingBadge.hidden = count === 0;
    this.waitingBadge.textContent = String(count);
    this.waitingBadge.dataset.waitingBadge = String(count);
  }

  private setPanelOpen(open: boolean): void {
    this.participants.setOpen(open);
    this.peopleButton.setAttribute('aria-pressed', String(open));
  }
}
