import type { ConnectionQuality } from '../../../shared/quality.js';
import { label, localize, msg, type Msg } from '../i18n/i18n.js';
import { h, hueFor, icon, initials } from './dom.js';

export type TileKind = 'camera' | 'screen';

/** How long a reaction floats over the tile (the animation in meeting.css lasts as long). */
const REACTION_MS = 4000;

/**
 * One participant's video (or avatar when there is none), name, mute indicator, raised hand and
 * reactions. Automation hooks: `data-peer-id`, `data-kind`, and `data-local` on the local
 * participant's tiles; `.hand-badge[data-hand]` (the queue position), `[data-reaction]`.
 */
export class Tile {
  readonly element: HTMLElement;
  private readonly video: HTMLVideoElement;
  private readonly avatar: HTMLElement;
  private readonly nameLabel: HTMLElement;
  private readonly micIndicator: HTMLElement;
  private readonly qualityIndicator: HTMLElement;
  private readonly audio: HTMLAudioElement | null;
  private readonly statsOverlay: HTMLElement;
  private readonly handBadge: HTMLElement;
  private readonly reactions: HTMLElement;
  private videoTrack: MediaStreamTrack | null = null;
  /** The track to show when the layout allows video (last-N may show the avatar instead). */
  private offeredTrack: MediaStreamTrack | null = null;
  private allowed = true;
  private audioTrack: MediaStreamTrack | null = null;

  constructor(
    readonly peerId: string,
    readonly kind: TileKind,
    displayName: string,
    readonly isLocal: boolean,
    private readonly onAudioBlocked: (audio: HTMLAudioElement) => void,
  ) {
    this.video = h('video', { autoplay: true, playsinline: true, muted: true });
    this.video.muted = true; // audio plays through the separate <audio>, so the video never blocks autoplay
    this.avatar = h('div', { class: 'avatar' }, initials(displayName));
    this.avatar.style.setProperty('--hue', String(hueFor(displayName)));
    this.nameLabel = h('span', { class: 'name' });
    this.micIndicator = h('span', { class: 'indicator mic-off', title: msg('room.tile.micOff'), hidden: true }, icon('micOff'));
    // Three bars, lit by level; `data-quality` for automation and styling.
    this.qualityIndicator = h('span', { class: 'quality', role: 'img', hidden: true }, h('i'), h('i'), h('i'));
    this.audio = isLocal || kind === 'screen' ? null : h('audio', { autoplay: true });
    this.statsOverlay = h('pre', { class: 'tile-stats', hidden: true });
    this.handBadge = h('span', { class: 'hand-badge', title: msg('room.tile.handRaised'), hidden: true });
    this.reactions = h('div', { class: 'tile-reactions', 'aria-live': 'polite' });
    this.element = h(
      'div',
      { class: `tile ${kind}`, 'data-peer-id': peerId, 'data-kind': kind, 'data-local': isLocal },
      this.video,
      this.avatar,
      h('div', { class: 'label' }, this.qualityIndicator, this.micIndicator, this.nameLabel),
      this.handBadge,
      this.reactions,
      this.statsOverlay,
      this.audio,
    );
    if (isLocal && kind === 'camera') this.element.classList.add('mirrored');
    this.setName(displayName, isLocal);
    this.render();
  }

  setName(displayName: string, isLocal = this.isLocal): void {
    const name = { name: displayName };
    localize(this.nameLabel, 'text', this.kind === 'screen' ? msg('room.tile.screen', name) : isLocal ? msg('room.tile.you', name) : displayName);
  }

  /** The video to show; null or a paused sender shows the avatar instead. */
  setVideo(track: MediaStreamTrack | null, paused = false): void {
    this.offeredTrack = paused ? null : track;
    this.show();
  }

  /** Whether the layout gives this tile video (beyond last-N it shows the avatar; audio plays on). */
  setVideoAllowed(allowed: boolean): void {
    if (allowed === this.allowed) return;
    this.allowed = allowed;
    this.show();
  }

  get videoAllowed(): boolean {
    return this.allowed;
  }

  /** There is a video to show (the sender's camera is on), whether or not the layout allows it. */
  get offersVideo(): boolean {
    return this.offeredTrack !== null;
  }

  /** Lines for the statistics overlay; null hides it. */
  setStats(text: string | null): void {
    this.statsOverlay.hidden = text === null;
    this.statsOverlay.textContent = text ?? '';
  }

  setAudio(track: MediaStreamTrack | null, paused = false): void {
    if (this.audio && track !== this.audioTrack) {
      this.audioTrack = track;
      this.audio.srcObject = track ? new MediaStream([track]) : null;
      if (track) {
        this.audio.play().catch((error: unknown) => {
          if (error instanceof DOMException && error.name === 'NotAllowedError' && this.audio) this.onAudioBlocked(this.audio);
        });
      }
    }
    this.micIndicator.hidden = this.kind === 'screen' || (track !== null && !paused);
  }

  /** Their connection quality as the server sees it, with what the tooltip says (camera tiles only). */
  setQuality(quality: ConnectionQuality | null, description: Msg | string): void {
    if (this.kind === 'screen') return;
    this.qualityIndicator.hidden = quality === null;
    if (quality === null) {
      this.qualityIndicator.removeAttribute('data-quality');
      return;
    }
    this.qualityIndicator.dataset.quality = quality;
    label(this.qualityIndicator, description);
  }

  /** Their place in the queue of raised hands (1 first), or null when their hand is down. */
  setHand(position: number | null): void {
    this.handBadge.hidden = position === null;
    this.handBadge.replaceChildren(...(position === null ? [] : [icon('hand'), String(position)]));
    if (position === null) this.handBadge.removeAttribute('data-hand');
    else this.handBadge.dataset.hand = String(position);
  }

  /** A reaction floats up over the tile for a few seconds. */
  showReaction(reaction: string): void {
    const bubble = h('span', { class: 'reaction', 'data-reaction': reaction }, reaction);
    this.reactions.append(bubble);
    setTimeout(() => bubble.remove(), REACTION_MS);
  }

  setSpeaking(speaking: boolean): void {
    this.element.classList.toggle('speaking', speaking);
  }

  /** Their connection dropped; they may come back within the grace period. */
  setReconnecting(reconnecting: boolean): void {
    this.element.classList.toggle('reconnecting', reconnecting);
    this.element.toggleAttribute('data-reconnecting', reconnecting);
  }

  remove(): void {
    this.video.srcObject = null;
    if (this.audio) this.audio.srcObject = null;
    this.element.remove();
  }

  private show(): void {
    const shown = this.allowed ? this.offeredTrack : null;
    if (shown !== this.videoTrack) {
      this.videoTrack = shown;
      this.video.srcObject = shown ? new MediaStream([shown]) : null;
      if (shown) void this.video.play().catch(() => undefined);
    }
    this.render();
  }

  private render(): void {
    const hasVideo = this.videoTrack !== null;
    this.element.classList.toggle('no-video', !hasVideo);
    this.video.hidden = !hasVideo;
    this.avatar.hidden = hasVideo;
  }
}
