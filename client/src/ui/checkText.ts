import type { CheckReport } from '../check/report.js';
import { CHECK_IDS, type CheckCode, type CheckResult, type CheckStatus, type Finding, type SelectedPair, type Verdict } from '../check/types.js';
import { formatBitrate, formatDateTime, formatNumber, t } from '../i18n/i18n.js';

/**
 * The pre-call check in words: the library (client/src/check/) reports codes and numbers, and this
 * is where they become sentences in the page's language. Everything a row or the verdict shows
 * comes from the catalogue; the browser's and server's own words (`detail`) go only into the report.
 */

export const STATUS_MARK: Record<CheckStatus, string> = { pass: '✓', warn: '!', fail: '✗', skip: '–', running: '…' };

/** One finding of the verdict as a sentence. */
export function findingText(finding: Finding): string {
  switch (finding.code) {
    case 'camera-low':
      return t('check.finding.camera-low', {
        width: String(finding.params.width),
        height: String(finding.params.height),
        fps: formatNumber(finding.params.fps, { maximumFractionDigits: 1 }),
      });
    case 'upload-low':
      return t('check.finding.upload-low', { rate: formatBitrate(finding.params.rate) });
    case 'download-low':
      return t('check.finding.download-low', { rate: formatBitrate(finding.params.rate) });
    case 'rtt-high':
      return t('check.finding.rtt-high', { ms: finding.params.ms });
    default:
      return t(`check.finding.${finding.code}`);
  }
}

export function headlineText(verdict: Verdict): string {
  return t(`check.overall.${verdict.overall}`);
}

export function checkName(id: CheckResult['id']): string {
  return t(`check.name.${id}`);
}

/** What one result says, in a line: its measurements when it ran, the reason when it did not. */
export function resultText(result: CheckResult): string {
  if (result.status === 'running') return t('check.status.running');
  const worked = result.status === 'pass' || result.status === 'warn';
  switch (result.id) {
    case 'browser':
      if (worked) return t('check.browser.ok');
      break;
    case 'camera':
      if (worked)
        return t('check.camera.measured', {
          width: String(result.width ?? 0),
          height: String(result.height ?? 0),
          fps: formatNumber(result.frameRate ?? 0, { maximumFractionDigits: 1 }),
        });
      break;
    case 'microphone':
      if (result.code === 'ok') return t('check.microphone.heard', { level: decibels(result.peakLevel ?? 0) });
      break;
    case 'signalling':
      if (result.rttMs !== undefined && (worked || result.code === 'token-needed')) {
        const rtt = t('check.signalling.ok', { ms: formatNumber(result.rttMs, { maximumFractionDigits: 0 }) });
        return result.code === 'ok' ? rtt : `${rtt}; ${t(codeKey(result.code))}`;
      }
      break;
    case 'udp':
    case 'tcp':
    case 'relay':
      if (worked && result.rttMs !== undefined)
        return t('check.path.ok', { ms: formatNumber(result.rttMs, { maximumFractionDigits: 1 }), pair: pairText(result.pair) });
      break;
    case 'bandwidth':
      if (worked && result.uploadBps !== undefined && result.path)
        return t('check.bandwidth.measured', {
          up: formatBitrate(result.uploadBps),
          down: formatBitrate(result.downloadBps ?? 0),
          path: result.path.toUpperCase(),
        });
      break;
    case 'speakers':
      break;
  }
  return t(codeKey(result.code, result.id));
}

/** The whole report as text to paste into a message; a failure's own words follow it on a technical line. */
export function reportText(report: CheckReport): string {
  const lines = [
    `${t('check.title')} — ${formatDateTime(new Date(report.at))}`,
    '',
    `${t('check.verdict')}: ${headlineText(report.verdict)}`,
    ...report.verdict.findings.map((finding) => `  • ${findingText(finding)}`),
    '',
    ...CHECK_IDS.flatMap((id) => {
      const result = report.results[id];
      const line = `${STATUS_MARK[result.status]} ${checkName(id)}: ${resultText(result)}`;
      const technical = [result.serverCode, result.detail].filter(Boolean).join(': ');
      return technical ? [line, `    ${t('check.report.technical')}: ${technical}`] : [line];
    }),
    '',
    `${t('check.report.page')}: ${report.page}`,
    `${t('check.report.browser')}: ${report.userAgent}`,
    `${t('check.report.language')}: ${report.language}`,
    `${t('check.name.camera')}: ${report.devices.cameras.join(', ') || '—'}`,
    `${t('check.name.microphone')}: ${report.devices.microphones.join(', ') || '—'}`,
    `${t('check.name.speakers')}: ${report.devices.speakers.join(', ') || '—'}`,
  ];
  return `${lines.join('\n')}\n`;
}

function pairText(pair: SelectedPair | undefined): string {
  if (!pair) return '—';
  const relay = pair.relayProtocol ? ` (TURN/${pair.relayProtocol.toUpperCase()})` : '';
  return `${pair.localType}/${pair.localProtocol.toUpperCase()}${relay} → ${pair.remoteType}/${pair.remoteProtocol.toUpperCase()}`;
}

function codeKey(code: CheckCode, id?: CheckResult['id']): `check.code.${CheckCode}` | `check.speakers.${'heard' | 'not-heard' | 'untested'}` {
  if (id === 'speakers') return `check.speakers.${code === 'ok' ? 'heard' : code === 'not-heard' ? 'not-heard' : 'untested'}`;
  return `check.code.${code}`;
}

/** A level (0–1 RMS) in dBFS, as sound meters show it. */
function decibels(level: number): string {
  return level > 0 ? formatNumber(20 * Math.log10(level), { maximumFractionDigits: 0 }) : '−∞';
}
