import { formatBytes } from '../../../shared/data.js';
import type { FileTransfer } from '../conference/data/FileTransfers.js';
import { h } from './dom.js';
import { timeOf } from './format.js';

const STATE_TEXT: Record<FileTransfer['state'], string> = {
  sending: 'Sending',
  receiving: 'Receiving',
  complete: 'Complete',
  cancelled: 'Cancelled',
  failed: 'Failed',
};

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
    this.cancel = h('button', { class: 'file-cancel', 'data-action': 'file-cancel' }, 'Cancel');
    this.cancel.addEventListener('click', () => onCancel(this.transfer));
    this.download = h('a', { class: 'file-download', 'data-file-download': '', hidden: true }, 'Download');
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
        h('span', { class: 'chat-name' }, transfer.direction === 'send' ? 'You' : transfer.fromName),
        h('time', { datetime: new Date(transfer.startedAt).toISOString() }, timeOf(transfer.startedAt)),
      ),
      h(
        'div',
        { class: 'file-row' },
        h('span', { class: 'file-name', title: transfer.name }, transfer.name),
        h('span', { class: 'file-size' }, formatBytes(transfer.size)),
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
    const percent = transfer.size === 0 ? 100 : Math.floor((transfer.bytes / transfer.size) * 100);
    const detail = active ? ` ${percent}%` : transfer.reason ? `: ${transfer.reason}` : transfer.direction === 'send' ? ' (sent to everyone here)' : '';
    this.status.textContent = `${STATE_TEXT[transfer.state]}${detail}`;
    this.cancel.hidden = !active;
    if (transfer.url && this.download.hidden) {
      this.download.href = transfer.url;
      this.download.download = transfer.name;
      this.download.type = transfer.type;
      this.download.hidden = false;
    }
  }
}
