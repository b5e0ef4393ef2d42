import { CHECK_PATH, hrefKeeping } from '../check/route.js';
import { getCameraTrack, listDevices, MediaAccessError, mediaAvailable, type DeviceChoice } from '../conference/media.js';
import type { DeviceSource } from '../conference/types.js';
import { computed, language, localize, msg, type Msg } from '../i18n/i18n.js';
import { h } from './dom.js';
import { deviceName, insecureContextText, mediaErrorText } from './explain.js';
import { languagePicker } from './LanguagePicker.js';
import { validateJoin } from './validation.js';

export interface PrejoinDefaults {
  room: string;
  name: string;
  error?: Msg;
}

const STORAGE = { name: 'conclave.name', camera: 'conclave.cameraId', mic: 'conclave.micId' } as const;

export function savedDevice(kind: DeviceSource): string | undefined {
  return localStorage.getItem(STORAGE[kind]) ?? undefined;
}

/**
 * The screen before a call: room, name, camera preview, device pickers and the language. Submitting
 * navigates to the same URL a shared link uses (?room=…&name=…), so both paths join the same way.
 */
export class PrejoinView {
  readonly element: HTMLElement;
  private preview: MediaStreamTrack | null = null;
  private readonly video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'preview-video' });
  private readonly cameraSelect = h('select', { name: 'camera', 'aria-label': msg('prejoin.camera') });
  private readonly micSelect = h('select', { name: 'mic', 'aria-label': msg('prejoin.microphone') });
  private readonly message = h('p', { class: 'form-error', role: 'alert' });

  constructor(defaults: PrejoinDefaults) {
    const roomInput = h('input', {
      name: 'room',
      required: true,
      maxlength: '64',
      autocomplete: 'off',
      placeholder: msg('prejoin.roomPlaceholder'),
      value: defaults.room,
    });
    const nameInput = h('input', {
      name: 'name',
      required: true,
      maxlength: '40',
      autocomplete: 'name',
      placeholder: msg('prejoin.namePlaceholder'),
      value: defaults.name || localStorage.getItem(STORAGE.name) || '',
    });
    const camToggle = h('input', { type: 'checkbox', name: 'cam', checked: true });
    const micToggle = h('input', { type: 'checkbox', name: 'mic', checked: true });
    const form = h(
      'form',
      { class: 'prejoin-form', novalidate: true },
      h('h1', {}, 'Conclave'),
      h('label', {}, msg('prejoin.room'), roomInput),
      h('label', {}, msg('prejoin.name'), nameInput),
      h('label', {}, msg('prejoin.camera'), this.cameraSelect),
      h('label', {}, msg('prejoin.microphone'), this.micSelect),
      h('div', { class: 'toggles' }, h('label', {}, camToggle, ' ', msg('prejoin.cameraOn')), h('label', {}, micToggle, ' ', msg('prejoin.microphoneOn'))),
      this.message,
      h('button', { type: 'submit', class: 'primary' }, msg('prejoin.join')),
      languagePicker(),
      h('a', { href: computed(() => hrefKeeping(CHECK_PATH)), class: 'check-link' }, msg('check.link')),
    );
    this.element = h('div', { class: 'prejoin' }, h('div', { class: 'preview' }, this.video), form);
    if (defaults.error) this.showError(defaults.error);

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const checked = validateJoin(roomInput.value.trim(), nameInput.value);
      if ('problem' in checked) return this.showError(checked.problem);
      localStorage.setItem(STORAGE.name, checked.name);
      if (this.cameraSelect.value) localStorage.setItem(STORAGE.camera, this.cameraSelect.value);
      if (this.micSelect.value) localStorage.setItem(STORAGE.mic, this.micSelect.value);
      const params = new URLSearchParams({ room: checked.room, name: checked.name });
      // A ?lang= in the URL would outrank the language picked here: carry the picked one instead.
      if (new URLSearchParams(location.search).has('lang')) params.set('lang', language());
      if (!camToggle.checked) params.set('cam', '0');
      if (!micToggle.checked) params.set('mic', '0');
      this.stopPreview();
      location.search = params.toString();
    });
    this.cameraSelect.addEventListener('change', () => void this.startPreview(this.cameraSelect.value));
    camToggle.addEventListener('change', () => (camToggle.checked ? void this.startPreview(this.cameraSelect.value) : this.stopPreview()));
    void this.startPreview(savedDevice('camera'));
  }

  private showError(message: Msg): void {
    localize(this.message, 'text', message);
  }

  private async startPreview(deviceId: string | undefined): Promise<void> {
    this.stopPreview();
    if (!mediaAvailable()) {
      this.showError(insecureContextText());
      return;
    }
    try {
      this.preview = await getCameraTrack(deviceId || undefined);
      this.video.srcObject = new MediaStream([this.preview]);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.showError(error instanceof MediaAccessError ? mediaErrorText(error) : computed(() => text));
    }
    const { cameras, microphones } = await listDevices();
    fill(this.cameraSelect, cameras, 'camera', this.preview?.getSettings().deviceId ?? savedDevice('camera'));
    fill(this.micSelect, microphones, 'mic', savedDevice('mic'));
  }

  private stopPreview(): void {
    this.preview?.stop();
    this.preview = null;
    this.video.srcObject = null;
  }
}

function fill(select: HTMLSelectElement, choices: DeviceChoice[], kind: DeviceSource, current: string | undefined): void {
  select.replaceChildren(...choices.map((choice) => h('option', { value: choice.deviceId, selected: choice.deviceId === current }, deviceName(choice, kind))));
  select.disabled = choices.length === 0;
}
