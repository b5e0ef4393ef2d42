import type { SessionEvent } from '../../../shared/diagnostics.js';
import type { ConferenceClient } from '../conference/ConferenceClient.js';
import type { BrowserEvent, LinkSample, TimelineEntry } from '../conference/Diagnostics.js';
import { computed, formatBitrate, formatClock, localize, lookup, msg, t, type Msg } from '../i18n/i18n.js';
import { h, icon } from './dom.js';
import './diagnostics.css';

const SVG = 'http://www.w3.org/2000/svg';
const CHART_WIDTH = 280;
const CHART_HEIGHT = 44;
/** Rows the open panel shows at most (the newest). */
const ROWS_SHOWN = 500;

/**
 * The connection panel (the statistics button): how media flows now (the candidate pair of each
 * transport), a minute of bit rate, loss and round trip as small charts, the session's timeline as
 * both the browser and the server saw it, "Reconnect media" (an ICE restart) and "Download
 * diagnostics". It renders what `client.diagnostics` keeps; nothing here measures.
 * Automation hooks: `[data-connection-panel]`, `[data-timeline] li[data-kind][data-origin]`,
 * `[data-action="reconnect-media"]`, `[data-action="download-diagnostics"]`.
 */
export class ConnectionPanel {
  readonly element: HTMLElement;
  private readonly list = h('ol', { class: 'timeline', 'data-timeline': '', 'aria-live': 'off' });
  private readonly routes = h('dl', { class: 'routes' });
  private readonly bitrate = new Chart(['var(--accent)', 'var(--ok, #46a758)']);
  private readonly loss = new Chart(['var(--warning)', 'var(--danger)']);
  private readonly rtt = new Chart(['var(--accent)']);
  private readonly reconnect: HTMLButtonElement;
  private paths: Partial<Record<'send' | 'recv', Extract<BrowserEvent, { kind: 'path' }>>> = {};
  private open = false;

  constructor(
    private readonly client: ConferenceClient,
    onClose: () => void,
  ) {
    const close = h('button', { class: 'panel-close', type: 'button', 'aria-label': msg('diagnostics.close'), title: msg('diagnostics.close') }, icon('close'));
    close.addEventListener('click', onClose);
    this.reconnect = h('button', { type: 'button', class: 'secondary', 'data-action': 'reconnect-media' }, msg('diagnostics.reconnect'));
    this.reconnect.addEventListener('click', () => void this.reconnectMedia());
    const download = h('button', { type: 'button', class: 'secondary', 'data-action': 'download-diagnostics' }, msg('diagnostics.download'));
    download.addEventListener('click', () => void this.download());
    this.element = h(
      'aside',
      { class: 'connection-panel', 'aria-label': msg('diagnostics.title'), 'data-connection-panel': '', hidden: true },
      h('div', { class: 'panel-header' }, h('h2', {}, msg('diagnostics.title')), close),
      h(
        'div',
        { class: 'connection-body' },
        h('section', {}, h('h3', {}, msg('diagnostics.route')), this.routes),
        this.bitrate.section(msg('diagnostics.chart.bitrate')),
        this.loss.section(msg('diagnostics.chart.loss')),
        this.rtt.section(msg('diagnostics.chart.rtt')),
        h('div', { class: 'connection-actions' }, this.reconnect, download),
        h('section', {}, h('h3', {}, msg('diagnostics.timeline')), this.list),
      ),
    );
    const diagnostics = client.diagnostics;
    for (const entry of diagnostics.timeline) this.notePath(entry);
    diagnostics.on('entry', (entry) => {
      this.notePath(entry);
      if (!this.open) return;
      this.list.prepend(this.row(entry));
      // A long call with the panel open: the oldest rows go, as they do from the timeline itself.
      while (this.list.childElementCount > ROWS_SHOWN) this.list.lastElementChild?.remove();
    });
    diagnostics.on('sample', () => {
      if (this.open) this.renderCharts();
    });
    this.renderRoutes();
  }

  get isOpen(): boolean {
    return this.open;
  }

  setOpen(open: boolean): void {
    this.open = open;
    this.element.hidden = !open;
    if (!open) return;
    // Newest first: what just went wrong is what the reader looks for.
    const entries = [...this.client.diagnostics.timeline].reverse().slice(0, ROWS_SHOWN);
    this.list.replaceChildren(...(entries.length > 0 ? entries.map((entry) => this.row(entry)) : [h('li', { class: 'muted' }, msg('diagnostics.empty'))]));
    this.renderCharts();
  }

  private notePath(entry: TimelineEntry): void {
    if (entry.origin !== 'browser') return;
    if (entry.event.kind === 'path') this.paths[entry.event.transport] = entry.event;
    else if (entry.event.kind === 'transports') this.paths = {};
    else return;
    this.renderRoutes();
  }

  private renderRoutes(): void {
    const describe = (direction: 'send' | 'recv'): Msg => {
      const path = this.paths[direction];
      if (!path) return msg('diagnostics.route.none');
      const protocol = path.protocol.toUpperCase();
      if (path.local === 'relay') return msg('diagnostics.route.relay', { protocol: (path.relayProtocol ?? 'udp').toUpperCase() });
      if (path.local === 'srflx' || path.local === 'prflx') return msg('diagnostics.route.reflexive', { protocol });
      return msg('diagnostics.route.direct', { protocol });
    };
    this.routes.replaceChildren(
      ...(['send', 'recv'] as const).flatMap((direction) => [
        h('dt', {}, msg(direction === 'send' ? 'diagnostics.route.send' : 'diagnostics.route.recv')),
        h('dd', { 'data-route': direction }, describe(direction)),
      ]),
    );
  }

  private renderCharts(): void {
    const samples = this.client.diagnostics.recentSamples;
    const last: LinkSample | undefined = samples[samples.length - 1];
    this.bitrate.draw(
      [samples.map((sample) => sample.sendKbps), samples.map((sample) => sample.recvKbps)],
      last
        ? computed(() => t('diagnostics.chart.bitrateValue', { send: formatBitrate(last.sendKbps * 1000), recv: formatBitrate(last.recvKbps * 1000) }))
        : null,
    );
    this.loss.draw(
      [samples.map((sample) => sample.sendLossPercent), samples.map((sample) => sample.recvLossPercent)],
      last ? msg('diagnostics.chart.lossValue', { send: last.sendLossPercent, recv: last.recvLossPercent }) : null,
      5,
    );
    const rtts = samples.map((sample) => sample.rttMs ?? 0);
    this.rtt.draw([rtts], last?.rttMs === null || last === undefined ? null : msg('diagnostics.chart.rttValue', { ms: last.rttMs }), 50);
  }

  private row(entry: TimelineEntry): HTMLLIElement {
    const time = h('time', { datetime: new Date(entry.event.at).toISOString() });
    localize(
      time,
      'text',
      computed(() => formatClock(entry.event.at)),
    );
    return h(
      'li',
      { 'data-kind': entry.event.kind, 'data-origin': entry.origin },
      time,
      h('span', { class: 'origin' }, msg(entry.origin === 'browser' ? 'diagnostics.origin.browser' : 'diagnostics.origin.server')),
      h('span', { class: 'what' }, entry.origin === 'browser' ? describeBrowser(entry.event) : this.describeServer(entry.event)),
    );
  }

  private describeServer(event: SessionEvent): Msg {
    switch (event.kind) {
      case 'joined':
        return computed(() => t('diagnostics.event.joined', { room: event.roomId, role: t(`diagnostics.role.${event.role}`) }));
      case 'left':
        return computed(() => t('diagnostics.event.left', { reason: term('diagnostics.leaveReason.', event.reason) }));
      case 'signalling':
        return msg(`diagnostics.event.signalling.${event.state}`);
      case 'ice':
        return computed(() => t('diagnostics.event.ice', { transport: transportName(event.transport), state: term('diagnostics.state.', event.state) }));
      case 'dtls':
        return computed(() => t('diagnostics.event.dtls', { transport: transportName(event.transport), state: term('diagnostics.state.', event.state) }));
      case 'route':
        return computed(() =>
          t('diagnostics.event.route', { transport: transportName(event.transport), protocol: event.protocol.toUpperCase(), remote: event.remote }),
        );
      case 'iceRestart':
        return computed(() => t('diagnostics.event.iceRestart', { transport: transportName(event.transport) }));
      case 'workerMoved':
        return msg('diagnostics.event.workerMoved', { from: event.fromWorker, to: event.toWorker });
      case 'layers': {
        const name = this.client.participants.get(event.peerId)?.displayName;
        return computed(() => {
          const common = {
            name: name ?? t('diagnostics.someone'),
            source: term('diagnostics.source.', event.source),
            reason: t(`diagnostics.layerReason.${event.reason}`),
          };
          if (event.spatialLayer === null) return t('diagnostics.event.layersOff', common);
          const layer = t('diagnostics.layer', { spatial: event.spatialLayer, temporal: event.temporalLayer ?? 0 });
          return t('diagnostics.event.layers', { ...common, layer });
        });
      }
      case 'quality':
        return computed(() => t('diagnostics.event.quality', { quality: t(`diagnostics.quality.${event.quality}`) }));
    }
  }

  private async reconnectMedia(): Promise<void> {
    this.reconnect.disabled = true;
    localize(this.reconnect, 'text', msg('diagnostics.reconnecting'));
    try {
      await this.client.restartIce();
    } finally {
      this.reconnect.disabled = false;
      localize(this.reconnect, 'text', msg('diagnostics.reconnect'));
    }
  }

  private async download(): Promise<void> {
    const bundle = await this.client.diagnosticsBundle();
    const blob = new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/json' });
    const link = h('a', { href: URL.createObjectURL(blob), download: `conclave-diagnostics-${bundle.room}-${bundle.generatedAt.replace(/[:.]/g, '-')}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }
}

/** A state, role, source or reason the catalogue knows (`prefix + value`), else the catalogue's "other". */
function term(prefix: string, value: string): string {
  return lookup(`${prefix}${value}`) ?? t('diagnostics.unknown');
}

function transportName(direction: 'send' | 'recv'): string {
  return t(direction === 'send' ? 'diagnostics.transport.send' : 'diagnostics.transport.recv');
}

function describeBrowser(event: BrowserEvent): Msg {
  switch (event.kind) {
    case 'session':
      return msg(`diagnostics.event.session.${event.state}`);
    case 'signalling':
      return msg('diagnostics.event.signallingDropped');
    case 'transports':
      return msg('diagnostics.event.transports');
    case 'connection':
    case 'ice':
    case 'dtls': {
      const key = event.kind === 'connection' ? 'diagnostics.event.connection' : event.kind === 'ice' ? 'diagnostics.event.ice' : 'diagnostics.event.dtls';
      return computed(() => t(key, { transport: transportName(event.transport), state: term('diagnostics.state.', event.state) }));
    }
    case 'path':
      return computed(() =>
        event.local === 'relay'
          ? t('diagnostics.event.pathRelay', {
              transport: transportName(event.transport),
              relayProtocol: (event.relayProtocol ?? 'udp').toUpperCase(),
              remote: term('diagnostics.candidate.', event.remote),
            })
          : t('diagnostics.event.path', {
              transport: transportName(event.transport),
              local: term('diagnostics.candidate.', event.local),
              remote: term('diagnostics.candidate.', event.remote),
              protocol: event.protocol.toUpperCase(),
            }),
      );
    case 'iceRestart':
      return computed(() => t('diagnostics.event.iceRestart', { transport: transportName(event.transport) }));
    case 'mediaReset':
      return msg('diagnostics.event.mediaReset');
  }
}

/** A small line chart of the last minute; several series share one scale. */
class Chart {
  private readonly svg = document.createElementNS(SVG, 'svg');
  private readonly value = h('span', { class: 'chart-value' });
  private readonly lines: SVGPolylineElement[];

  constructor(colours: string[]) {
    this.svg.setAttribute('viewBox', `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`);
    this.svg.setAttribute('class', 'chart');
    this.svg.setAttribute('aria-hidden', 'true');
    this.lines = colours.map((colour) => {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke', colour);
      line.setAttribute('stroke-width', '1.5');
      this.svg.append(line);
      return line;
    });
  }

  section(title: Msg): HTMLElement {
    localize(this.value, 'text', msg('diagnostics.chart.waiting'));
    return h('section', { class: 'chart-section' }, h('h3', {}, title, ' ', this.value), this.svg);
  }

  /** `floor`: the scale's least top, so a quiet link does not look like a storm. */
  draw(series: number[][], value: Msg | null, floor = 1): void {
    const top = Math.max(floor, ...series.flat());
    series.forEach((points, index) => {
      const step = CHART_WIDTH / Math.max(1, points.length - 1);
      const coordinates = points.map((point, i) => `${(i * step).toFixed(1)},${(CHART_HEIGHT - (point / top) * (CHART_HEIGHT - 2) - 1).toFixed(1)}`);
      this.lines[index]?.setAttribute('points', coordinates.join(' '));
    });
    localize(this.value, 'text', value ?? msg('diagnostics.chart.waiting'));
  }
}
