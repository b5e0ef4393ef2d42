import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { listDevices } from '../conference/media.js';
import type { RemoteParticipant } from '../conference/types.js';
import { h, icon, type IconName } from './dom.js';
import { Tile, type TileKind } from './Tile.js';
import { Toasts } from './Toasts.js';

/** The in-call screen: header, tile grid, toolbar. It renders the client's state and calls it. */
export class RoomView {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly count: HTMLElement;
  private readonly status: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly toasts = new Toasts();
  private readonly buttons: Record<'mic' | 'camera' | 'screen', HTMLButtonElement>;
  private readonly cameraSelect: HTMLSelectElement;
  private readonly micSelect: HTMLSelectElement;
  private readonly blockedAudio = new Set<HTMLAudioElement>();
  private readonly audioBanner: HTMLButtonElement;
  private readonly resizeObserver = new ResizeObserver(() => this.layout());

  constructor(
    private readonly client: ConferenceClient,
    private readonly onLeft: (reason?: string) => void,
  ) {
    this.count = h('span', { class: 'count', 'data-participant-count': '1' });
    this.status = h('div', { class: 'status', role: 'status', hidden: true });
    this.grid = h('main', { class: 'grid', 'aria-label': 'Participants' });
    this.audioBanner = h('button', { class: 'audio-banner', hidden: true }, 'Click to turn on sound');
    this.audioBanner.addEventListener('click', () => this.unblockAudio());
    this.buttons = {
      mic: this.toolbarButton('mic', 'Microphone', () => void client.setMic(!client.local.mic.enabled)),
      camera: this.toolbarButton('camera', 'Camera', () => void client.setCam(!client.local.camera.enabled)),
      screen: this.toolbarButton('screen', 'Share screen', () =>
        void (client.local.screen.enabled ? client.stopScreen() : client.shareScreen()),
      ),
    };
    this.cameraSelect = h('select', { class: 'device-select', title: 'Camera', 'aria-label': 'Camera' });
    this.micSelect = h('select', { class: 'device-select', title: 'Microphone', 'aria-label': 'Microphone' });
    this.cameraSelect.addEventListener('change', () => void client.selectDevice('camera', this.cameraSelect.value));
    this.micSelect.addEventListener('change', () => void client.selectDevice('mic', this.micSelect.value));
    const leave = this.toolbarButton('leave', 'Leave', () => void client.leave());
    leave.classList.add('danger');

    this.element = h(
      'div',
      { class: 'room' },
      h('header', { class: 'room-header' }, h('span', { class: 'room-name', title: 'Room' }, client.roomId), this.count),
      this.status,
      this.grid,
      this.audioBanner,
      h(
        'footer',
        { class: 'toolbar', role: 'toolbar' },
        this.buttons.mic,
        this.micSelect,
        this.buttons.camera,
        this.cameraSelect,
        this.buttons.screen,
        leave,
      ),
      this.toasts.element,
    );
    this.resizeObserver.observe(this.grid);
    this.bind();
    this.renderLocal();
    this.renderToolbar();
  }

  private bind(): void {
    const { client } = this;
    client.on('participantJoined', (participant) => this.renderParticipant(participant));
    client.on('participantUpdated', (participant) => this.renderParticipant(participant));
    client.on('participantLeft', (participant) => {
      this.removeTile(participant.id, 'camera');
      this.removeTile(participant.id, 'screen');
      this.updateCount();
    });
    client.on('localMediaChanged', () => {
      this.renderLocal();
      this.renderToolbar();
      void this.refreshDevices();
    });
    client.on('activeSpeaker', (peerId) => {
      for (const tile of this.tiles.values()) tile.setSpeaking(tile.kind === 'camera' && tile.peerId === peerId);
    });
    client.on('mediaError', (error) => this.toasts.show(error.message, 'warning'));
    client.on('error', (error) => this.toasts.show(`${error.code}: ${error.message}`, 'error'));
    client.on('connectionState', (state, reason) => {
      if (state === 'joined') {
        this.renderLocal();
        this.setStatus(null);
      } else if (state === 'reconnecting') {
        this.setStatus(reason ?? 'Reconnecting…');
      } else if (state === 'left') {
        this.resizeObserver.disconnect();
        for (const tile of this.tiles.values()) tile.remove();
        this.tiles.clear();
        this.onLeft(reason);
      }
    });
  }

  private renderParticipant(participant: RemoteParticipant): void {
    const camera = this.ensureTile(participant.id, 'camera', participant.displayName, false);
    camera.setVideo(participant.tracks.camera?.track ?? null, participant.tracks.camera?.paused);
    camera.setAudio(participant.tracks.mic?.track ?? null, participant.tracks.mic?.paused);
    camera.setSpeaking(this.client.activeSpeakerId === participant.id);
    camera.setReconnecting(participant.reconnecting);
    const screen = participant.tracks.screen;
    if (screen) this.ensureTile(participant.id, 'screen', participant.displayName, false).setVideo(screen.track, screen.paused);
    else this.removeTile(participant.id, 'screen');
    this.updateCount();
  }

  private renderLocal(): void {
    const self = this.client.self;
    if (!self) return;
    const { id, displayName: name } = self;
    // After a rejoin we are a new participant: drop the tiles of our previous identity.
    for (const tile of [...this.tiles.values()]) {
      if (tile.isLocal && tile.peerId !== id) this.removeTile(tile.peerId, tile.kind);
    }
    const { mic, camera, screen } = this.client.local;
    const tile = this.ensureTile(id, 'camera', name, true);
    tile.setVideo(camera.enabled ? camera.track : null);
    tile.setAudio(mic.enabled ? mic.track : null);
    if (screen.track) this.ensureTile(id, 'screen', name, true).setVideo(screen.track);
    else this.removeTile(id, 'screen');
    this.updateCount();
  }

  private renderToolbar(): void {
    const { mic, camera, screen } = this.client.local;
    this.setButton(this.buttons.mic, mic.enabled, mic.enabled ? 'mic' : 'micOff', mic.enabled ? 'Mute microphone' : 'Unmute microphone');
    this.setButton(this.buttons.camera, camera.enabled, camera.enabled ? 'camera' : 'cameraOff', camera.enabled ? 'Turn camera off' : 'Turn camera on');
    this.setButton(this.buttons.screen, screen.enabled, 'screen', screen.enabled ? 'Stop sharing' : 'Share screen', false);
    this.buttons.screen.hidden = !navigator.mediaDevices || !('getDisplayMedia' in navigator.mediaDevices);
  }

  /** `mutedLook`: an inactive mic or camera is shown as a warning; an idle screen share is not. */
  private setButton(button: HTMLButtonElement, active: boolean, iconName: IconName, label: string, mutedLook = true): void {
    button.classList.toggle('off', mutedLook && !active);
    button.setAttribute('aria-pressed', String(active));
    button.title = label;
    button.setAttribute('aria-label', label);
    button.replaceChildren(icon(iconName));
  }

  private toolbarButton(iconName: IconName, label: string, onClick: () => void): HTMLButtonElement {
    const button = h('button', { class: 'tool', title: label, 'aria-label': label, 'data-action': iconName }, icon(iconName));
    button.addEventListener('click', onClick);
    return button;
  }

  private async refreshDevices(): Promise<void> {
    const { cameras, microphones } = await listDevices();
    fillSelect(this.cameraSelect, cameras, this.client.local.camera.track?.getSettings().deviceId);
    fillSelect(this.micSelect, microphones, this.client.local.mic.track?.getSettings().deviceId);
  }

  private ensureTile(peerId: string, kind: TileKind, name: string, isLocal: boolean): Tile {
    const key = `${peerId}:${kind}`;
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = new Tile(peerId, kind, name, isLocal, (audio) => this.audioBlocked(audio));
      this.tiles.set(key, tile);
      // Local tile first, screens before cameras of the same person.
      if (isLocal && kind === 'camera') this.grid.prepend(tile.element);
      else this.grid.append(tile.element);
      this.layout();
    }
    return tile;
  }

  private removeTile(peerId: string, kind: TileKind): void {
    const key = `${peerId}:${kind}`;
    const tile = this.tiles.get(key);
    if (!tile) return;
    tile.remove();
    this.tiles.delete(key);
    this.layout();
  }

  private updateCount(): void {
    const people = this.client.participants.size + 1;
    this.count.textContent = `${people} ${people === 1 ? 'participant' : 'participants'}`;
    this.count.dataset.participantCount = String(people);
  }

  /** Picks the column count that makes 16:9 tiles as large as the grid allows. */
  private layout(): void {
    const count = Math.max(1, this.tiles.size);
    const { width, height } = this.grid.getBoundingClientRect();
    if (width === 0 || height === 0) return;
    let best = { columns: 1, size: 0 };
    for (let columns = 1; columns <= count; columns++) {
      const rows = Math.ceil(count / columns);
      const tileWidth = Math.min(width / columns, ((height / rows) * 16) / 9);
      if (tileWidth > best.size) best = { columns, size: tileWidth };
    }
    this.grid.style.setProperty('--columns', String(best.columns));
    this.grid.style.setProperty('--tile-width', `${Math.floor(best.size) - 8}px`);
  }

  private setStatus(message: string | null): void {
    this.status.hidden = message === null;
    this.status.textContent = message ?? '';
  }

  private audioBlocked(audio: HTMLAudioElement): void {
    this.blockedAudio.add(audio);
    this.audioBanner.hidden = false;
  }

  private unblockAudio(): void {
    for (const audio of this.blockedAudio) void audio.play().catch(() => undefined);
    this.blockedAudio.clear();
    this.audioBanner.hidden = true;
  }
}

function fillSelect(select: HTMLSelectElement, choices: { deviceId: string; label: string }[], current: string | undefined): void {
  select.replaceChildren(...choices.map((choice) => h('option', { value: choice.deviceId, selected: choice.deviceId === current }, choice.label)));
  select.hidden = choices.length < 2;
}
