import { TypedEmitter } from '../../../shared/TypedEmitter.js';
import type { MediaSource, ParticipantInfo } from '../../../shared/protocol.js';

/** One received track and whether its sender (or the server) has paused it. */
export interface SceneTrack {
  consumerId: string;
  peerId: string;
  source: MediaSource;
  track: MediaStreamTrack;
  paused: boolean;
}

export type SceneEvents = {
  trackAdded: [track: SceneTrack];
  trackRemoved: [track: SceneTrack];
  /** Who is there, their tracks, or the active speaker changed. */
  changed: [];
};

/**
 * What the compositor shows: the participants in join order, the tracks received from them and
 * who speaks. It knows nothing of mediasoup or the canvas; the painter and the mixer follow it.
 */
export class Scene extends TypedEmitter<SceneEvents> {
  activeSpeaker: string | null = null;
  /** Counts every change, so a painter recomputes its layout only when it moved. */
  version = 0;
  private readonly people = new Map<string, ParticipantInfo>();
  private readonly tracks = new Map<string, SceneTrack>();
  private ordered: ParticipantInfo[] = [];

  /** Adds someone, or updates what we know of them. */
  upsertParticipant(info: ParticipantInfo): void {
    this.people.set(info.id, info);
    this.changed();
  }

  removeParticipant(peerId: string): void {
    if (!this.people.delete(peerId)) return;
    for (const track of [...this.tracks.values()]) if (track.peerId === peerId) this.removeTrack(track.consumerId);
    if (this.activeSpeaker === peerId) this.activeSpeaker = null;
    this.changed();
  }

  /** A consumer's track; it may arrive before its participant does, and shows once they are known. */
  addTrack(track: SceneTrack): void {
    this.tracks.set(track.consumerId, track);
    this.emit('trackAdded', track);
    this.changed();
  }

  removeTrack(consumerId: string): void {
    const track = this.tracks.get(consumerId);
    if (!track) return;
    this.tracks.delete(consumerId);
    this.emit('trackRemoved', track);
    this.changed();
  }

  setPaused(consumerId: string, paused: boolean): void {
    const track = this.tracks.get(consumerId);
    if (!track || track.paused === paused) return;
    track.paused = paused;
    this.changed();
  }

  setActiveSpeaker(peerId: string | null): void {
    if (this.activeSpeaker === peerId) return;
    this.activeSpeaker = peerId;
    this.changed();
  }

  /** Everyone, first joined first. */
  participants(): readonly ParticipantInfo[] {
    return this.ordered;
  }

  /** The participant's live track from this source, if any (a paused one counts: it is still there). */
  track(peerId: string, source: MediaSource): SceneTrack | undefined {
    let found: SceneTrack | undefined;
    for (const track of this.tracks.values()) if (track.peerId === peerId && track.source === source) found = track;
    return found;
  }

  /** The screen share on show: the most recent unpaused one of someone present. */
  screen(): SceneTrack | null {
    let found: SceneTrack | null = null;
    for (const track of this.tracks.values()) if (track.source === 'screen' && !track.paused && this.people.has(track.peerId)) found = track;
    return found;
  }

  private changed(): void {
    // Sorting is stable: people who joined in the same millisecond keep the order they were announced in.
    this.ordered = [...this.people.values()].sort((a, b) => a.joinedAt - b.joinedAt);
    this.version++;
    this.emit('changed');
  }
}
