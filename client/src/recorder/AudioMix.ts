import type { Scene, SceneTrack } from './Scene.js';

interface Input {
  source: MediaStreamAudioSourceNode;
  /** Chromium passes remote WebRTC audio to WebAudio only while a media element plays it too (muted). */
  element: HTMLAudioElement;
}

/**
 * Everyone's microphone mixed into one track for the recording: one AudioContext whose
 * MediaStreamAudioDestinationNode gathers a source node per received microphone. The track runs
 * (silent) with no one speaking, so the recording's audio never has a hole.
 */
export class AudioMix {
  private readonly context = new AudioContext({ sampleRate: 48_000 });
  private readonly destination = this.context.createMediaStreamDestination();
  private readonly inputs = new Map<string, Input>();

  constructor(scene: Scene) {
    scene.on('trackAdded', (track) => {
      if (track.source === 'mic') this.add(track);
    });
    scene.on('trackRemoved', ({ consumerId }) => this.remove(consumerId));
  }

  /** The mix, for MediaRecorder. */
  get track(): MediaStreamTrack {
    const [track] = this.destination.stream.getAudioTracks();
    if (!track) throw new Error('The audio mix has no track');
    return track;
  }

  /** Runs the context (it may start suspended) before recording starts, so the first second is not lost. */
  async start(): Promise<void> {
    // A destination with nothing connected renders no audio at all, and MediaRecorder then waits
    // for audio before it writes anything: a constant silent source keeps the track running.
    const silence = this.context.createConstantSource();
    silence.offset.value = 0;
    silence.connect(this.destination);
    silence.start();
    await this.context.resume();
  }

  async close(): Promise<void> {
    for (const consumerId of [...this.inputs.keys()]) this.remove(consumerId);
    await this.context.close();
  }

  private add({ consumerId, track }: SceneTrack): void {
    const stream = new MediaStream([track]);
    const element = new Audio();
    element.muted = true;
    element.srcObject = stream;
    void element.play().catch(() => undefined);
    const source = this.context.createMediaStreamSource(stream);
    source.connect(this.destination);
    this.inputs.set(consumerId, { source, element });
  }

  private remove(consumerId: string): void {
    const input = this.inputs.get(consumerId);
    if (!input) return;
    input.source.disconnect();
    input.element.srcObject = null;
    this.inputs.delete(consumerId);
  }
}
