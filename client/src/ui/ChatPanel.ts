import { FileName, type ChatMessage } from '../../../shared/data.js';
import type { DataChannels } from '../conference/data/DataChannels.js';
import type { FileTransfer } from '../conference/data/FileTransfers.js';
import { computed, formatFileSize, formatTime, label, msg, t, type Msg } from '../i18n/i18n.js';
import { h, icon } from './dom.js';
import { errorCode, errorText } from './errorText.js';
import { FileCard } from './FileCard.js';

export interface ChatPanelHooks {
  /** Messages from others that arrived while the panel was closed. */
  unread(count: number): void;
  /** Something the user did failed (a message or file the client or server refused). */
  failed(message: Msg): void;
}

/**
 * The side panel: the room's chat and the files shared in it, in one timeline, with a composer
 * (Enter sends, Shift+Enter is a new line) and a button to attach files. Messages are rendered
 * as text, never as HTML. Automation hooks: `[data-chat-panel]`, `li[data-chat-message]` (with
 * `data-from`, `data-seq`, `data-own`), `[data-chat-input]`, `[data-action="chat-send"]`,
 * `[data-action="attach"]`, `input[data-file-input]`, `[data-chat-notice]` (shown when only hosts
 * and moderators may chat).
 */
export class ChatPanel {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly input: HTMLTextAreaElement;
  private readonly fileInput: HTMLInputElement;
  private readonly composer: HTMLFormElement;
  private readonly attach: HTMLButtonElement;
  private readonly send: HTMLButtonElement;
  private readonly notice: HTMLElement;
  private readonly cards = new Map<FileTransfer, FileCard>();
  private unread = 0;
  private filesAllowed = true;

  constructor(
    private readonly data: DataChannels,
    private readonly hooks: ChatPanelHooks,
    onClose: () => void,
  ) {
    this.list = h('ol', { class: 'chat-list', 'aria-live': 'polite', 'data-chat-list': '' });
    this.input = h('textarea', {
      class: 'chat-input',
      rows: '1',
      placeholder: msg('collaboration.chat.placeholder'),
      'aria-label': msg('collaboration.chat.input'),
      'data-chat-input': '',
      maxlength: '2000',
    });
    this.fileInput = h('input', { type: 'file', multiple: true, hidden: true, 'data-file-input': '' });
    this.attach = h('button', { type: 'button', class: 'chat-button', 'data-action': 'attach' }, icon('attach'));
    label(this.attach, msg('collaboration.chat.attach'));
    this.send = h('button', { type: 'submit', class: 'chat-button', 'data-action': 'chat-send' }, icon('send'));
    label(this.send, msg('collaboration.chat.send'));
    const close = h('button', { type: 'button', class: 'panel-close' }, icon('close'));
    label(close, msg('collaboration.chat.close'));
    this.composer = h('form', { class: 'chat-composer' }, this.attach, this.fileInput, this.input, this.send);
    this.notice = h('p', { class: 'chat-notice', 'data-chat-notice': '', hidden: true }, msg('collaboration.chat.notice'));
    this.element = h(
      'aside',
      { class: 'chat-panel', 'aria-label': msg('collaboration.chat'), 'data-chat-panel': '', hidden: true },
      h('header', { class: 'panel-header' }, h('h2', {}, msg('collaboration.chat')), close),
      this.list,
      this.notice,
      this.composer,
    );

    close.addEventListener('click', onClose);
    this.attach.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.share([...(this.fileInput.files ?? [])]);
      this.fileInput.value = '';
    });
    this.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.sendMessage();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.sendMessage();
      }
    });
    this.bind();
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  setOpen(open: boolean): void {
    this.element.hidden = !open;
    if (!open) return;
    this.setUnread(0);
    this.scrollToEnd();
    this.input.focus();
  }

  /** The room's rules: who may chat and send files (the server refuses the rest anyway). */
  setAllowed(chat: boolean, files: boolean): void {
    this.input.hidden = !chat;
    this.send.hidden = !chat;
    this.notice.hidden = chat;
    this.attach.hidden = !files;
    this.composer.hidden = !chat && !files;
    this.filesAllowed = files;
  }

  /** Sends files to the room (picked, or dropped anywhere on the call). */
  share(files: File[]): void {
    if (!this.filesAllowed) return;
    for (const file of files) this.data.files.send(file).catch((error: unknown) => this.hooks.failed(this.fileRefusal(file, error)));
  }

  private bind(): void {
    const { chat, files } = this.data;
    for (const message of chat.messages) this.append(this.messageItem(message));
    chat.on('message', (message, fromHistory) => {
      this.append(this.messageItem(message));
      if (!this.isOpen && !fromHistory && message.from !== this.ownId()) this.setUnread(this.unread + 1);
    });
    chat.on('cleared', () => {
      for (const item of this.list.querySelectorAll('[data-chat-message]')) item.remove();
    });
    files.on('added', (transfer) => {
      const card = new FileCard(transfer, (cancelled) => void files.cancel(cancelled.id));
      this.cards.set(transfer, card);
      this.append(card.element);
      if (!this.isOpen && transfer.direction === 'receive') this.setUnread(this.unread + 1);
    });
    const update = (transfer: FileTransfer): void => this.cards.get(transfer)?.render();
    files.on('progress', update);
    files.on('finished', update);
  }

  private async sendMessage(): Promise<void> {
    const text = this.input.value;
    if (text.trim() === '') return;
    try {
      await this.data.chat.send(text);
      this.input.value = '';
    } catch (error) {
      this.hooks.failed(errorCode(error) === 'NOT_JOINED' ? msg('collaboration.chat.notConnected') : errorText(error));
    }
  }

  /** Why a file could not be shared, with the limit when it was too large. */
  private fileRefusal(file: File, error: unknown): Msg {
    const limit = this.data.files.maxFileBytes;
    const code = errorCode(error);
    if (code === 'TOO_LARGE' && limit !== null) {
      return computed(() => t('collaboration.file.tooLarge', { limit: formatFileSize(limit), name: file.name, size: formatFileSize(file.size) }));
    }
    const reason = code === 'BAD_REQUEST' && !FileName.safeParse(file.name).success ? msg('collaboration.file.badName') : errorText(error);
    return computed(() => t('collaboration.file.notShared', { name: file.name, reason: reason.render() }));
  }

  private messageItem(message: ChatMessage): HTMLLIElement {
    const own = message.from === this.ownId();
    return h(
      'li',
      { class: 'chat-message', 'data-chat-message': '', 'data-from': message.from, 'data-seq': String(message.seq), 'data-own': own },
      h(
        'div',
        { class: 'chat-meta' },
        h('span', { class: 'chat-name' }, own ? msg('collaboration.chat.you') : message.name),
        h(
          'time',
          { datetime: new Date(message.at).toISOString() },
          computed(() => formatTime(message.at)),
        ),
      ),
      h('p', { class: 'chat-text' }, message.text),
    );
  }

  private ownId(): string | null {
    return this.data.selfId();
  }

  private append(item: HTMLElement): void {
    const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(item);
    // Follow new messages unless the reader scrolled back.
    if (atEnd) this.scrollToEnd();
  }

  private scrollToEnd(): void {
    this.list.scrollTop = this.list.scrollHeight;
  }

  private setUnread(count: number): void {
    this.unread = count;
    this.hooks.unread(count);
  }
}
