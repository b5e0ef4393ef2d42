import type { RecorderWelcome } from '../../../shared/recording.js';
import { AudioMix } from './AudioMix.js';
import { MediaReceiver } from './MediaReceiver.js';
import { OutputRecorder } from './OutputRecorder.js';
import { Painter } from './Painter.js';
import { RecorderLink } from './RecorderLink.js';
import { Scene } from './Scene.js';
import { StatusBoard } from './status.js';

/**
 * The compositor page (recorder.html), opened by the server in a headless Chromium with a
 * one-time ticket: it joins the room's media, draws and mixes it, and hands the recording back.
 */

/** Output requests are answered once written: a disk or an RTMP peer may stall for a moment. */
const OUTPUT_TIMEOUT_MS = 30_000;

const status = new StatusBoard();
const ticket = new URLSearchParams(location.hash.slice(1)).get('ticket');
// The ticket is spent once used; it need not stay in the address.
history.replaceState(null, '', location.pathname);
if (ticket) {
  const link = new RecorderLink(ticket);
  link.onDisconnect((reason) => status.fail(`Disconnected from the server (${reason})`));
  link.open().then(
    (welcome) => compose(link, welcome),
    (error: unknown) => status.fail(describe(error)),
  );
} else status.fail('No ticket in the page address');

async function compose(link: RecorderLink, welcome: RecorderWelcome): Promise<void> {
  const spec = welcome.output;
  const canvas = document.querySelector('canvas') ?? document.body.appendChild(document.createElement('canvas'));
  canvas.width = spec.width;
  canvas.height = spec.height;
  const scene = new Scene();
  const painter = new Painter(canvas, scene, welcome.layout);
  const mix = new AudioMix(scene);
  let output: OutputRecorder | null = null;
  let ending: Promise<void> | null = null;
  status.follow(() => ({ participants: scene.participants().length, ...painter.stats, chunksSent: output?.chunksSent ?? 0 }));

  /** `outputEnded` once: after the last chunk on `finish`, or at once with the error that ends everything. */
  const end = (error?: string): Promise<void> =>
    (ending ??= (async () => {
      if (error !== undefined) status.fail(error);
      try {
        if (output) await output.finish(error);
        else await link.request('outputEnded', error === undefined ? {} : { error });
        status.set('finished');
      } catch (failure) {
        status.fail(describe(failure));
      }
      painter.stop();
    })());
  const fail = (error: unknown): void => void end(describe(error));

  link.onDisconnect(() => painter.stop());
  link.on('finish', () => void end());
  link.on('restartOutput', () => {
    if (output && !ending) output.start().catch(fail);
  });
  try {
    await new MediaReceiver(link, scene, fail).attach(welcome.routerRtpCapabilities);
    status.set('attached');
    await mix.start();
    // Drawing and mixing run before the recorder starts, so its first video frame and first audio come together.
    const [video] = canvas.captureStream(spec.frameRate).getVideoTracks();
    if (!video) throw new Error('The canvas gives no video track');
    painter.start(spec.frameRate);
    if (ending) return;
    output = new OutputRecorder(new MediaStream([video, mix.track]), spec, (name, payload) => link.request(name, payload, OUTPUT_TIMEOUT_MS), fail);
    await output.start();
    if (!ending) status.set('recording');
  } catch (error) {
    fail(error);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
