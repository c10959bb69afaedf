'use strict';
// mcast for Node.js: reliable IPv6 multicast (NORM, RFC 5740).
//
// The native module (mcast.node, built from Rust by `npm install`) does the
// work on its own threads; this file gives it the documented API: options
// objects, Promises, an EventEmitter and async iteration on receivers, and
// errors with a stable `code`.

const { EventEmitter } = require('node:events');
const path = require('node:path');

function loadNative() {
  const file = path.join(__dirname, 'mcast.node');
  if (!require('node:fs').existsSync(file)) {
    // npm did not run the install script (scripts disabled or not allowed):
    // build now, once, from source.
    require('node:child_process').execFileSync(process.execPath, [path.join(__dirname, 'scripts', 'build.js')], { stdio: 'inherit' });
  }
  try {
    return require(file);
  } catch (e) {
    throw new Error(`mcast: the native module is missing or broken (${e.message}); run \`npm run build\` in ${__dirname}`);
  }
}
const native = loadNative();

const CODES = new Set([
  'MCAST_TIMEOUT',
  'MCAST_CLOSED',
  'MCAST_INVALID_ARGUMENT',
  'MCAST_NO_SUCH_INTERFACE',
  'MCAST_WOULD_BLOCK',
  'MCAST_CACHE_FULL',
  'MCAST_ABORTED',
  'MCAST_REJECTED',
  'MCAST_IO',
  'MCAST_INTERNAL',
]);

/**
 * Moves the code the native side puts at the start of a message to `code`.
 * `native`: the error came from the native module, where anything without a
 * code (a caught panic, a failed conversion) is MCAST_INTERNAL.
 */
function fixError(e, native = false) {
  if (e instanceof Error) {
    const m = /^(MCAST_[A-Z_]+): ([\s\S]*)$/.exec(e.message);
    if (m && CODES.has(m[1])) {
      e.code = m[1];
      e.message = m[2];
      const errno = / \[errno (\d+)\]$/.exec(e.message);
      if (errno) {
        e.errno = Number(errno[1]);
        e.message = e.message.slice(0, errno.index);
      }
      if (m[1] === 'MCAST_ABORTED') {
        const a = /^object (\d+) from (\S+) aborted: ([\s\S]*)$/.exec(e.message);
        if (a) {
          e.objectId = BigInt(a[1]);
          e.sender = a[2];
          e.reason = a[3];
        }
      }
      if (m[1] === 'MCAST_REJECTED') {
        const r = /^refusing (\S+) \(node (0x[0-9a-f]+)\): ([\s\S]*)$/.exec(e.message);
        if (r) {
          e.sender = r[1];
          e.senderNodeId = Number(r[2]);
          e.reason = r[3];
        }
      }
    } else if (native && !CODES.has(e.code)) {
      e.code = 'MCAST_INTERNAL';
    }
  }
  return e;
}

/** `v` for an error message (a template literal throws for a symbol, String() for an object without a prototype). */
function show(v) {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function invalid(message) {
  const e = new TypeError(message);
  e.code = 'MCAST_INVALID_ARGUMENT';
  return e;
}

/** Calls into the native module. */
function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw fixError(e, true);
  }
}

/** Awaits a promise of the native module. */
async function settle(promise) {
  try {
    return await promise;
  } catch (e) {
    throw fixError(e, true);
  }
}

/**
 * The promise of `fn()` (which calls into the native module): a method that
 * returns a promise reports every error, bad arguments included, by
 * rejecting it, never by throwing.
 */
function promised(fn) {
  try {
    return settle(call(fn));
  } catch (e) {
    return Promise.reject(fixError(e, true));
  }
}

/** Throws unless `options` (of `what`) is undefined, null or an object with only the keys `allowed`. */
function checkCallOptions(what, options, allowed) {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object') throw invalid(`${what} options must be an object`);
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw invalid(`unknown ${what} option ${JSON.stringify(k)}`);
  }
}

/** Throws unless `file` is a path: a non-empty string without NUL bytes. */
function checkPath(file, what) {
  if (typeof file !== 'string' || file === '') throw invalid(`${what} path must be a string`);
  if (file.includes('\0')) throw invalid(`${what} path must not contain NUL bytes`);
}

const SENDER_OPTIONS = new Set([
  'group', 'port', 'interface', 'segmentSize', 'blockSize', 'parity', 'autoParity', 'rateBps',
  'congestionControl', 'rateMinBps', 'waitForAcks', 'cacheMaxObjects', 'cacheMaxBytes', 'grttInitial', 'grttMax', 'backoffFactor', 'groupSize',
  'robustFactor', 'streamBufferBlocks', 'key', 'sealMaxAgeMs', 'nodeId', 'signingKey',
]);
const RECEIVER_OPTIONS = new Set([
  'group', 'port', 'interface', 'syncPolicy', 'syncWindow', 'maxObjectSize', 'maxBufferPerSender',
  'maxBufferTotal', 'maxSenders', 'inactivityTimeout', 'unicastNacks', 'silent', 'sources', 'nodeId', 'fileDir', 'key',
  'sealMaxAgeMs', 'trustedSigners',
]);
const CONTEXT_OPTIONS = new Set(['hopLimit', 'loopback', 'recvBuffer', 'sendBuffer']);

/**
 * Whole-number options and their largest values (what the native side
 * holds: never wrapped or rounded into range; mcast checks its own limits,
 * e.g. segmentSize 16..8192, after these).
 */
const U8 = 255;
const U16 = 65535;
const U32 = 4294967295;
const U53 = 2 ** 53;
const INTEGER_OPTIONS = new Map([
  ['hopLimit', U8], ['recvBuffer', U53], ['sendBuffer', U53],
  ['segmentSize', U16], ['blockSize', U16], ['parity', U16], ['autoParity', U16], ['rateBps', U53], ['rateMinBps', U53],
  ['cacheMaxObjects', U53], ['cacheMaxBytes', U53], ['backoffFactor', U8], ['groupSize', U32], ['robustFactor', U32],
  ['streamBufferBlocks', U53],
  ['syncWindow', U16], ['maxObjectSize', U53], ['maxBufferPerSender', U53], ['maxBufferTotal', U53], ['maxSenders', U53],
]);

function checkOptions(what, options, allowed, required) {
  if (options === null || typeof options !== 'object') {
    throw invalid(`${what} options must be an object`);
  }
  // An option set to undefined is an option not given (as the typings have it).
  options = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  for (const k of Object.keys(options)) {
    if (!allowed.has(k)) throw invalid(`unknown ${what} option ${JSON.stringify(k)}`);
  }
  for (const k of required) {
    if (options[k] === undefined) throw invalid(`${what} option ${k} is required`);
  }
  if (required.length) {
    if (typeof options.group !== 'string') throw invalid(`${what} option group must be a string`);
    if (options.interface !== undefined && typeof options.interface !== 'string') throw invalid(`${what} option interface must be a string`);
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw invalid(`${what} option port must be an integer in 0..65535, not ${show(options.port)}`);
    }
  }
  for (const [k, v] of Object.entries(options)) {
    if (k === 'key') {
      if (!(v instanceof Uint8Array)) throw invalid(`${what} option key must be a Buffer or Uint8Array of 32 bytes (see generateKey() and loadKey())`);
      if (v.byteLength !== 32) throw invalid(`${what} option key must be exactly 32 bytes, not ${v.byteLength}`);
      continue;
    }
    if (k === 'signingKey') {
      if (!(v instanceof Uint8Array)) throw invalid(`${what} option signingKey must be a Buffer or Uint8Array of 32 bytes (see generateSigningKey() and loadSigningKey())`);
      if (v.byteLength !== 32) throw invalid(`${what} option signingKey must be exactly 32 bytes, not ${v.byteLength}`);
      continue;
    }
    if (k === 'trustedSigners') {
      if (!Array.isArray(v)) throw invalid(`${what} option trustedSigners must be an array of 32-byte public keys (Buffers or Uint8Arrays)`);
      v.forEach((p, i) => {
        if (!(p instanceof Uint8Array)) throw invalid(`${what} option trustedSigners[${i}] must be a Buffer or Uint8Array of 32 bytes (see generateSigningKey() and loadPublicKey())`);
        if (p.byteLength !== 32) throw invalid(`${what} option trustedSigners[${i}] must be exactly 32 bytes, not ${p.byteLength}`);
      });
      continue;
    }
    if (k === 'nodeId') {
      if (!Number.isInteger(v) || v < 1 || v > 0xfffffffe) {
        throw invalid(`${what} option nodeId must be an integer in 1..4294967294 (0 and 0xffffffff are reserved), not ${show(v)}`);
      }
      continue;
    }
    if (k === 'fileDir') {
      if (typeof v !== 'string' || v === '') throw invalid(`${what} option fileDir must be a directory path`);
      if (v.includes('\0')) throw invalid(`${what} option fileDir must not contain NUL bytes`);
      continue;
    }
    if (['group', 'interface', 'syncPolicy'].includes(k)) continue;
    if (k === 'sources') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(`${what} option sources must be an array of addresses`);
      continue;
    }
    if (k === 'waitForAcks') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw invalid(`${what} option waitForAcks must be an array of node ids`);
      continue;
    }
    if (['loopback', 'unicastNacks', 'silent', 'congestionControl'].includes(k)) {
      if (typeof v !== 'boolean') throw invalid(`${what} option ${k} must be a boolean`);
    } else if (INTEGER_OPTIONS.has(k)) {
      const max = INTEGER_OPTIONS.get(k);
      if (!Number.isInteger(v) || v < 0 || v > max) {
        throw invalid(`${what} option ${k} must be an integer in 0..${max === U53 ? '2**53' : max}, not ${show(v)}`);
      }
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw invalid(`${what} option ${k} must be a number >= 0, not ${show(v)}`);
    }
  }
  return options;
}

/** Whether the memory of `view` is gone (its ArrayBuffer was transferred). */
function detached(view) {
  try {
    new Uint8Array(view.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

function toBuffer(data, what) {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) {
    if (detached(data)) throw invalid(`${what} is a Uint8Array whose ArrayBuffer was detached (transferred)`);
    return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  throw invalid(`${what} must be a Buffer, Uint8Array or string`);
}

/** options.timeout of `what` (flush, recv, ...), checked; undefined: none. */
function timeoutOf(options, what) {
  checkCallOptions(what, options, ['timeout']);
  if (options === undefined || options === null) return undefined;
  const t = options.timeout;
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw invalid(`timeout must be a number of milliseconds >= 0, not ${show(t)}`);
  return t;
}

/** A Uint8Array as a Buffer over the same memory (a Buffer as itself). */
function asBuffer(b) {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The options as the native side takes them: keys as Buffers. */
function nativeOptions(options) {
  const o = { ...options };
  if (o.key !== undefined) o.key = asBuffer(o.key);
  if (o.signingKey !== undefined) o.signingKey = asBuffer(o.signingKey);
  if (o.trustedSigners !== undefined) o.trustedSigners = o.trustedSigners.map(asBuffer);
  return o;
}

/** What Context hands the Sender and Receiver constructors (applications make neither). */
const MADE_BY_CONTEXT = Symbol('mcast handle');

/** Sends objects to one group. */
class Sender {
  #native;
  constructor(token, n) {
    if (token !== MADE_BY_CONTEXT) throw invalid('Sender objects are made by Context.sender()');
    this.#native = n;
  }

  /** Queues one DATA object; resolves to its id (a bigint) once queued. */
  send(data, options) {
    return promised(() => {
      const buf = toBuffer(data, 'data');
      checkCallOptions('send', options, ['info']);
      let info;
      if (options !== undefined && options !== null && options.info !== undefined && options.info !== null) info = toBuffer(options.info, 'info');
      return this.#native.send(buf, info);
    });
  }

  /** Queues a file as one FILE object named by its base name. */
  sendFile(file) {
    return promised(() => {
      if (typeof file !== 'string') throw invalid('path must be a string');
      if (file.includes('\0')) throw invalid('path must not contain NUL bytes');
      return this.#native.sendFile(path.resolve(file));
    });
  }

  /** Resolves once everything queued was sent and a flush round is over. */
  flush(options) {
    return promised(() => this.#native.flush(timeoutOf(options, 'flush')));
  }

  /**
   * Asks the receivers with these node ids to confirm everything sent so far;
   * resolves to { acked, missing } (after options.timeout ms at most, default 30000).
   */
  flushAcked(nodes, options) {
    return promised(() => {
      if (!Array.isArray(nodes) || !nodes.every((n) => Number.isInteger(n) && n > 0 && n < 0xffffffff)) {
        throw invalid('nodes must be an array of node ids (integers 1..4294967294)');
      }
      const t = timeoutOf(options, 'flushAcked') ?? 30000;
      return this.#native.flushAcked(nodes, t);
    });
  }

  stats() {
    return call(() => this.#native.stats());
  }

  get nodeId() {
    return call(() => this.#native.nodeId);
  }

  /** The interface the group was joined on (named, or chosen when none was). */
  get interface() {
    return call(() => this.#native.interface);
  }

  /** Stops the sender (NORM_CMD(EOT)); await flush() first. */
  close() {
    this.#native.close();
  }
}

/**
 * Receives what is sent to one group. Use `await recv()`, `for await (const
 * msg of receiver)`, or `receiver.on('message', fn)` (one of them at a time).
 * Events: 'message' (msg), 'aborted' (error with code MCAST_ABORTED),
 * 'rejected' (error with code MCAST_REJECTED: a source is refused, on sealed
 * channels or by a receiver with trustedSigners), 'error', 'close'.
 */
class Receiver extends EventEmitter {
  #native;
  #pumping = false;
  #closed = false;
  constructor(token, n) {
    if (token !== MADE_BY_CONTEXT) throw invalid('Receiver objects are made by Context.receiver()');
    super();
    this.#native = n;
    this.on('newListener', (event) => {
      if (event === 'message' && !this.#pumping) {
        // Start delivering on the next tick, once the listener is attached.
        process.nextTick(() => this.#pump());
      }
    });
  }

  /** The next message; rejects with code MCAST_TIMEOUT after options.timeout ms. */
  recv(options) {
    return promised(() => this.#native.recv(timeoutOf(options, 'recv')));
  }

  async *[Symbol.asyncIterator]() {
    while (true) {
      try {
        yield await this.recv();
      } catch (e) {
        if (e && e.code === 'MCAST_CLOSED') return;
        throw e;
      }
    }
  }

  async #pump() {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.listenerCount('message') > 0 && !this.#closed) {
        let msg;
        try {
          msg = await this.recv();
        } catch (e) {
          if (e && e.code === 'MCAST_CLOSED') break;
          if (e && e.code === 'MCAST_ABORTED') {
            this.emit('aborted', e);
            continue;
          }
          if (e && e.code === 'MCAST_REJECTED') {
            this.emit('rejected', e);
            continue;
          }
          if (this.listenerCount('error') > 0) this.emit('error', e);
          break;
        }
        this.emit('message', msg);
      }
    } finally {
      this.#pumping = false;
    }
  }

  stats() {
    return call(() => this.#native.stats());
  }

  get nodeId() {
    return call(() => this.#native.nodeId);
  }

  /** The interface the group was joined on (named, or chosen when none was). */
  get interface() {
    return call(() => this.#native.interface);
  }

  /** Stops receiving; pending recv() calls reject with MCAST_CLOSED. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
    this.emit('close');
  }
}

/** Owns one mcast engine (a thread); make senders and receivers from it. */
class Context {
  #native;
  #handles = new Set();
  constructor(options) {
    const o = checkOptions('context', options === undefined ? {} : options, CONTEXT_OPTIONS, []);
    this.#native = call(() => new native.NativeContext(o));
  }

  /** A sender on { group, port, interface, ...config }. */
  sender(options) {
    const o = checkOptions('sender', options, SENDER_OPTIONS, ['group', 'port']);
    const s = new Sender(MADE_BY_CONTEXT, call(() => this.#native.sender(nativeOptions(o))));
    this.#handles.add(s);
    return s;
  }

  /** A receiver on { group, port, interface, ...config }. */
  receiver(options) {
    const o = checkOptions('receiver', options, RECEIVER_OPTIONS, ['group', 'port']);
    if (o.syncPolicy !== undefined && !['all', 'current'].includes(o.syncPolicy)) {
      throw invalid(`receiver option syncPolicy must be 'all' or 'current', not ${show(o.syncPolicy)}`);
    }
    const r = new Receiver(MADE_BY_CONTEXT, call(() => this.#native.receiver(nativeOptions(o))));
    this.#handles.add(r);
    return r;
  }

  /** Closes every sender and receiver of this context and stops its engine. */
  close() {
    for (const h of this.#handles) h.close();
    this.#handles.clear();
    this.#native.close();
  }
}

/**
 * The multicast address and port of a named channel: the same in every
 * language (docs/PROTOCOL.md, "Channels").
 */
function channelAddress(name, options) {
  if (typeof name !== 'string') throw invalid('channel name must be a string');
  const o = options ?? {};
  if (typeof o !== 'object') throw invalid('options must be an object');
  for (const k of Object.keys(o)) {
    if (k !== 'scope' && k !== 'ssm') throw invalid(`unknown channel option ${JSON.stringify(k)}`);
  }
  if (o.scope !== undefined && typeof o.scope !== 'string') throw invalid('scope must be a string');
  if (o.ssm !== undefined && typeof o.ssm !== 'boolean') throw invalid('ssm must be a boolean');
  return call(() => native.channelAddress(name, o.scope, o.ssm));
}

/** A new random 32-byte channel key (a Buffer) for the `key` option. */
function generateKey() {
  return call(() => native.generateKey());
}

/**
 * Reads a key file: 64 hexadecimal digits (what `mcast keygen` writes) or
 * exactly 32 raw bytes. Returns the key as a 32-byte Buffer.
 */
function loadKey(file) {
  checkPath(file, 'key file');
  return call(() => native.loadKey(path.resolve(file)));
}

/**
 * A new random Ed25519 signing key: { secretKey, publicKey }, 32-byte
 * Buffers. The secret key is the sender's `signingKey`; the public key goes
 * into receivers' `trustedSigners`.
 */
function generateSigningKey() {
  return call(() => native.generateSigningKey());
}

/** The 32-byte public key of a 32-byte signing key (secret). */
function signingPublicKey(secret) {
  if (!(secret instanceof Uint8Array)) throw invalid('signing key must be a Buffer or Uint8Array of 32 bytes');
  if (secret.byteLength !== 32) throw invalid(`signing key must be exactly 32 bytes, not ${secret.byteLength}`);
  return call(() => native.signingPublicKey(asBuffer(secret)));
}

/**
 * Reads a signing key file: 64 hexadecimal digits (what `mcast keygen --sign`
 * writes) or exactly 32 raw bytes. Returns the secret key as a 32-byte Buffer.
 */
function loadSigningKey(file) {
  checkPath(file, 'signing key file');
  return call(() => native.loadSigningKey(path.resolve(file)));
}

/**
 * Reads a public key file: 64 hexadecimal digits (what `mcast keygen --sign`
 * writes to FILE.pub) or exactly 32 raw bytes. Returns the public key as a
 * 32-byte Buffer; throws MCAST_INVALID_ARGUMENT for bytes that are no
 * Ed25519 public key.
 */
function loadPublicKey(file) {
  checkPath(file, 'public key file');
  return call(() => native.loadPublicKey(path.resolve(file)));
}

module.exports = {
  Context,
  Sender,
  Receiver,
  channelAddress,
  generateKey,
  loadKey,
  generateSigningKey,
  signingPublicKey,
  loadSigningKey,
  loadPublicKey,
};
