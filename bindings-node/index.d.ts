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

/**
 * What mcast throws or rejects with. Arguments are checked: a wrong type, a
 * number out of range (whole-number options are never rounded or wrapped),
 * an unknown option or a path with a NUL byte is MCAST_INVALID_ARGUMENT,
 * thrown by functions and rejected by methods that return a Promise (those
 * never throw). An option set to undefined counts as not given. Calls on a
 * closed sender, receiver or context are MCAST_CLOSED.
 */
export interface McastError extends Error {
  code: McastErrorCode;
  /** For MCAST_IO: the operating system's errno, when there is one. */
  errno?: number;
  /** For MCAST_ABORTED: the object that will never arrive. */
  objectId?: bigint;
  /** For MCAST_ABORTED and MCAST_REJECTED: '[address]:port' of the sender. */
  sender?: string;
  /** For MCAST_REJECTED: the NORM node id of the source that is refused. */
  senderNodeId?: number;
  /**
   * For MCAST_ABORTED: why the object will never arrive (at a receiver with
   * trustedSigners, 'refused: ...' for an object that is not signed by a
   * trusted key, or not as signed). For MCAST_REJECTED: why the source is
   * refused, e.g. 'its datagrams are sealed with a different key', 'its
   * datagrams are sealed, and this receiver has no key', or (trustedSigners)
   * 'its objects are not signed, ...', 'its objects are signed by a key this
   * receiver does not trust', 'its object signatures do not verify (forged
   * or altered)'.
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
  /** IPv6 hop limit of multicast packets, 0..255 (default 1: the local link). */
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
  /**
   * The NORM node id to send as: an integer in 1..4294967294 (0 and
   * 0xffffffff are reserved). Default: a random one. A sender that restarts
   * with the same id is recognised by receivers as a restart (they abort
   * what they had unfinished of it and keep what they completed).
   */
  nodeId?: number;
  /**
   * Signed objects (Ed25519 sender authentication): sign every DATA and FILE
   * object with this secret key, exactly 32 bytes from generateSigningKey()
   * or loadSigningKey(), so that receivers trusting its public key
   * (`trustedSigners`) can tell this sender's objects from anyone else's,
   * channel key holders included. Each object is signed once (its identity,
   * info and a digest of its content); the signature travels at the end of
   * its info, so the info given to send() may be at most segmentSize - 128
   * bytes (segmentSize - 172 with a channel key). Default: objects are not
   * signed.
   */
  signingKey?: Buffer | Uint8Array;
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
  /** This receiver's NORM node id (1..4294967294), for senders' flushAcked and waitForAcks (default: random). */
  nodeId?: number;
  /**
   * A directory: each FILE object is written to a file there as it arrives
   * (memory holds only incomplete blocks, whatever the size) and its message
   * gives the file's path instead of data. Default: files arrive in memory.
   */
  fileDir?: string;
  /**
   * Deliver only objects signed by one of these Ed25519 public keys (each
   * exactly 32 bytes, from generateSigningKey(), signingPublicKey() or
   * loadPublicKey()). Unsigned objects, objects signed by other keys, bad
   * signatures, content that differs from what was signed, and unsigned
   * streams are refused: each such object is reported with
   * MCAST_ABORTED (an 'aborted' event), and its sender with MCAST_REJECTED
   * (a 'rejected' event) once per reason. Default (empty or absent): objects
   * are accepted whether signed or not.
   */
  trustedSigners?: Array<Buffer | Uint8Array>;
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
  /**
   * At a receiver with trustedSigners: the 32-byte public key (one of them)
   * that signed this object, checked with its content. null at other
   * receivers (even for signed objects).
   */
  signer: Buffer | null;
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
  /** NACKs overheard from other receivers of the same senders. */
  nacksReceived: number;
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
  /**
   * With trustedSigners: objects refused (unsigned, signed by another key,
   * bad signature, content or size not as signed, streams).
   */
  objectsUnverified: number;
  /**
   * With trustedSigners: object infos whose signature was refused (each
   * refuses its object, or is ignored as a forgery when its sender already
   * proved itself with a good signature).
   */
  signaturesRefused: number;
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
  /** The interface the group was joined on (named, or chosen when none was). */
  readonly interface: string;
  close(): void;
}

/** Receives what is sent to one group, in order per sender. */
export class Receiver extends EventEmitter implements AsyncIterable<Message> {
  private constructor();
  /**
   * The next message; rejects with code MCAST_TIMEOUT after `timeout` ms,
   * MCAST_ABORTED for an object that will never arrive, MCAST_REJECTED for a
   * source that is refused (sealed channels, trustedSigners: once per source
   * and reason; later messages from other sources still come), MCAST_CLOSED
   * once closed.
   */
  recv(options?: { timeout?: number }): Promise<Message>;
  /** Ends when the receiver closes; throws what recv() rejects with otherwise. */
  [Symbol.asyncIterator](): AsyncIterator<Message>;
  stats(): ReceiverStats;
  readonly nodeId: number;
  /** The interface the group was joined on (named, or chosen when none was). */
  readonly interface: string;
  /** Stops receiving; pending recv() calls reject with MCAST_CLOSED. */
  close(): void;

  on(event: 'message', listener: (msg: Message) => void): this;
  on(event: 'aborted', listener: (err: McastError) => void): this;
  /** A source is refused (code MCAST_REJECTED): sealed channels, trustedSigners; messages keep coming. */
  on(event: 'rejected', listener: (err: McastError) => void): this;
  on(event: 'error', listener: (err: McastError) => void): this;
  on(event: 'close', listener: () => void): this;
  /** Any other event, with EventEmitter's own signature ('newListener', 'removeListener', symbols, ...). */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'message', listener: (msg: Message) => void): this;
  once(event: 'aborted', listener: (err: McastError) => void): this;
  once(event: 'rejected', listener: (err: McastError) => void): this;
  once(event: 'error', listener: (err: McastError) => void): this;
  once(event: 'close', listener: () => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
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

/** An Ed25519 key pair for signed objects (see SenderOptions.signingKey and ReceiverOptions.trustedSigners). */
export interface SigningKeyPair {
  /** The secret key (32 bytes), for a sender's `signingKey`. Keep it secret. */
  secretKey: Buffer;
  /** Its public key (32 bytes), for receivers' `trustedSigners`. */
  publicKey: Buffer;
}

/** A new random Ed25519 signing key and its public key (from the operating system's generator). */
export function generateSigningKey(): SigningKeyPair;

/**
 * The 32-byte public key of a 32-byte signing key (secret key). Throws
 * MCAST_INVALID_ARGUMENT for any other length.
 */
export function signingPublicKey(secretKey: Buffer | Uint8Array): Buffer;

/**
 * Reads a signing key file: 64 hexadecimal digits (what `mcast keygen --sign`
 * writes; surrounding whitespace is ignored) or exactly 32 raw bytes.
 * Returns the secret key, for `signingKey`. Throws MCAST_IO when the file
 * cannot be read, MCAST_INVALID_ARGUMENT when it holds no key.
 */
export function loadSigningKey(path: string): Buffer;

/**
 * Reads a public key file: 64 hexadecimal digits (what `mcast keygen --sign`
 * writes to FILE.pub; surrounding whitespace is ignored) or exactly 32 raw
 * bytes. Returns the public key, for `trustedSigners`. Throws MCAST_IO when
 * the file cannot be read, MCAST_INVALID_ARGUMENT when it holds no key or
 * bytes that are no Ed25519 public key.
 */
export function loadPublicKey(path: string): Buffer;
