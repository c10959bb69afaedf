// Type definitions for mcast (Node.js): reliable IPv6 multicast (NORM, RFC 5740).

import { EventEmitter } from 'node:events';

/** Error codes of mcast errors (`error.code`). */
export type McastErrorCode =
  | 'MCAST_TIMEOUT'
  | 'MCAST_CLOSED'
  | 'MCAST_INVALID_ARGUMENT'
  | 'MCAST_NO_SUCH_INTERFACE'
  | 'MCAST_WOULD_BLOCK'
  | 'MCAST_CACHE_FULL'
  | 'MCAST_ABORTED'
  | 'MCAST_REJECTED'
  | 'MCAST_IO'
  | 'MCAST_INTERNAL';

/** What mcast throws or rejects with. */
export interface McastError extends Error {
  code: McastErrorCode;
  /** For MCAST_IO: the operating system's errno, when there is one. */
  errno?: number;
  /** For MCAST_ABORTED: the object that will never arrive. */
  objectId?: bigint;
  /** For MCAST_ABORTED and MCAST_REJECTED: '[address]:port' of the sender. */
  sender?: string;
  /** For MCAST_REJECTED: the NORM node id of the source whose datagrams are dropped. */
  senderNodeId?: number;
  /**
   * For MCAST_ABORTED: why the object will never arrive. For MCAST_REJECTED:
   * why the source's datagrams are dropped, e.g. 'its datagrams are sealed
   * with a different key' or 'its datagrams are sealed, and this receiver
   * has no key'.
   */
  reason?: string;
}

/**
 * Sealed channels. With a `key` (the same 32 bytes at the sender and every
 * receiver) every datagram is authenticated and object content and info are
 * encrypted (XChaCha20-Poly1305); datagrams without the key are dropped and
 * counted in the stats, and a receiver reports each source it drops once
 * (per reason) with an MCAST_REJECTED error from recv() (or a 'rejected'
 * event). Sealing takes 44 bytes of every data segment: segments carry
 * segmentSize - 44 bytes of content (segmentSize must be at least 60).
 */
export interface SealOptions {
  /**
   * The channel key: exactly 32 bytes, from generateKey() or loadKey().
   * Default: none (an unsealed channel; sealed datagrams are dropped).
   */
  key?: Buffer | Uint8Array;
  /**
   * With a key: datagrams sealed longer ago than this many milliseconds (by
   * this host's clock) are dropped as replays, so the hosts' clocks must
   * agree this well. 0: no age limit (replays of a sender instance already
   * heard are refused all the same). Default 120000.
   */
  sealMaxAgeMs?: number;
}

export interface ContextOptions {
  /** IPv6 hop limit of multicast packets (default 1: the local link). */
  hopLimit?: number;
  /** Deliver our own multicast to receivers on this host (default true). */
  loopback?: boolean;
  recvBuffer?: number;
  sendBuffer?: number;
}

export interface GroupOptions {
  /** IPv6 multicast address, e.g. 'ff3e::4d43'. */
  group: string;
  port: number;
  /** Network interface name, e.g. 'eth0' (default: mcast's choice, see `mcast interfaces`). */
  interface?: string;
}

export interface SenderOptions extends GroupOptions, SealOptions {
  /** Payload bytes per data segment (default 1400). */
  segmentSize?: number;
  /** Data segments per FEC block (default 64). */
  blockSize?: number;
  /** Parity segments per block available for repair (default 16). */
  parity?: number;
  /** Parity segments sent proactively with every block (default 0). */
  autoParity?: number;
  /**
   * Transmission rate in bits per second (default 100e6): the most the
   * sender sends under congestion control, the rate itself without.
   */
  rateBps?: number;
  /**
   * NORM-CC congestion control (default true): the rate follows the slowest
   * receiver's TCP-friendly rate between rateMinBps and rateBps. false: a
   * fixed rate (needed when every receiver is silent).
   */
  congestionControl?: boolean;
  /** The lowest rate congestion control goes down to (default 64e3). */
  rateMinBps?: number;
  /**
   * Flow control: keep every object in the transmit cache until these
   * receivers (their nodeId) acknowledged it, so the slowest of them sets
   * the pace. Default: receivers that fall silent are left behind.
   */
  waitForAcks?: number[];
  cacheMaxObjects?: number;
  cacheMaxBytes?: number;
  /** Seconds. */
  grttInitial?: number;
  /** Seconds. */
  grttMax?: number;
  backoffFactor?: number;
  groupSize?: number;
  robustFactor?: number;
  streamBufferBlocks?: number;
}

export interface ReceiverOptions extends GroupOptions, SealOptions {
  /** Objects to ask for from a sender heard mid-session (default 'all'). */
  syncPolicy?: 'all' | 'current';
  syncWindow?: number;
  maxObjectSize?: number;
  maxBufferPerSender?: number;
  maxBufferTotal?: number;
  maxSenders?: number;
  /** Seconds of silence after which a sender is dropped (default 60). */
  inactivityTimeout?: number;
  /** Send NACKs unicast to the sender instead of to the group. */
  unicastNacks?: boolean;
  /** Never send anything (rely on proactive parity). */
  silent?: boolean;
  /** Source-specific multicast (RFC 4607): accept only these senders' IPv6 addresses. */
  sources?: string[];
  /** This receiver's NORM node id, for senders' flushAcked (default: random). */
  nodeId?: number;
  /**
   * A directory: each FILE object is written to a file there as it arrives
   * (memory holds only incomplete blocks, whatever the size) and its message
   * gives the file's path instead of data. Default: files arrive in memory.
   */
  fileDir?: string;
}

/** A received object (or a piece of a stream). */
export interface Message {
  data: Buffer;
  /** NORM_INFO: for files, the name the sender gave them. */
  info: Buffer;
  /** '[address]:port' of the sender. */
  sender: string;
  senderNodeId: number;
  /** Increasing per sender; what the sender's send() resolved to. */
  objectId: bigint;
  kind: 'data' | 'file' | 'stream';
  /** For streams: these bytes end an application message (always true otherwise). */
  messageEnd: boolean;
  /** For streams: bytes lost for good just before this piece (0 otherwise). */
  lostBefore: number;
  /** For streams: the sender closed the stream. */
  streamEnd: boolean;
  /**
   * For a FILE object received with fileDir: the file holding it (data is
   * then empty). The file is yours: rename it (info is usually its name) or
   * delete it.
   */
  path?: string;
}

export interface SenderStats {
  datagramsSent: number;
  bytesSent: number;
  datagramsReceived: number;
  bytesReceived: number;
  nacksReceived: number;
  dataSegmentsSent: number;
  repairSegmentsSent: number;
  paritySegmentsSent: number;
  infoSent: number;
  flushesSent: number;
  probesSent: number;
  squelchesSent: number;
  objectsEnqueued: number;
  objectsSent: number;
  objectsPurged: number;
  objectsAborted: number;
  malformedReceived: number;
  /** Sealed channels: feedback that failed authentication (forged, altered, another key). */
  datagramsUnauthenticated: number;
  /** Sealed channels: feedback seen before or older than sealMaxAgeMs. */
  datagramsReplayed: number;
  /** Unsealed feedback on a sealed channel, or sealed feedback at a sender without a key. */
  datagramsSealMismatch: number;
  grttUs: number;
  /** Current transmission rate in bits per second. */
  txRateBps: number;
  /** Congestion control feedback messages received. */
  ccFeedbackReceived: number;
  /** Node id of the current limiting receiver (0: none). */
  ccClr: number;
}

export interface ReceiverStats {
  datagramsReceived: number;
  bytesReceived: number;
  datagramsSent: number;
  bytesSent: number;
  nacksSent: number;
  nacksSuppressed: number;
  acksSent: number;
  dataSegmentsReceived: number;
  repairSegmentsReceived: number;
  paritySegmentsReceived: number;
  fecRecoveredSegments: number;
  duplicates: number;
  objectsCompleted: number;
  objectsAborted: number;
  malformedReceived: number;
  /** Sealed channels: datagrams that failed authentication (forged, altered, another key). */
  datagramsUnauthenticated: number;
  /** Sealed channels: datagrams seen before, from an older instance of their sender, or older than sealMaxAgeMs. */
  datagramsReplayed: number;
  /** Unsealed datagrams on a sealed channel, or sealed ones at a receiver without a key. */
  datagramsSealMismatch: number;
  senders: number;
}

/** Owns one mcast engine (a thread); make senders and receivers from it. */
export class Context {
  constructor(options?: ContextOptions);
  sender(options: SenderOptions): Sender;
  receiver(options: ReceiverOptions): Receiver;
  /** Closes every sender and receiver of this context and stops its engine. */
  close(): void;
}

/** Sends objects to one group, in order. */
export class Sender {
  private constructor();
  /** Queues one DATA object; resolves to its id once queued (waits while the transmit cache is full). */
  send(data: Buffer | Uint8Array | string, options?: { info?: Buffer | Uint8Array | string }): Promise<bigint>;
  /** Queues a file as one FILE object named by its base name. */
  sendFile(path: string): Promise<bigint>;
  /** Resolves once everything queued was sent and a flush round is over. */
  flush(options?: { timeout?: number }): Promise<void>;
  /** Asks these receivers (node ids) to confirm everything sent so far. */
  flushAcked(nodes: number[], options?: { timeout?: number }): Promise<{ acked: number[]; missing: number[] }>;
  stats(): SenderStats;
  readonly nodeId: number;
  close(): void;
}

/** Receives what is sent to one group, in order per sender. */
export class Receiver extends EventEmitter implements AsyncIterable<Message> {
  private constructor();
  /**
   * The next message; rejects with code MCAST_TIMEOUT after `timeout` ms,
   * MCAST_ABORTED for an object that will never arrive, MCAST_REJECTED for a
   * source whose datagrams are dropped (sealed channels: once per source and
   * reason; later messages from other sources still come), MCAST_CLOSED once
   * closed.
   */
  recv(options?: { timeout?: number }): Promise<Message>;
  /** Ends when the receiver closes; throws what recv() rejects with otherwise. */
  [Symbol.asyncIterator](): AsyncIterator<Message>;
  stats(): ReceiverStats;
  readonly nodeId: number;
  /** Stops receiving; pending recv() calls reject with MCAST_CLOSED. */
  close(): void;

  on(event: 'message', listener: (msg: Message) => void): this;
  on(event: 'aborted', listener: (err: McastError) => void): this;
  /** A source's datagrams are dropped (code MCAST_REJECTED); messages keep coming. */
  on(event: 'rejected', listener: (err: McastError) => void): this;
  on(event: 'error', listener: (err: McastError) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'message', listener: (msg: Message) => void): this;
  once(event: 'aborted', listener: (err: McastError) => void): this;
  once(event: 'rejected', listener: (err: McastError) => void): this;
  once(event: 'error', listener: (err: McastError) => void): this;
  once(event: 'close', listener: () => void): this;
}

/** The multicast address and port of a named channel (the same in every language). */
export function channelAddress(
  name: string,
  options?: { scope?: 'link' | 'site' | 'org' | 'global'; ssm?: boolean },
): { group: string; port: number };

/** A new random 32-byte channel key (from the operating system's generator), for the `key` option. */
export function generateKey(): Buffer;

/**
 * Reads a key file: 64 hexadecimal digits (what `mcast keygen` writes;
 * surrounding whitespace is ignored) or exactly 32 raw bytes. Throws
 * MCAST_IO when the file cannot be read, MCAST_INVALID_ARGUMENT when it
 * holds no key.
 */
export function loadKey(path: string): Buffer;
