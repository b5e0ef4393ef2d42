import { CheckRunner } from '../check/CheckRunner.js';
import type { FrameCounter } from '../check/devices.js';
import type { CheckReport } from '../check/report.js';
import { hrefKeeping } from '../check/route.js';
import { CHECK_IDS, type CheckId, type CheckResult } from '../check/types.js';
import { verdictOf } from '../check/verdict.js';
import { computed, label, localize, msg, onLanguageChange, t } from '../i18n/i18n.js';
import { checkName, findingText, headlineText, reportText, resultText, STATUS_MARK } from './checkText.js';
import { h } from './dom.js';
import { languagePicker } from './LanguagePicker.js';
import './check.css';

declare global {
  interface Window {
    /** The check's automation hook: the report once a run has finished (tests, support tools). */
    conclaveCheck?: { report(): Promise<CheckReport | null> };
  }
}

export interface CheckViewOptions {
  serverUrl: string;
  token?: string;
}

/**
 * The pre-call check page: a button starts it (browsers allow sound and devices after a click),
 * each check's row fills in as it finishes, the verdict says what it means, and the report can be
 * copied or downloaded for an administrator. Renders CheckRunner; measures nothing itself.
 */
export class CheckView {
  readonly element: HTMLElement;
  private runner: CheckRunner | null = null;
  private lastReport: CheckReport | null = null;
  private readonly rows = new Map<CheckId, { row: HTMLElement; status: HTMLElement; detail: HTMLElement }>();
  private readonly video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'check-preview' });
  private readonly meter = h('div', { class: 'check-meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' });
  private readonly meterFill = h('div', { class: 'check-meter-fill' });
  private readonly startButton = h('button', { type: 'button', class: 'primary', 'data-action': 'start' }, msg('check.start'));
  private readonly headline = h('p', { class: 'check-headline', role: 'status' });
  private readonly findings = h('ul', { class: 'check-findings' });
  private readonly verdict = h('section', { class: 'check-verdict', hidden: true }, h('h2', {}, msg('check.verdict')), this.headline, this.findings);
  private readonly tokenInput = h('input', { name: 'token', autocomplete: 'off', spellcheck: 'false' });
  private readonly tokenSubmit = h('button', { type: 'submit' }, msg('check.token.run'));
  private readonly tokenForm = h('form', { class: 'check-token', hidden: true }, h('label', {}, msg('check.token.label'), this.tokenInput), this.tokenSubmit);
  private readonly speakerQuestion = h('div', { class: 'check-question', hidden: true });
  private readonly reportText = h('pre', { class: 'check-report-text', tabindex: '0' });
  private readonly reportNote = h('p', { class: 'check-note', role: 'status' });
  private readonly reportSection: HTMLElement;
  private playButton: HTMLButtonElement | null = null;

  constructor(private readonly options: CheckViewOptions) {
    this.meter.append(this.meterFill);
    label(this.meter, msg('check.microphone.meter'));
    label(this.video, msg('check.camera.preview'));
    const back = h('a', { href: computed(() => hrefKeeping('/')), class: 'check-back' }, msg('check.back'));
    const list = h('ul', { class: 'check-list' }, ...CHECK_IDS.map((id) => this.row(id)));
    this.reportSection = h(
      'section',
      { class: 'check-report', hidden: true },
      h('h2', {}, msg('check.report.title')),
      h(
        'div',
        { class: 'check-actions' },
        this.button('copy', msg('check.report.copy'), () => void this.copy()),
        this.button('download-text', msg('check.report.download-text'), () => this.download('text')),
        this.button('download-json', msg('check.report.download-json'), () => this.download('json')),
      ),
      this.reportNote,
      this.reportText,
    );
    this.element = h(
      'main',
      { class: 'check', 'data-state': 'idle' },
      h('header', { class: 'check-header' }, h('h1', {}, msg('check.title')), languagePicker()),
      h('p', { class: 'check-intro' }, msg('check.intro')),
      h('div', { class: 'check-actions' }, this.startButton, back),
      this.tokenForm,
      this.verdict,
      h('div', { class: 'check-devices' }, this.video, this.meter),
      h('section', { class: 'check-checks' }, h('h2', {}, msg('check.checks')), list),
      this.reportSection,
    );
    this.startButton.addEventListener('click', () => void this.run());
    this.tokenForm.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.element.dataset.state === 'running') return;
      this.options.token = this.tokenInput.value.trim() || undefined;
      void this.run();
    });
    const title = (): void => void (document.title = `${t('check.title')} · Conclave`);
    title();
    onLanguageChange(() => {
      title();
      this.renderReportText();
    });
    window.conclaveCheck = { report: () => Promise.resolve(this.lastReport) };
  }

  /** One run at a time: Start and the token form are disabled while it lasts, and a new run drops the old runner's events. */
  private async run(): Promise<void> {
    this.runner?.stop();
    const runner = new CheckRunner({ serverUrl: this.options.serverUrl, token: this.options.token, countFrames: this.frameCounter() });
    this.runner = runner;
    this.lastReport = null;
    this.setRunning(true);
    this.reportSection.hidden = true;
    if (this.playButton) this.playButton.disabled = false;
    const current = (): boolean => this.runner === runner;
    runner.on('result', (result) => {
      if (current()) this.show(result);
    });
    runner.on('camera', (track) => {
      if (current()) this.video.srcObject = new MediaStream([track]);
    });
    runner.on('level', (level) => {
      if (current()) this.showLevel(level);
    });
    for (const id of CHECK_IDS) this.show(runner.results[id]);
    try {
      // The checks report their own failures; should one throw all the same, the rest still make a verdict.
      const report = await runner.run().catch(() => runner.report());
      if (current()) this.finished(report);
    } finally {
      if (current()) {
        localize(this.startButton, 'text', msg('check.again'));
        this.setRunning(false);
      }
    }
  }

  private setRunning(running: boolean): void {
    this.element.dataset.state = running ? 'running' : 'done';
    this.startButton.disabled = running;
    this.tokenInput.disabled = running;
    this.tokenSubmit.disabled = running;
  }

  private row(id: CheckId): HTMLElement {
    const status = h('span', { class: 'check-mark', 'aria-hidden': 'true' });
    const statusWord = h('span', { class: 'check-status' });
    const detail = h('span', { class: 'check-detail' });
    const row = h(
      'li',
      { class: 'check-row', 'data-check': id },
      status,
      h(
        'strong',
        {},
        computed(() => checkName(id)),
      ),
      statusWord,
      detail,
    );
    if (id === 'speakers') row.append(this.speakerControls());
    this.rows.set(id, { row, status: statusWord, detail });
    return row;
  }

  private speakerControls(): HTMLElement {
    const play = this.button('play-sound', msg('check.speakers.play'), () => {
      void this.runner?.playTestSound().then(() => (this.speakerQuestion.hidden = false));
    });
    // The sound plays once a check runs: the Start click is what lets the page make sound.
    play.disabled = true;
    this.playButton = play;
    this.speakerQuestion.append(
      h('span', {}, msg('check.speakers.question')),
      this.button('heard', msg('check.speakers.yes'), () => this.answer(true)),
      this.button('not-heard', msg('check.speakers.no'), () => this.answer(false)),
    );
    return h('div', { class: 'check-speakers' }, play, this.speakerQuestion);
  }

  private answer(heard: boolean): void {
    this.runner?.answerSpeakers(heard);
    this.speakerQuestion.hidden = true;
    if (this.element.dataset.state === 'done') void this.runner?.report().then((report) => this.finished(report));
  }

  private show(result: CheckResult): void {
    const parts = this.rows.get(result.id);
    if (!parts) return;
    parts.row.dataset.status = result.status;
    const mark = parts.row.querySelector('.check-mark');
    if (mark) mark.textContent = STATUS_MARK[result.status];
    localize(parts.status, 'text', msg(`check.status.${result.status}`));
    // Catalogue text only: the browser's and server's own words (`detail`) are for the report.
    localize(
      parts.detail,
      'text',
      computed(() => resultText(result)),
    );
    if (this.runner) this.showVerdict();
  }

  private showVerdict(): void {
    if (!this.runner) return;
    const verdict = verdictOf(this.runner.results);
    this.verdict.hidden = this.element.dataset.state !== 'done' && this.lastReport === null;
    this.verdict.dataset.overall = verdict.overall;
    localize(
      this.headline,
      'text',
      computed(() => headlineText(verdict)),
    );
    this.findings.replaceChildren(
      ...verdict.findings.map((finding) =>
        h(
          'li',
          { 'data-finding': finding.code, 'data-severity': finding.severity },
          computed(() => findingText(finding)),
        ),
      ),
    );
    const needsToken = this.runner.results.signalling.code === 'token-needed' || this.runner.results.signalling.code === 'token-invalid';
    this.tokenForm.hidden = !needsToken;
  }

  private finished(report: CheckReport): void {
    this.lastReport = report;
    this.verdict.hidden = false;
    this.showVerdict();
    this.reportSection.hidden = false;
    this.renderReportText();
  }

  private renderReportText(): void {
    if (this.lastReport) this.reportText.textContent = reportText(this.lastReport);
  }

  private showLevel(level: number): void {
    // RMS level to a meter a person reads like a VU meter: −60 dBFS empty, 0 dBFS full.
    const percent = level > 0 ? Math.max(0, Math.min(100, ((20 * Math.log10(level) + 60) / 60) * 100)) : 0;
    this.meterFill.style.width = `${percent}%`;
    this.meter.setAttribute('aria-valuenow', String(Math.round(percent)));
  }

  private async copy(): Promise<void> {
    if (!this.lastReport) return;
    try {
      await navigator.clipboard.writeText(reportText(this.lastReport));
      localize(this.reportNote, 'text', msg('check.report.copied'));
    } catch {
      localize(this.reportNote, 'text', msg('check.report.copy-failed'));
    }
  }

  private download(kind: 'text' | 'json'): void {
    if (!this.lastReport) return;
    const body = kind === 'json' ? `${JSON.stringify(this.lastReport, null, 2)}\n` : reportText(this.lastReport);
    const blob = new Blob([body], { type: kind === 'json' ? 'application/json' : 'text/plain;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const stamp = this.lastReport.at.replace(/[:.]/g, '-');
    const link = h('a', { href: url, download: `conclave-check-${stamp}.${kind === 'json' ? 'json' : 'txt'}`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  private button(action: string, text: ReturnType<typeof msg>, onClick: () => void): HTMLButtonElement {
    const button = h('button', { type: 'button', 'data-action': action }, text);
    button.addEventListener('click', onClick);
    return button;
  }

  /** Frames presented by the preview, for browsers whose tracks do not count them (Firefox). */
  private frameCounter(): FrameCounter {
    return (_track, ms) =>
      new Promise((resolve) => {
        if (!('requestVideoFrameCallback' in this.video)) return resolve(null);
        let frames = 0;
        let counting = true;
        const onFrame = (): void => {
          if (!counting) return;
          frames++;
          this.video.requestVideoFrameCallback(onFrame);
        };
        this.video.requestVideoFrameCallback(onFrame);
        setTimeout(() => {
          counting = false;
          resolve(frames);
        }, ms);
      });
  }
}
