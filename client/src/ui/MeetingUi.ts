import { REACTIONS, type Actor } from '../../../shared/moderation.js';
import type { MediaSource } from '../../../shared/protocol.js';
import type { Role } from '../../../shared/roles.js';
import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { h, toolbarButton } from './dom.js';
import { ParticipantsPanel } from './ParticipantsPanel.js';
import type { Tile } from './Tile.js';
import type { Toasts } from './Toasts.js';
import './meeting.css';

const TEXT = {
  raiseHand: 'Raise hand',
  lowerHand: 'Lower hand',
  reactions: 'Reactions',
  participants: 'Participants',
  waiting: (count: number) => `${count} waiting`,
  someone: 'A moderator',
  mutedBy: {
    mic: (name: string) => `${name} muted your microphone. You can unmute yourself.`,
    camera: (name: string) => `${name} turned your camera off. You can turn it on again.`,
    screen: (name: string) => `${name} stopped your screen share.`,
  } satisfies Record<MediaSource, (name: string) => string>,
  askedToUnmute: (name: string) => `${name} asks you to unmute`,
  unmute: 'Unmute',
  notNow: 'Not now',
  nowRole: { host: 'You are now the host', moderator: 'You are now a moderator', participant: 'You are no longer a moderator' } satisfies Record<Role, string>,
  failed: (message: string) => `Could not do that: ${message}`,
};

const nameOf = (by: Actor): string => ('peerId' in by ? by.displayName : TEXT.someone);

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
    const failed = (error: unknown): void => toasts.show(TEXT.failed(error instanceof Error ? error.message : String(error)), 'warning');
    this.participants = new ParticipantsPanel(
      client,
      () => this.setPanelOpen(false),
      failed,
      (message) => toasts.show(message, 'info', 4000),
    );
    this.panel = this.participants.element;

    this.handButton = toolbarButton('hand', 'hand', TEXT.raiseHand, () => {
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
    const reactButton = toolbarButton('reactions', 'emoji', TEXT.reactions, () => (this.picker.hidden = !this.picker.hidden));
    const anchor = h('span', { class: 'reaction-anchor' }, reactButton, this.picker);
    // The picker closes on a click anywhere else, as menus do.
    document.addEventListener('click', (event) => {
      if (!this.picker.hidden && event.target instanceof Node && !anchor.contains(event.target)) this.picker.hidden = true;
    });
    this.waitingBadge = h('span', { class: 'badge', 'data-waiting-badge': '0', hidden: true });
    this.peopleButton = toolbarButton('participants', 'people', TEXT.participants, () => this.setPanelOpen(!this.participants.isOpen), false);
    this.peopleButton.append(this.waitingBadge);
    this.buttons = [this.handButton, anchor, this.peopleButton];

    this.waitingIndicator = h('button', { class: 'waiting-indicator', 'data-waiting-count': '0', hidden: true });
    this.waitingIndicator.addEventListener('click', () => this.setPanelOpen(true));

    this.promptText = h('span', {});
    const unmute = h('button', { class: 'primary', 'data-action': 'unmute' }, TEXT.unmute);
    const dismiss = h('button', { class: 'secondary', 'data-action': 'unmute-dismiss' }, TEXT.notNow);
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
      this.toasts.show(TEXT.mutedBy[source](nameOf(by)), 'info');
      if (source === 'mic') this.banner.hidden = true;
    });
    client.on('unmuteRequested', (by) => {
      if (client.local.mic.enabled) return;
      this.promptText.textContent = TEXT.askedToUnmute(nameOf(by));
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
    this.handButton.title = raised ? TEXT.lowerHand : TEXT.raiseHand;
    this.handButton.setAttribute('aria-label', this.handButton.title);
    const role = self?.role ?? null;
    // Announce a change of role, not the role one joined with.
    if (role && this.role && role !== this.role) this.toasts.show(TEXT.nowRole[role], 'info');
    this.role = role;
  }

  private renderWaiting(count: number): void {
    this.waitingIndicator.hidden = count === 0;
    this.waitingIndicator.textContent = TEXT.waiting(count);
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
