import type { DataLabel } from '../../../shared/data.js';
import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { computed, label, msg, t, type Msg } from '../i18n/i18n.js';
import { ChatPanel } from './ChatPanel.js';
import { h, toolbarButton } from './dom.js';
import { errorText } from './errorText.js';
import type { Toasts } from './Toasts.js';
import { WhiteboardView } from './WhiteboardView.js';
import './collaboration.css';

const CHANNEL_NAMES = {
  chat: 'collaboration.channel.chat',
  board: 'collaboration.channel.board',
  fast: 'collaboration.channel.fast',
  file: 'collaboration.channel.file',
} as const satisfies Record<DataLabel, string>;

/**
 * What the room view gets for the data-channel features: toolbar buttons (chat with its unread
 * badge, whiteboard), the panels to show beside the tiles, and drag-and-drop of files onto the
 * call. Automation hooks: `[data-action="chat"]`, `[data-action="whiteboard"]`,
 * `[data-unread]` (the badge; its value is the count), `[data-drop-zone]`.
 */
export class Collaboration {
  readonly buttons: HTMLButtonElement[];
  /** Shown beside the tiles: the whiteboard, then the chat panel. */
  readonly panels: HTMLElement[];
  private readonly chat: ChatPanel;
  private readonly board: WhiteboardView;
  private readonly chatButton: HTMLButtonElement;
  private readonly boardButton: HTMLButtonElement;
  private readonly badge: HTMLElement;
  private readonly dropHint: HTMLElement;

  constructor(client: ConferenceClient, toasts: Toasts) {
    this.badge = h('span', { class: 'badge', 'data-unread': '0', hidden: true });
    this.chatButton = toolbarButton('chat', 'chat', msg('collaboration.chat'), () => this.setChatOpen(!this.chat.isOpen), false);
    this.chatButton.append(this.badge);
    this.boardButton = toolbarButton('whiteboard', 'whiteboard', msg('collaboration.whiteboard'), () => this.setBoardOpen(!this.board.isOpen), false);
    this.chat = new ChatPanel(
      client.data,
      {
        unread: (count) => this.showUnread(count),
        failed: (message) => toasts.show(message, 'warning'),
      },
      () => this.setChatOpen(false),
    );
    this.board = new WhiteboardView(client.data, () => this.setBoardOpen(false));
    this.dropHint = h('div', { class: 'drop-hint', hidden: true }, msg('collaboration.dropHint'));
    this.buttons = [this.chatButton, this.boardButton];
    this.panels = [this.board.element, this.chat.element, this.dropHint];
    client.data.on('rejected', (rejection) => {
      // A stopped file shows on its card; other refusals would otherwise go unnoticed.
      if (rejection.fileId === undefined) {
        const reason = errorText(rejection);
        toasts.show(
          computed(() => t('collaboration.rejected', { what: t(CHANNEL_NAMES[rejection.label]), reason: reason.render() })),
          'warning',
        );
      }
    });
  }

  /** Files dropped anywhere on `area` are shared with the room. */
  acceptDrops(area: HTMLElement): void {
    const carriesFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes('Files') ?? false;
    area.addEventListener('dragover', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      this.dropHint.hidden = false;
    });
    area.addEventListener('dragleave', (event) => {
      if (event.relatedTarget === null || !area.contains(event.relatedTarget as Node)) this.dropHint.hidden = true;
    });
    area.addEventListener('drop', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      this.dropHint.hidden = true;
      this.setChatOpen(true);
      this.chat.share([...(event.dataTransfer?.files ?? [])]);
    });
  }

  /** What the room's rules let us do: without chat the composer goes, without files the attach button and drops. */
  setAllowed(chat: boolean, files: boolean): void {
    this.chat.setAllowed(chat, files);
  }

  destroy(): void {
    this.board.destroy();
  }

  private setChatOpen(open: boolean): void {
    this.chat.setOpen(open);
    this.chatButton.setAttribute('aria-pressed', String(open));
  }

  private setBoardOpen(open: boolean): void {
    this.board.setOpen(open);
    this.boardButton.setAttribute('aria-pressed', String(open));
    this.boardButton.closest('.room')?.classList.toggle('board-open', open);
  }

  private showUnread(count: number): void {
    this.badge.hidden = count === 0;
    this.badge.textContent = count > 99 ? '99+' : String(count);
    this.badge.dataset.unread = String(count);
    const name: Msg = count > 0 ? computed(() => t('collaboration.chat.unread', { count })) : msg('collaboration.chat');
    label(this.chatButton, name);
  }
}
