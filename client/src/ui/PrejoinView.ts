import { DisplayName, firstIssue, RoomId } from '../../../shared/identity.js';
import { getCameraTrack, insecureContextMessage, listDevices, type DeviceChoice } from '../conference/media.js';
import type { DeviceSource } from '../conference/types.js';
import { h } from './dom.js';

export interface PrejoinDefaults {
  room: string;
  name: string;
  error?: string;
}

const STORAGE = { name: 'conclave.name', camera: 'conclave.cameraId', mic: 'conclave.micId' } as const;

export function savedDevice(kind: DeviceSource): string | undefined {
  return localStorage.getItem(STORAGE[kind]) ?? undefined;
}

/**
 * The screen before a call: room, name, camera preview and device pickers. Submitting navigates
 * to the same URL a shared link uses (?room=…&name=…), so both paths join the same way.
 */
export class PrejoinView {
  readonly element: HTMLElement;
  private preview: MediaStreamTrack | null = null;
  private readonly video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'preview-video' });
  private readonly cameraSelect = h('select', { name: 'camera', 'aria-label': 'Camera' });
  private readonly micSelect = h('select', { name: 'mic', 'aria-label': 'Microphone' });
  private readonly message = h('p', { class: 'form-error', role: 'alert' });

  constructor(defaults: PrejoinDefaults) {
    const roomInput = h('input', { name: 'room', required: true, maxlength: '64', autocomplete: 'off', placeholder: 'design-review', value: defaults.room });
    const nameInput = h('input', {
      name: 'name',
      required: true,
      maxlength: '40',
      autocomplete: 'name',
      placeholder: 'Your name',
      value: defaults.name || localStorage.getItem(STORAGE.name) || '',
    });
    const camToggle = h('input', { type: 'checkbox', name: 'cam', checked: true });
    const micToggle = h('input', { type: 'checkbox', name: 'mic', checked: true });
    const form = h(
      'form',
      { class: 'prejoin-form', novalidate: true },
      h('h1', {}, 'Conclave'),
      h('label', {}, 'Room', roomInput),
      h('label', {}, 'Your name', nameInput),
      h('label', {}, 'Camera', this.cameraSelect),
      h('label', {}, 'Microphone', this.micSelect),
      h('div', { class: 'toggles' }, h('label', {}, camToggle, ' Camera on'), h('label', {}, micToggle, ' Microphone on')),
      this.message,
      h('button', { type: 'submit', class: 'primary' }, 'Join'),
    );
    this.element = h('div', { class: 'prejoin' }, h('div', { class: 'preview' }, this.video), form);
    if (defaults.error) this.message.textContent = defaults.error;

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const room = RoomId.safeParse(roomInput.value.trim());
      const name = DisplayName.safeParse(nameInput.value);
      if (!room.success) return this.showError(firstIssue(room.error));
      if (!name.success) return this.showError(firstIssue(name.error));
      localStorage.setItem(STORAGE.name, name.data);
      if (this.cameraSelect.value) localStorage.setItem(STORAGE.camera, this.cameraSelect.value);
      if (this.micSelect.value) localStorage.setItem(STORAGE.mic, this.micSelect.value);
      const params = new URLSearchParams({ room: room.data, name: name.data });
      if (!camToggle.checked) params.set('cam', '0');
      if (!micToggle.checked) params.set('mic', '0');
      this.stopPreview();
      location.search = params.toString();
    });
    this.cameraSelect.addEventListener('change', () => void this.startPreview(this.cameraSelect.value));
    camToggle.addEventListener('change', () => (camToggle.checked ? void this.startPreview(this.cameraSelect.value) : this.stopPreview()));
    void this.startPreview(savedDevice('camera'));
  }

  private showError(message: string): void {
    this.message.textContent = message;
  }

  private async startPreview(deviceId: string | undefined): Promise<void> {
    this.stopPreview();
    if (!window.isSecureContext || !navigator.mediaDevices) {
      this.showError(insecureContextMessage());
      return;
    }
    try {
      this.preview = await getCameraTrack(deviceId || undefined);
      this.video.srcObject = new MediaStream([this.preview]);
    } catch (error) {
      this.showError(error instanceof Error ? error.message : String(error));
    }
    const { cameras, microphones } = await listDevices();
    fill(this.cameraSelect, cameras, this.preview?.getSettings().deviceId ?? savedDevice('camera'));
    fill(this.micSelect, microphones, savedDevice('mic'));
  }

  private stopPreview(): void {
    this.preview?.stop();
    this.preview = null;
    this.video.srcObject = null;
  }
}

function fill(select: HTMLSelectElement, choices: DeviceChoice[], current: string | undefined): void {
  select.replaceChildren(...choices.map((choice) => h('option', { value: choice.deviceId, selected: choice.deviceId === current }, choice.label)));
  select.disabled = choices.length === 0;
}
