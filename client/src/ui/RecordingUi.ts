import type { EgressActivity, EgressEndReason, EgressKind } from '../../../shared/recording.js';
import type { ConferenceClient } from '../conference/ConferenceClient.js';
import type { RecordingChange, RecordingReady, RecordingStatus, StreamProblem } from '../conference/types.js';
import { computed, formatFileSize, formatTime, localize, msg, t, type Msg } from '../i18n/i18n.js';
import type { Announcer } from './Announcer.js';
import { h } from './dom.js';
import { formatDuration } from './format.js';
import type { Toasts } from './Toasts.js';

const ENDED = {
  recording: {
    stopped: 'recording.ended.recording.stopped',
    meetingEnded: 'recording.ended.recording.meetingEnded',
    timeLimit: 'recording.ended.recording.timeLimit',
    failed: 'recording.ended.recording.failed',
    serverShutdown: 'recording.ended.recording.serverShutdown',
  },
  stream: {
    stopped: 'recording.ended.stream.stopped',
    meetingEnded: 'recording.ended.stream.meetingEnded',
    timeLimit: 'recording.ended.stream.timeLimit',
    failed: 'recording.ended.stream.failed',
    serverShutdown: 'recording.ended.stream.serverShutdown',
  },
} as const satisfies Record<EgressKind, Record<EgressEndReason, string>>;

/**
 * What everyone in the call sees of the room's recording and live stream: a "Recording" and a
 * "Live" badge in the header while they run, a notice (toast, and a screen-reader announcement)
 * for whoever arrives while one runs, and a toast when one starts or ends, saying why it ended
 * by itself. Hosts and moderators also get the finished recording's download link and the live
 * stream's troubles. Their controls are in the participants panel (RecordingControls).
 * Automation hooks: `[data-recording-indicator]` and `[data-live-indicator]` (hidden while
 * nothing runs; `data-layout`, `data-since`), `[data-recording-notice]` (the toasts, with
 * `data-kind` and `data-change`: joined, started or the end reason), `[data-recording-ready]`
 * with its link `a[data-recording-download]`.
 */
export class RecordingUi {
  /** For the room's header. */
  readonly indicator: HTMLElement;
  private readonly recordingBadge: HTMLElement;
  private readonly liveBadge: HTMLElement;

  constructor(
    private readonly client: ConferenceClient,
    private readonly toasts: Toasts,
    private readonly announcer: Announcer,
  ) {
    this.recordingBadge = badge('recording', msg('recording.indicator.recording'));
    this.liveBadge = badge('live', msg('recording.indicator.live'));
    this.indicator = h('span', { class: 'egress-indicators' }, this.recordingBadge, this.liveBadge);
    client.on('recordingStatus', (status, change) => {
      this.render(status);
      if (change) this.changed(change, status);
      else this.joined(status);
    });
    client.on('recordingReady', (ready) => this.ready(ready));
    client.on('streamProblem', (problem) => this.streamProblem(problem));
    this.render(client.meeting.recording.status);
  }

  private render({ recording, streaming }: RecordingStatus): void {
    show(this.recordingBadge, recording, (by, time) =>
      by === null ? t('recording.indicator.recordingSince', { time }) : t('recording.indicator.recordingSinceBy', { time, name: by }),
    );
    show(this.liveBadge, streaming, (by, time) =>
      by === null ? t('recording.indicator.liveSince', { time }) : t('recording.indicator.liveSinceBy', { time, name: by }),
    );
  }

  /** We arrived while something runs: said twice on purpose (a toast, and the announcer), as people must know they are recorded. */
  private joined({ recording, streaming }: RecordingStatus): void {
    if (!recording && !streaming) return;
    const text = msg(recording && streaming ? 'recording.notice.joinedBoth' : recording ? 'recording.notice.joinedRecording' : 'recording.notice.joinedLive');
    this.notice(text, recording ? 'recording' : 'stream', 'joined', 'info', 12_000);
    this.announcer.say(text.render());
  }

  private changed(change: RecordingChange, status: RecordingStatus): void {
    const { kind } = change;
    if (change.started) {
      const by = (kind === 'recording' ? status.recording : status.streaming)?.startedBy ?? null;
      const text =
        kind === 'recording'
          ? by === null
            ? msg('recording.notice.recordingStarted')
            : msg('recording.notice.recordingStartedBy', { name: by })
          : by === null
            ? msg('recording.notice.liveStarted')
            : msg('recording.notice.liveStartedBy', { name: by });
      this.notice(text, kind, 'started', 'info');
      return;
    }
    const reason = change.reason ?? 'stopped';
    this.notice(msg(ENDED[kind][reason]), kind, reason, reason === 'stopped' || reason === 'meetingEnded' ? 'info' : 'warning');
  }

  private notice(text: Msg, kind: EgressKind, change: string, level: 'info' | 'warning', durationMs = 8000): void {
    this.toasts.show(h('span', { 'data-recording-notice': '', 'data-kind': kind, 'data-change': change }, text), level, durationMs);
  }

  /** Stays until dismissed: it is the host's one chance to fetch the file from the call. */
  private ready({ id, file, bytes, durationSeconds, downloadUrl }: RecordingReady): void {
    const href = new URL(downloadUrl, this.client.options.serverUrl ?? location.href).href;
    const link = h(
      'a',
      { class: 'toast-link', href, download: file, 'aria-label': msg('recording.ready.downloadFile', { file }), 'data-recording-download': id },
      msg('recording.ready.download'),
    );
    const size = (): string => formatFileSize(bytes);
    const text = computed(() =>
      durationSeconds === null
        ? t('recording.readyNoDuration', { file, size: size() })
        : t('recording.ready', { file, size: size(), duration: formatDuration(durationSeconds) }),
    );
    this.toasts.show(h('span', { 'data-recording-ready': id }, text, ' ', msg('recording.ready.expires'), ' ', link), 'info', Infinity);
  }

  private streamProblem({ retrying, attempt }: StreamProblem): void {
    this.toasts.show(retrying ? msg('recording.streamProblem.retrying', { attempt }) : msg('recording.streamProblem.gaveUp'), 'warning');
  }
}

function badge(kind: 'recording' | 'live', text: Msg): HTMLElement {
  return h(
    'span',
    { class: `egress-badge ${kind}`, role: 'status', [`data-${kind}-indicator`]: '', hidden: true },
    h('span', { class: 'egress-dot', 'aria-hidden': 'true' }),
    h('span', {}, text),
  );
}

/** Shows a badge while `activity` runs, its tooltip saying since when and who started it. */
function show(element: HTMLElement, activity: EgressActivity | null, detail: (by: string | null, time: string) => string): void {
  element.hidden = activity === null;
  if (!activity) {
    delete element.dataset.layout;
    delete element.dataset.since;
    localize(element, 'attr:title', '');
    return;
  }
  element.dataset.layout = activity.layout;
  element.dataset.since = String(activity.since);
  localize(
    element,
    'attr:title',
    computed(() => detail(activity.startedBy, formatTime(activity.since))),
  );
}
