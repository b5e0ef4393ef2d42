import type { FileTransfer } from '../../client/src/conference/data/FileTransfers.js';
import type { ParticipantPage } from './browser.js';

/** One transfer as a page sees it. */
export const transferOf = (participant: ParticipantPage, id: number): Promise<FileTransfer | undefined> =>
  participant.page.evaluate((fileId) => window.conclave!.files().find((transfer) => transfer.id === fileId), id);

/** SHA-256 (hex) of a transfer's bytes, computed in the page. */
export const sha256Of = (participant: ParticipantPage, id: number): Promise<string> =>
  participant.page.evaluate(async (fileId) => {
    const blob = window.conclave!.fileBlob(fileId);
    if (!blob) throw new Error(`no bytes for transfer ${fileId}`);
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  }, id);

/** Offers `size` random bytes built in the page; resolves with the transfer id. */
export const sendRandomFile = (participant: ParticipantPage, name: string, size: number, maxBytesPerSecond?: number): Promise<number> =>
  participant.page.evaluate(
    ({ name, size, maxBytesPerSecond }) => {
      const bytes = new Uint8Array(size);
      // getRandomValues fills at most 64 KiB at a time.
      for (let offset = 0; offset < size; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
      return window.conclave!.sendFile({ name, type: 'application/octet-stream', bytes }, maxBytesPerSecond ? { maxBytesPerSecond } : {});
    },
    { name, size, maxBytesPerSecond },
  );
