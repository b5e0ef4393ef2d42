import { redactStreamUrl, RecordingLayout, type EgressKind, type RecordingStatus } from '../../../shared/recording.js';
import type { Recording } from '../conference/Recording.js';
import { computed, localize, msg, t, type Msg } from '../i18n/i18n.js';
import { h } from './dom.js';
import { StreamDialog } from './StreamDialog.js';

const LAYOUT_NAMES = { grid: 'recording.layout.grid', speaker: 'recording.layout.speaker' } as const satisfies Record<RecordingLayout, string>;

/**
 * Recording and live streaming the meeting, for hosts and moderators (in the participants panel):
 * the layout, Record / Stop recording, and Go live (its URL asked in a StreamDialog) / End live
 * stream. A button says "Starting…" or "Stopping…" until the server answers; a refusal shows
 * through `failed`. Only the host who started a stream sees where it goes, with its key hidden.
 * Automation hooks: `[data-recording-controls]`, `select[data-recording-layout]`,
 * `[data-action="start-recording"]` / `[data-action="stop-recording"]`,
 * `[data-action="start-stream"]` / `[data-action="stop-stream"]`, `[data-stream-destination]`;
 * the dialog's own (StreamDialog).
 */
export class RecordingControls {
  readonly element: HTMLElement;
  private readonly layout: HTMLSelectElement;
  private readonly buttons: Record<EgressKind, HTMLButtonElement>;
  private readonly destination: HTMLElement;
  private readonly dialog: StreamDialog;
  private readonly pending = new Map<EgressKind, 'starting' | 'stopping'>();
  /** Where the stream we started goes, key hidden (redactStreamUrl), and since when it runs; null when none of ours runs. */
  private liveTo: { destination: string; since: number } | null = null;
  private status: RecordingStatus;

  constructor(
    private readonly recording: Recording,
    private readonly failed: (error: unknown) => void,
  ) {
    this.status = recording.status;
    this.layout = h(
      'select',
      { 'data-recording-layout': '' },
      ...RecordingLayout.options.map((layout) => h('option', { value: layout }, msg(LAYOUT_NAMES[layout]))),
    );
    this.buttons = {
      recording: h('button', { type: 'button', class: 'small' }),
      stream: h('button', { type: 'button', class: 'small' }),
    };
    this.buttons.recording.addEventListener('click', () => this.toggleRecording());
    this.buttons.stream.addEventListener('click', () => this.toggleStream());
    this.dialog = new StreamDialog((url) => this.startStream(url));
    this.destination = h('p', { class: 'section-note', 'data-stream-destination': '', hidden: true });
    this.element = h(
      'section',
      { class: 'panel-section recording-controls', 'data-recording-controls': '', hidden: true },
      h('h3', {}, msg('recording.controls.heading')),
      h('p', { class: 'section-note' }, msg('recording.controls.note')),
      h('label', { class: 'permission' }, h('span', {}, msg('recording.controls.layout')), this.layout),
      h('div', { class: 'control-row' }, this.buttons.recording, this.buttons.stream),
      this.destination,
      this.dialog.element,
    );
    this.draw();
  }

  /** Shows what runs now; hidden (and the dialog closed) for those who may not start or stop it. */
  render(status: RecordingStatus, visible: boolean): void {
    this.status = status;
    this.element.hidden = !visible;
    if (!visible) this.dialog.close();
    this.draw();
  }

  private draw(): void {
    const { recording, streaming } = this.status;
    this.drawButton('recording', recording !== null, msg('recording.controls.record'), msg('recording.controls.stopRecording'));
    this.drawButton('stream', streaming !== null, msg('recording.controls.goLive'), msg('recording.controls.stopLive'));
    // Only while the very stream we started runs (another host may have stopped it and started their own).
    const ours = this.liveTo !== null && streaming?.since === this.liveTo.since ? this.liveTo.destination : null;
    this.destination.hidden = ours === null;
    localize(this.destination, 'text', ours === null ? '' : computed(() => t('recording.controls.liveTo', { destination: ours })));
  }

  private drawButton(kind: EgressKind, running: boolean, start: Msg, stop: Msg): void {
    const button = this.buttons[kind];
    const pending = this.pending.get(kind);
    button.dataset.action = `${running ? 'stop' : 'start'}-${kind}`;
    button.classList.toggle('danger', running);
    button.disabled = pending !== undefined;
    localize(
      button,
      'text',
      pending === 'starting' ? msg('recording.controls.starting') : pending === 'stopping' ? msg('recording.controls.stopping') : running ? stop : start,
    );
  }

  private toggleRecording(): void {
    if (this.status.recording) this.run('recording', 'stopping', this.recording.stopRecording());
    else this.run('recording', 'starting', this.recording.startRecording(this.chosenLayout()));
  }

  private toggleStream(): void {
    if (this.status.streaming) this.run('stream', 'stopping', this.recording.stopStream());
    else this.dialog.open(this.buttons.stream);
  }

  private startStream(url: string): void {
    const destination = redactStreamUrl(url);
    const started = this.recording.startStream(url, this.chosenLayout()).then((status) => {
      if (status.streaming) this.liveTo = { destination, since: status.streaming.since };
      return status;
    });
    this.run('stream', 'starting', started);
  }

  private chosenLayout(): RecordingLayout {
    return this.layout.value === 'speaker' ? 'speaker' : 'grid';
  }

  /** The button waits for the server's answer; what runs then comes with the `recordingStatus` notification. */
  private run(kind: EgressKind, pending: 'starting' | 'stopping', request: Promise<RecordingStatus>): void {
    this.pending.set(kind, pending);
    this.draw();
    request.catch(this.failed).finally(() => {
      this.pending.delete(kind);
      this.draw();
    });
  }
}
