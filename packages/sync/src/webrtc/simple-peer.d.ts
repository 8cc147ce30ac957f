/**
 * Types for the part of simple-peer 9 (`simple-peer/simplepeer.min.js`, the prebuilt browser bundle with its own
 * Buffer/stream shims) that `@hearth/sync/webrtc` uses. simple-peer ships no types; `@types/simple-peer` is not a
 * dependency. See https://github.com/feross/simple-peer#api.
 */
declare module 'simple-peer/simplepeer.min.js' {
  /** An offer, answer or ICE candidate, as simple-peer emits it in `signal` events (JSON-serialisable). */
  export interface SimplePeerSignalData {
    type?: 'offer' | 'answer' | 'pranswer' | 'rollback' | 'candidate' | 'renegotiate' | 'transceiverRequest';
    sdp?: string;
    candidate?: unknown;
    renegotiate?: boolean;
    transceiverRequest?: unknown;
  }

  /** Options of the constructor (the subset Hearth passes). */
  export interface SimplePeerOptions {
    initiator?: boolean;
    channelName?: string;
    channelConfig?: RTCDataChannelInit;
    config?: RTCConfiguration;
    trickle?: boolean;
    iceCompleteTimeout?: number;
    allowHalfTrickle?: boolean;
    objectMode?: boolean;
    wrtc?: unknown;
  }

  /** One WebRTC peer connection with one data channel. */
  export default class SimplePeer {
    constructor(options?: SimplePeerOptions);
    readonly connected: boolean;
    readonly destroyed: boolean;
    /** The data channel's `bufferedAmount` (0 before it exists). */
    readonly bufferSize: number;
    /** Internal: the RTCDataChannel (present once negotiated). */
    readonly _channel: RTCDataChannel | null;
    /** Internal: the RTCPeerConnection. */
    readonly _pc: RTCPeerConnection | null;
    signal(data: SimplePeerSignalData | string): void;
    send(data: Uint8Array | ArrayBuffer | string): void;
    destroy(error?: Error): void;
    on(event: 'signal', listener: (data: SimplePeerSignalData) => void): this;
    on(event: 'connect' | 'close', listener: () => void): this;
    on(event: 'data', listener: (data: Uint8Array) => void): this;
    on(event: 'error', listener: (error: Error & { code?: string }) => void): this;
    on(event: 'iceStateChange', listener: (iceConnectionState: string, iceGatheringState: string) => void): this;
    removeListener(event: string, listener: (...args: never[]) => void): this;
    static readonly WEBRTC_SUPPORT: boolean;
  }
}
