export interface ConferenceOptions {
  /** Signalling server; defaults to the page's origin. */
  serverUrl?: string;
  roomId: string;
  displayName: string;
  /** Publish the microphone / camera on join (each can fail on its own without stopping the join). */
  mic: boolean;
  cam: boolean;
  micDeviceId?: string;
  cameraDeviceId?: string;
  /** Force media through TURN (iceTransportPolicy 'relay'). */
  relayOnly?: boolean;
  /** Join token, when the server requires one. */
  token?: string;
  /** Creating the room: everyone after us waits in its lobby until a host or moderator lets them in. */
  lobby?: boolean;
  /**
   * Ask the server for only what the view shows (layers sized to each tile, hidden tiles paused);
   * default on. Off receives every video at full quality, for comparison.
   */
  adaptiveVideo?: boolean;
}
