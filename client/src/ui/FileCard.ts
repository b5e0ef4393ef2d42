import type { FileTransfer, TransferFailure } from '../conference/data/FileTransfers.js';
import { computed, formatFileSize, formatNumber, formatTime, localize, msg, t, type Msg } from '../i18n/i18n.js';
import { h } from './dom.js';

/**
 * A file in the chat timeline: who shares it, a progress bar while it travels, a cancel button,
 * and, once received, a download link with the original name. Automation hooks:
 * `data-file-id`, `data-file-state`, `data-file-direction`, `progress[data-file-progress]`,
 * `a[data-file-download]`, `[data-action="file-cancel"]`.
 */
export class FileCard {
  readonly element: HTMLLIElement;
  private readonly progress: HTMLProgressElement;
  private readonly status: HTMLElement;
  private readonly cancel: HTMLButtonElement;
  private readonly download: HTMLAnchorElement;

  constructor(
    private readonly transfer: FileTransfer,
    onCancel: (transfer: FileTransfer) => void,
  ) {
    this.progress = h('progress', { class: 'file-progress', 'data-file-progress': '', max: String(Math.max(1, transfer.size)), value: '0' });
    this.status = h('span', { class: 'file-status' });
    this.cancel = h('button', { class: 'file-cancel', 'data-action': 'file-cancel' }, msg('common.cancel'));
    this.cancel.addEventListener('click', () => onCancel(this.transfer));
    this.download = h('a', { class: 'file-download', 'data-file-download': '', hidden: true }, msg('common.download'));
    const { startedAt, size } = transfer;
    this.element = h(
      'li',
      {
        class: 'file-card',
        'data-file-id': String(transfer.id),
        'data-file-direction': transfer.direction,
        'data-own': transfer.direction === 'send',
      },
      h(
        'div',
        { class: 'chat-meta' },
        h('span', { class: 'chat-name' }, transfer.direction === 'send' ? msg('collaboration.chat.you') : transfer.fromName),
        h(
          'time',
          { datetime: new Date(startedAt).toISOString() },
          computed(() => formatTime(startedAt)),
        ),
      ),
      h(
        'div',
        { class: 'file-row' },
        h('span', { class: 'file-name', title: transfer.name }, transfer.name),
        h(
          'span',
          { class: 'file-size' },
          computed(() => formatFileSize(size)),
        ),
      ),
      this.progress,
      h('div', { class: 'file-row' }, this.status, this.cancel, this.download),
    );
    this.render();
  }

  render(): void {
    const { transfer } = this;
    const active = transfer.state === 'sending' || transfer.state === 'receiving';
    this.element.dataset.fileState = transfer.state;
    this.progress.value = transfer.size === 0 ? (active ? 0 : 1) : transfer.bytes;
    this.progress.hidden = !active;
    localize(this.status, 'text', statusOf(transfer));
    this.cancel.hidden = !active;
    if (transfer.url && this.download.hidden) {
      this.download.href = transfer.url;
      this.download.download = transfer.name;
      this.download.type = transfer.type;
      this.download.hidden = false;
    }
  }
}

/** The transfer's state now, said in the reader's language. */
function statusOf(transfer: FileTransfer): Msg {
  const { state, bytes, size, direction, failure, reason } = transfer;
  switch (state) {
    case 'sending':
    case 'receiving': {
      const percent = computed(() => formatNumber(size === 0 ? 1 : bytes / size, { style: 'percent', maximumFractionDigits: 0 }));
      return computed(() => t(state === 'sending' ? 'collaboration.file.sending' : 'collaboration.file.receiving', { percent: percent.render() }));
    }
    case 'complete':
      return msg(direction === 'send' ? 'collaboration.file.sent' : 'collaboration.file.received');
    case 'cancelled':
      // The server's reason ("Ana cancelled the transfer") is English free text: the state says enough.
      return msg('collaboration.file.cancelled');
    case 'failed': {
      if (!failure && !reason) return msg('collaboration.file.failedPlain');
      const why = failure ? failureText(failure, bytes, size) : computed(() => reason ?? '');
      return computed(() => t('collaboration.file.failed', { reason: why.render() }));
    }
  }
}

function failureText(failure: TransferFailure, bytes: number, size: number): Msg {
  switch (failure) {
    case 'reset':
      return msg('collaboration.file.reset');
    case 'left':
      return msg('collaboration.file.left');
    case 'incomplete':
      return computed(() => t('collaboration.file.incomplete', { received: formatFileSize(bytes), size: formatFileSize(size) }));
    case 'outOfOrder':
      return msg('collaboration.file.outOfOrder');
    default:
      return msg(`error.${failure}`);
  }
}
