import type { ConferenceClient } from '../conference/ConferenceClient.js';
import { explainLink } from '../conference/LinkQuality.js';
import { listDevices, type DeviceChoice } from '../conference/media.js';
import { isQualityMode, QUALITY_MODES, type QualityMode } from '../conference/qualityMode.js';
import type { CallProblem, DeviceSource, MediaSource, RemoteParticipant } from '../conference/types.js';
import { computed, label, localize, msg, plural, t, type Msg } from '../i18n/i18n.js';
import { Announcer } from './Announcer.js';
import { Collaboration } from './Collaboration.js';
import { ConnectionPanel } from './ConnectionPanel.js';
import { h, icon, toolbarButton, type IconName } from './dom.js';
import { deviceName, linkProblemsText, mediaErrorText, problemText, qualityWord } from './explain.js';
import { languagePicker } from './LanguagePicker.js';
import { MeetingUi } from './MeetingUi.js';
import { RecordingUi } from './RecordingUi.js';
import { TileArea, type LayoutOptions } from './TileArea.js';
import { Tile, type TileKind } from './Tile.js';
import { TileStats } from './TileStats.js';
import { Toasts } from './Toasts.js';
import { VisibilityTracker } from './VisibilityTracker.js';

/** Where the quality setting is remembered between calls. */
const QUALITY_KEY = 'conclave.quality';

/** The in-call screen: header, tiles, toolbar. It renders the client's state and calls it. */
export class RoomView {
  readonly element: HTMLElement;
  private readonly area: TileArea;
  private readonly count: HTMLElement;
  private readonly status: HTMLElement;
  /** Says what is wrong with our own link while it holds the call back. */
  private readonly linkBanner: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly toasts = new Toasts();
  private readonly buttons: Record<MediaSource, HTMLButtonElement>;
  private readonly cameraSelect: HTMLSelectElement;
  private readonly micSelect: HTMLSelectElement;
  private readonly qualitySelect: HTMLSelectElement;
  private readonly blockedAudio = new Set<HTMLAudioElement>();
  private readonly audioBanner: HTMLButtonElement;
  private readonly layoutButton: HTMLButtonElement;
  private readonly statsButton: HTMLButtonElement;
  /** Chat, files and whiteboard (the data channels), beside the tiles. */
  private readonly collaboration: Collaboration;
  /** Hands, reactions, the participants panel and the moderators' controls. */
  private readonly meeting: MeetingUi;
  /** Each tile's readings, and the connection panel: the statistics button shows both. */
  private readonly tileStats: TileStats;
  private readonly connection: ConnectionPanel;

  constructor(
    private readonly client: ConferenceClient,
    private readonly onLeft: (problem: CallProblem | null) => void,
    layout: LayoutOptions,
  ) {
    this.count = h('span', { class: 'count', 'data-participant-count': '1' });
    this.status = h('div', { class: 'status', role: 'status', hidden: true });
    this.linkBanner = h('div', { class: 'link-banner', role: 'status', hidden: true });
    this.area = new TileArea(layout, new VisibilityTracker((tile, demand) => client.setVideoDemand(tile.peerId, tile.kind, demand)));
    this.audioBanner = h('button', { class: 'audio-banner', hidden: true }, msg('room.enableSound'));
    this.audioBanner.addEventListener('click', () => this.unblockAudio());
    this.buttons = {
      mic: toolbarButton('mic', 'mic', msg('room.microphone'), () => void client.setMic(!client.local.mic.enabled)),
      camera: toolbarButton('camera', 'camera', msg('room.camera'), () => void client.setCam(!client.local.camera.enabled)),
      screen: toolbarButton('screen', 'screen', msg('room.shareScreen'), () => void (client.local.screen.enabled ? client.stopScreen() : client.shareScreen())),
    };
    this.layoutButton = toolbarButton('layout', 'speaker', msg('room.speakerView'), () => {
      this.area.toggleLayout();
      this.renderToolbar();
    });
    this.statsButton = toolbarButton('stats', 'stats', msg('room.showStats'), () => this.toggleStats());
    this.cameraSelect = h('select', { class: 'device-select', title: msg('room.camera'), 'aria-label': msg('room.camera') });
    this.micSelect = h('select', { class: 'device-select', title: msg('room.microphone'), 'aria-label': msg('room.microphone') });
    this.cameraSelect.addEventListener('change', () => void client.selectDevice('camera', this.cameraSelect.value));
    this.micSelect.addEventListener('change', () => void client.selectDevice('mic', this.micSelect.value));
    this.qualitySelect = h(
      'select',
      { class: 'device-select quality-select', title: msg('room.videoQuality'), 'aria-label': msg('room.videoQuality') },
      ...QUALITY_MODES.map((mode) => h('option', { value: mode }, msg(`room.quality.${mode}`))),
    );
    const saved = readSavedQuality();
    this.qualitySelect.value = saved;
    if (saved !== client.quality) void client.setQuality(saved);
    this.qualitySelect.addEventListener('change', () => {
      const mode = this.qualitySelect.value;
      if (!isQualityMode(mode)) return;
      saveQuality(mode);
      void client.setQuality(mode);
    });
    this.collaboration = new Collaboration(client, this.toasts);
    this.meeting = new MeetingUi(client, this.toasts, () => this.tiles.values());
    this.tileStats = new TileStats(client, () => this.tiles.values());
    this.connection = new ConnectionPanel(client, () => this.toggleStats());
    const announcer = new Announcer(client);
    const recording = new RecordingUi(client, this.toasts, announcer);
    const leave = toolbarButton('leave', 'leave', msg('room.leave'), () => void client.leave());
    const language = languagePicker();
    language.classList.add('device-select');
    leave.classList.add('danger');

    this.element = h(
      'div',
      { class: 'room' },
      h(
        'header',
        { class: 'room-header' },
        h('span', { class: 'room-name', title: msg('room.roomName') }, client.roomId),
        this.count,
        recording.indicator,
        this.meeting.waitingIndicator,
        this.area.pager,
      ),
      this.status,
      this.linkBanner,
      h('div', { class: 'workspace' }, this.area.element, ...this.collaboration.panels, this.meeting.panel, this.connection.element),
      this.audioBanner,
      this.meeting.banner,
      h(
        'footer',
        { class: 'toolbar', role: 'toolbar' },
        this.buttons.mic,
        this.micSelect,
        this.buttons.camera,
        this.cameraSelect,
        this.buttons.screen,
        this.qualitySelect,
        language,
        this.layoutButton,
        this.statsButton,
        ...this.meeting.buttons,
        ...this.collaboration.buttons,
        leave,
      ),
      this.toasts.element,
      announcer.element,
    );
    this.collaboration.acceptDrops(this.element);
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
      this.area.setActiveSpeaker(peerId);
    });
    client.on('connectionQuality', (peerId) => this.renderQuality(peerId));
    client.on('linkReport', () => void this.renderOwnLink());
    client.on('policyChanged', () => this.applyRules());
    client.on('selfUpdated', () => this.applyRules());
    // Blocked permissions and an insecure page need the user to act, and explain why nobody sees
    // them: those stay until dismissed rather than vanishing while the user looks elsewhere.
    const needsAction = new Set(['denied', 'insecure-context']);
    client.on('mediaError', (error) => this.toasts.show(mediaErrorText(error), 'warning', needsAction.has(error.reason) ? Infinity : 8000));
    // The server's code in the reader's language, not the English text it came with.
    client.on('error', (error) => this.toasts.show(msg(`error.${error.code}`), 'error'));
    client.on('connectionState', (state) => {
      if (state === 'joined') {
        this.renderLocal();
        this.setStatus(null);
      } else if (state === 'reconnecting') {
        const { problem } = client;
        this.setStatus(problem ? problemText(problem) : msg('room.reconnecting'));
      } else if (state === 'left') {
        this.tileStats.hide();
        this.area.clear();
        this.tiles.clear();
        this.collaboration.destroy();
        this.onLeft(client.problem);
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
    // A camera turned on or off changes who gets one of the last-N video places.
    this.area.arrangeSoon();
    this.updateCount();
    this.meeting.renderHands();
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
    this.meeting.renderHands();
  }

  /** What the room's rules let us do: share the screen, chat, send files. */
  private applyRules(): void {
    const { meeting } = this.client;
    this.collaboration.setAllowed(meeting.may('chat'), meeting.may('files'));
    this.renderToolbar();
  }

  private renderToolbar(): void {
    const { mic, camera, screen } = this.client.local;
    this.setButton(this.buttons.mic, mic.enabled, mic.enabled ? 'mic' : 'micOff', msg(mic.enabled ? 'room.muteMic' : 'room.unmuteMic'));
    this.setButton(this.buttons.camera, camera.enabled, camera.enabled ? 'camera' : 'cameraOff', msg(camera.enabled ? 'room.cameraOff' : 'room.cameraOn'));
    this.setButton(this.buttons.screen, screen.enabled, 'screen', msg(screen.enabled ? 'room.stopSharing' : 'room.shareScreen'), false);
    const canShare = this.client.meeting.may('screenShare') || screen.enabled;
    this.buttons.screen.hidden = !canShare || !navigator.mediaDevices || !('getDisplayMedia' in navigator.mediaDevices);
    const speaker = this.area.layout === 'speaker';
    this.setButton(this.layoutButton, speaker, speaker ? 'grid' : 'speaker', msg(speaker ? 'room.gridView' : 'room.speakerView'), false);
    this.setButton(this.statsButton, this.tileStats.shown, 'stats', msg(this.tileStats.shown ? 'room.hideStats' : 'room.showStats'), false);
  }

  /** `mutedLook`: an inactive mic or camera is shown as a warning; an idle screen share is not. */
  private setButton(button: HTMLButtonElement, active: boolean, iconName: IconName, name: Msg, mutedLook = true): void {
    button.classList.toggle('off', mutedLook && !active);
    button.setAttribute('aria-pressed', String(active));
    label(button, name);
    button.replaceChildren(icon(iconName));
  }

  private async refreshDevices(): Promise<void> {
    const { cameras, microphones } = await listDevices();
    fillSelect(this.cameraSelect, cameras, 'camera', this.client.local.camera.track?.getSettings().deviceId);
    fillSelect(this.micSelect, microphones, 'mic', this.client.local.mic.track?.getSettings().deviceId);
  }

  private ensureTile(peerId: string, kind: TileKind, name: string, isLocal: boolean): Tile {
    const key = `${peerId}:${kind}`;
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = new Tile(peerId, kind, name, isLocal, (audio) => this.audioBlocked(audio));
      this.tiles.set(key, tile);
      this.area.add(tile);
      if (kind === 'camera') this.renderQuality(peerId);
    }
    return tile;
  }

  private removeTile(peerId: string, kind: TileKind): void {
    const key = `${peerId}:${kind}`;
    const tile = this.tiles.get(key);
    if (!tile) return;
    this.area.remove(tile);
    this.tiles.delete(key);
  }

  /** A participant's quality bars; ours are drawn with what is wrong (renderOwnLink). */
  private renderQuality(peerId: string): void {
    if (peerId === this.client.self?.id) {
      void this.renderOwnLink();
      return;
    }
    const quality = this.client.links.of(peerId);
    const description = quality === null ? '' : computed(() => t('room.peerConnection', { quality: qualityWord(quality) }));
    this.tiles.get(`${peerId}:camera`)?.setQuality(quality, description);
  }

  /**
   * Our own bars, their tooltip saying what is wrong (the server's report, plus why our browser
   * sends less if it says so), and a banner while our link holds the call back.
   */
  private async renderOwnLink(): Promise<void> {
    const self = this.client.self;
    const report = this.client.links.own;
    if (!self || !report) return;
    const stats = await this.client.stats().catch(() => undefined);
    const camera = stats?.producers.find((producer) => producer.source === 'camera');
    const sending = camera?.limitation ?? 'none';
    const problems = explainLink(report, sending);
    const quality = this.client.links.of(self.id) ?? report.quality;
    this.tiles.get(`${self.id}:camera`)?.setQuality(quality, problems.length > 0 ? linkProblemsText(problems, 'lines') : msg('room.link.good'));
    const holdsBack = quality === 'poor' || sending === 'bandwidth' || report.downlink.limited;
    this.linkBanner.hidden = !holdsBack || problems.length === 0;
    const listed = linkProblemsText(problems, 'list');
    localize(this.linkBanner, 'text', holdsBack ? computed(() => t('room.link.banner', { quality: qualityWord(quality), problems: listed.render() })) : '');
  }

  private updateCount(): void {
    const people = this.client.participants.size + 1;
    localize(
      this.count,
      'text',
      computed(() => plural('room.participants', people)),
    );
    this.count.dataset.participantCount = String(people);
  }

  /** The statistics button: each tile's readings and the connection panel, together. */
  private toggleStats(): void {
    const show = !this.tileStats.shown;
    if (show) this.tileStats.show();
    else this.tileStats.hide();
    this.connection.setOpen(show);
    this.renderToolbar();
  }

  private setStatus(message: Msg | null): void {
    this.status.hidden = message === null;
    localize(this.status, 'text', message ?? '');
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

function fillSelect(select: HTMLSelectElement, choices: DeviceChoice[], kind: DeviceSource, current: string | undefined): void {
  select.replaceChildren(...choices.map((choice) => h('option', { value: choice.deviceId, selected: choice.deviceId === current }, deviceName(choice, kind))));
  select.hidden = choices.length < 2;
}

/** The quality setting chosen in an earlier call; Auto when none (or storage is unavailable). */
function readSavedQuality(): QualityMode {
  try {
    const saved = localStorage.getItem(QUALITY_KEY);
    return isQualityMode(saved) ? saved : 'auto';
  } catch {
    return 'auto';
  }
}

function saveQuality(mode: QualityMode): void {
  try {
    localStorage.setItem(QUALITY_KEY, mode);
  } catch {
    // Private windows may refuse storage: the setting holds for this call only.
  }
}
