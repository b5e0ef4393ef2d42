import type { ConnectionQuality } from '../../../shared/quality.js';
import type { LinkProblem } from '../conference/LinkQuality.js';
import { pageOrigin, type DeviceChoice, type MediaAccessError } from '../conference/media.js';
import type { CallProblem, DeviceSource } from '../conference/types.js';
import { computed, formatNumber, msg, t, type Msg } from '../i18n/i18n.js';

/** What the client library reports as data, worded in the reader's language. */

/** Socket.IO's reasons for a dropped connection, as the catalogue names them. */
const DROPPED = {
  'transport close': 'room.dropped.transportClose',
  'transport error': 'room.dropped.transportError',
  'ping timeout': 'room.dropped.pingTimeout',
  'io server disconnect': 'room.dropped.serverDisconnect',
  'parse error': 'room.dropped.parseError',
} as const;

function droppedReason(detail: string): string {
  return detail in DROPPED ? t(DROPPED[detail as keyof typeof DROPPED]) : detail;
}

export function insecureContextText(): Msg {
  return msg('media.insecureContext', { origin: pageOrigin() });
}

/** A device's name: its own label, or (before a permission grant) "Camera 2". */
export function deviceName(choice: DeviceChoice, kind: DeviceSource): Msg | string {
  return choice.label || msg(`media.device.${kind}`, { number: choice.number });
}

export function mediaErrorText(error: MediaAccessError): Msg {
  const { source } = error;
  switch (error.reason) {
    case 'insecure-context':
      return insecureContextText();
    case 'denied':
      return msg(`media.denied.${source}`);
    case 'not-found':
      return msg(`media.notFound.${source}`);
    case 'busy':
      return msg(`media.busy.${source}`);
    default:
      return msg(`media.failed.${source}`, { detail: error.detail || error.message });
  }
}

/** Why we are reconnecting, or why the call ended. */
export function problemText(problem: CallProblem): Msg {
  switch (problem.kind) {
    case 'connectionLost':
      return computed(() => t('room.problem.connectionLost', { detail: droppedReason(problem.detail) }));
    case 'serverRestarting':
      return msg('room.problem.serverRestarting');
    case 'movingNode':
      return msg('room.problem.movingNode');
    case 'roomLost':
      return msg('room.problem.roomLost');
    case 'protocol': {
      // Plain digits: a version is a name, not a quantity.
      const versions = { page: String(problem.pageVersion), server: String(problem.serverVersion) };
      return msg(problem.serverVersion > problem.pageVersion ? 'room.problem.protocolOld' : 'room.problem.protocolNew', versions);
    }
    case 'unreachable':
      return msg('room.problem.unreachable');
    case 'noAnswer':
      return msg('room.problem.noAnswer', { seconds: problem.seconds });
    case 'refused':
      return msg(`error.${problem.code}`);
    case 'unexpected':
      return msg('room.problem.unexpected', { detail: problem.detail });
  }
}

export function qualityWord(quality: ConnectionQuality): string {
  return t(`room.level.${quality}`);
}

function linkProblemText(problem: LinkProblem): string {
  switch (problem.kind) {
    case 'loss': {
      const digits = problem.percent < 10 ? 1 : 0;
      return t('room.link.loss', { percent: formatNumber(problem.percent, { minimumFractionDigits: digits, maximumFractionDigits: digits }) });
    }
    case 'uploadLimited':
      return t('room.link.uploadLimited');
    case 'deviceBusy':
      return t('room.link.deviceBusy');
    case 'downloadLimited':
      return problem.kbps === null ? t('room.link.downloadLimited') : t('room.link.downloadLimitedTo', { rate: problem.kbps });
    case 'delay':
      return t('room.link.delay', { ms: problem.rttMs });
  }
}

/** Our link's problems as one line (`separator: 'list'`) or one per line. */
export function linkProblemsText(problems: LinkProblem[], separator: 'list' | 'lines'): Msg {
  return computed(() => problems.map(linkProblemText).join(separator === 'list' ? t('room.link.separator') : '\n'));
}
