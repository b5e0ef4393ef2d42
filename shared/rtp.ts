import type { types as client } from 'mediasoup-client';
import { z } from 'zod';

/**
 * Structural schemas for the WebRTC parameters a client sends. They bound sizes and shapes at the
 * edge; mediasoup validates the semantics (codec matching, ssrc rules) and its TypeErrors become
 * BAD_REQUEST answers.
 */

const Token = z.string().max(256);
/** Codec parameters are flat key/value pairs; typed loosely so both libraries' types fit. */
const Params: z.ZodType<Record<string, unknown>> = z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]));
const MediaKind = z.enum(['audio', 'video']);

/** Header extensions mediasoup's router understands. */
export const MEDIASOUP_HEADER_EXTENSIONS = [
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:3gpp:video-orientation',
  'urn:ietf:params:rtp-hdrext:toffset',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
] as const;
export type MediasoupHeaderExtensionUri = (typeof MEDIASOUP_HEADER_EXTENSIONS)[number];
/** mediasoup-client also knows its own packet-id extension; it is accepted and dropped by the server. */
const HeaderExtensionUri = z.enum([...MEDIASOUP_HEADER_EXTENSIONS, 'urn:mediasoup:params:rtp-hdrext:packet-id']);

export function isMediasoupHeaderExtension<T extends { uri: string }>(extension: T): extension is T & { uri: MediasoupHeaderExtensionUri } {
  return (MEDIASOUP_HEADER_EXTENSIONS as readonly string[]).includes(extension.uri);
}

/**
 * Header extensions mediasoup-client negotiates: mediasoup's own, except the transmission offset
 * (toffset) that mediasoup-client 3.24 no longer knows. What the server hands a client is cut to these.
 */
const CLIENT_HEADER_EXTENSIONS = MEDIASOUP_HEADER_EXTENSIONS.filter(
  (uri): uri is Exclude<MediasoupHeaderExtensionUri, 'urn:ietf:params:rtp-hdrext:toffset'> => uri !== 'urn:ietf:params:rtp-hdrext:toffset',
) satisfies readonly client.RtpHeaderExtensionUri[];

export function isClientHeaderExtension<T extends { uri: string }>(extension: T): extension is T & { uri: client.RtpHeaderExtensionUri } {
  return (CLIENT_HEADER_EXTENSIONS as readonly string[]).includes(extension.uri);
}

const RtcpFeedback = z.object({ type: Token, parameter: Token.optional() });

export const RtpCodecCapabilitySchema = z.object({
  kind: MediaKind,
  mimeType: Token,
  preferredPayloadType: z.number().int().min(0).max(127),
  clockRate: z.number().int().positive(),
  channels: z.number().int().min(1).max(8).optional(),
  parameters: Params.optional(),
  rtcpFeedback: z.array(RtcpFeedback).max(32).optional(),
});

export const RtpCapabilitiesSchema = z.object({
  codecs: z.array(RtpCodecCapabilitySchema).max(64).optional(),
  headerExtensions: z
    .array(
      z.object({
        kind: MediaKind,
        uri: HeaderExtensionUri,
        preferredId: z.number().int().min(1).max(255),
        preferredEncrypt: z.boolean().optional(),
        direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional(),
      }),
    )
    .max(64)
    .optional(),
});

export const RtpParametersSchema = z.object({
  mid: Token.optional(),
  codecs: z
    .array(
      z.object({
        mimeType: Token,
        payloadType: z.number().int().min(0).max(127),
        clockRate: z.number().int().positive(),
        channels: z.number().int().min(1).max(8).optional(),
        parameters: Params.optional(),
        rtcpFeedback: z.array(RtcpFeedback).max(32).optional(),
      }),
    )
    .min(1)
    .max(16),
  headerExtensions: z
    .array(
      z.object({
        uri: HeaderExtensionUri,
        id: z.number().int().min(1).max(255),
        encrypt: z.boolean().optional(),
        parameters: Params.optional(),
      }),
    )
    .max(32)
    .optional(),
  encodings: z
    .array(
      z.object({
        ssrc: z.number().int().nonnegative().optional(),
        rid: Token.optional(),
        codecPayloadType: z.number().int().min(0).max(127).optional(),
        rtx: z.object({ ssrc: z.number().int().nonnegative() }).optional(),
        dtx: z.boolean().optional(),
        scalabilityMode: Token.optional(),
        maxBitrate: z.number().positive().optional(),
        scaleResolutionDownBy: z.number().min(1).optional(),
        active: z.boolean().optional(),
      }),
    )
    .max(8)
    .optional(),
  rtcp: z.object({ cname: Token.optional(), reducedSize: z.boolean().optional() }).optional(),
});

export const DtlsParametersSchema = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(
      z.object({
        algorithm: z.enum(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']),
        value: z.string().max(256),
      }),
    )
    .min(1)
    .max(8),
});
