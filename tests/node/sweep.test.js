'use strict';
// A systematic invalid-argument sweep of the whole Node API, table-driven:
// every exported function, every Context / Sender / Receiver method and
// every option of new Context(), ctx.sender() and ctx.receiver() gets wrong
// types, values just past each limit (and just inside it), unknown options,
// closed handles and closed contexts. Each case checks that
//   - the error is a real Error with one of the codes index.d.ts documents
//     (McastErrorCode), the expected one, and a message naming what is wrong;
//   - methods that return a Promise reject (never throw), the others throw;
//   - values at the limits are accepted;
// and the file as a whole that the process survives (a Rust panic that
// aborts kills this file; one caught and passed on would show as
// MCAST_INTERNAL, never an expected code): see also the child-process
// test at the end, which looks for "panicked" on stderr.
// Runs in the private namespace of tests/node/run.sh (veth va <-> vb).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const mcast = require('mcast');
const { Context, channelAddress, generateKey, loadKey, generateSigningKey, signingPublicKey, loadSigningKey, loadPublicKey } = mcast;

const GROUP = 'ff3e::4d43:63';
const PORT = 7800; // option sweeps: nothing is sent there
let nextPort = 7801;

/** The codes index.d.ts documents (type McastErrorCode). */
const CODES = (() => {
  const dts = fs.readFileSync(path.join(path.dirname(require.resolve('mcast')), 'index.d.ts'), 'utf8');
  const union = /export type McastErrorCode =([^;]*);/.exec(dts);
  assert.ok(union, 'index.d.ts declares McastErrorCode');
  const codes = new Set([...union[1].matchAll(/'(MCAST_[A-Z_]+)'/g)].map((m) => m[1]));
  assert.ok(codes.has('MCAST_INVALID_ARGUMENT') && codes.has('MCAST_CLOSED'));
  return codes;
})();

/** Accepted (resolves / returns). */
const OK = Symbol('accepted');
/**
 * Accepted, or refused by mcast's own checks (MCAST_INVALID_ARGUMENT with a
 * message matching `message`): for values at limits mcast (core/) may draw
 * itself; what matters here is that the binding passes them on unchanged.
 */
const okOr = (message) => ({ code: 'MCAST_INVALID_ARGUMENT', message, orAccepted: true });
/** Refused with `code` and a message matching `message`. */
const bad = (message, code = 'MCAST_INVALID_ARGUMENT') => ({ code, message });
/** A message that names option `name` (as a word). */
const names = (name) => new RegExp(`\\b${name.replace(/[[\]]/g, '\\$&')}\\b`);

/** A short readable label for a value. */
function label(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 24 ? `${v.slice(0, 20)}...(${v.length})` : v);
  if (typeof v === 'number') {
    if (Object.is(v, -0)) return '-0';
    for (const p of [53, 32]) {
      const d = v - 2 ** p;
      if (Number.isInteger(v) && Math.abs(d) < 2 ** 20) return `2**${p}${d > 0 ? '+' : ''}${d || ''}`;
    }
    return String(v);
  }
  if (typeof v === 'boolean' || typeof v === 'symbol' || typeof v === 'function' || v === null || v === undefined) return String(v);
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length ?? v.byteLength})`;
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength})`;
  if (Array.isArray(v)) return v.length > 4 ? `[${v.length} items]` : `[${v.map(label).join(', ')}]`;
  if (v instanceof URL) return `URL(${v.href})`;
  if (Object.getPrototypeOf(v) === null) return 'Object.create(null)';
  return `{${Object.entries(v).map(([k, x]) => `${k}: ${label(x)}`).join(', ')}}`;
}

/** A Uint8Array of `n` bytes whose ArrayBuffer was transferred away (detached). */
function detachedView(n) {
  const u = new Uint8Array(n);
  structuredClone(u.buffer, { transfer: [u.buffer] });
  return u;
}

/** Closes what a case made (a Context, Sender or Receiver). */
function dispose(v) {
  if (v instanceof Context || v instanceof mcast.Sender || v instanceof mcast.Receiver) v.close();
}

function checkError(e, expect) {
  assert.ok(e instanceof Error, `not an Error object: ${String(e)}`);
  assert.ok(CODES.has(e.code), `code ${String(e.code)} is not one index.d.ts documents (message: ${e.message})`);
  assert.equal(e.code, expect.code, `code ${e.code}, message: ${e.message}`);
  assert.equal(typeof e.message, 'string');
  assert.doesNotMatch(e.message, /panic|GenericFailure|Failed to convert|^MCAST_/, 'a raw native error');
  assert.match(e.message, expect.message);
}

/**
 * Runs one case: `kind` 'sync' (throws or returns), 'async' (returns a
 * Promise, which rejects or resolves; never throws).
 */
async function runCase(kind, fn, expect) {
  let value;
  let error;
  let threw = false;
  try {
    value = fn();
  } catch (e) {
    threw = true;
    error = e;
  }
  if (kind === 'async') {
    assert.ok(!threw, `threw synchronously instead of rejecting: ${error && error.code} ${error && error.message}`);
    assert.ok(value instanceof Promise, 'does not return a Promise');
    try {
      value = await value;
    } catch (e) {
      threw = true;
      error = e;
    }
  } else {
    assert.ok(!(value instanceof Promise), 'returned a Promise instead of throwing / returning');
  }
  if (expect === OK || (expect.orAccepted && !threw)) {
    assert.ok(!threw, `refused: ${error && error.code} ${error && error.message}`);
    dispose(value);
    return value;
  }
  assert.ok(threw, `accepted (${label(value)}) instead of refused with ${expect.code}`);
  checkError(error, expect);
  return undefined;
}

let total = 0;
/** One test per API entry, one subtest per case: [label, fn, expect]. */
function sweep(title, kind, cases) {
  total += cases.length;
  test(title, async (t) => {
    for (const [what, fn, expect] of cases) {
      const outcome = expect === OK ? 'accepted' : `${expect.orAccepted ? 'accepted or ' : ''}${expect.code}`;
      await t.test(`${what} -> ${outcome}`, () => runCase(kind, fn, expect));
    }
  });
}

// Shared handles, made once (before()) and closed at the end (after()).
const env = {};
before(() => {
  env.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcast-node-sweep-'));
  env.file = path.join(env.dir, 'file.bin');
  fs.writeFileSync(env.file, 'a file');
  env.signing = generateSigningKey();
  env.ctx = new Context();
  const on = (port, extra = {}) => ({ group: GROUP, port, interface: 'va', rateBps: 200e6, ...extra });
  env.tx = env.ctx.sender(on(nextPort++));
  env.idleTx = env.ctx.sender(on(nextPort++));
  env.sealedTx = env.ctx.sender(on(nextPort++, { key: generateKey() }));
  env.signingTx = env.ctx.sender(on(nextPort++, { signingKey: env.signing.secretKey }));
  env.bothTx = env.ctx.sender(on(nextPort++, { key: generateKey(), signingKey: env.signing.secretKey }));
  env.quietRx = env.ctx.receiver({ group: GROUP, port: nextPort++, interface: 'vb' });
  env.closedTx = env.ctx.sender(on(nextPort++));
  env.closedTx.close();
  env.closedRx = env.ctx.receiver({ group: GROUP, port: nextPort++, interface: 'vb' });
  env.closedRx.close();
  env.deadCtx = new Context();
  env.deadTx = env.deadCtx.sender(on(nextPort++));
  env.deadRx = env.deadCtx.receiver({ group: GROUP, port: nextPort++, interface: 'vb' });
  env.deadCtx.close();
});
after(() => {
  env.ctx.close();
  fs.rmSync(env.dir, { recursive: true, force: true });
});

/** 32 bytes that are no point of the curve. */
const NOT_A_POINT = Buffer.alloc(32, 0x02);

// Values of the wrong type for each kind of option.
const NOT_NUMBERS = ['1', '', true, false, null, {}, Object.create(null), [], [1], 1n, Symbol('x'), () => 1, NaN, Infinity, -Infinity, -1, -0.5, -(2 ** 53)];
const NOT_BOOLEANS = [1, 0, 'true', '', null, {}, [], 1n];
const NOT_STRINGS = [5, true, null, {}, [], 5n, Buffer.from('x'), Symbol('x')];
const NOT_OBJECTS = [null, 5, 'x', true, 5n, Symbol('x'), () => ({})];
const NOT_BYTES = ['0'.repeat(64), 'x'.repeat(32), Array(32).fill(1), 5, 32n, true, null, {}, new Uint16Array(16), new Uint8ClampedArray(32), new Int8Array(32), new ArrayBuffer(32), new DataView(new ArrayBuffer(32))];
const NOT_TIMEOUTS = [-1, -0.001, NaN, Infinity, -Infinity, '10', '', 10n, true, {}, Object.create(null), [], [10], Symbol('x')];

/** Cases for option `k` given with `base` options to `make`. */
function optionCases(make, base, k, list) {
  return list.map(([v, expect, extra = {}]) => [`${label({ ...extra, [k]: v })}`, () => make({ ...base, ...extra, [k]: v }), expect]);
}
const wrongTypes = (values, k) => values.map((v) => [v, bad(names(k))]);

/** Whole-number options: wrong types, fractions, past the binding's range (no wrapping) and accepted values. */
function integerOption(k, max, accepted, extra = []) {
  const big = max === 2 ** 53;
  return [
    ...wrongTypes(NOT_NUMBERS, k),
    [1.5, bad(names(k))],
    // Just past the range (2**53 + 1 is no JavaScript number: 2**53 + 2).
    [big ? max + 2 : max + 1, bad(names(k))],
    // 2**32 more than an accepted value must not wrap around to it (the
    // largest options are whole numbers up to 2**53: nothing wraps there).
    ...(big ? [] : [[2 ** 32 + accepted[accepted.length - 1], bad(names(k))]]),
    [undefined, OK],
    ...accepted.map((v) => [v, OK]),
    ...extra,
  ];
}
/** Options in (fractional) units >= 0. */
function realOption(k, accepted) {
  return [...wrongTypes(NOT_NUMBERS, k), [undefined, OK], ...accepted.map((v) => [v, OK])];
}
function booleanOption(k) {
  return [...wrongTypes(NOT_BOOLEANS, k), [true, OK], [false, OK], [undefined, OK]];
}
/** key and signingKey. */
function keyOption(k) {
  return [
    ...NOT_BYTES.map((v) => [v, bad(new RegExp(`${k} must be a Buffer or Uint8Array`))]),
    [Buffer.alloc(31), bad(new RegExp(`${k} must be exactly 32 bytes, not 31`))],
    [new Uint8Array(33), bad(new RegExp(`${k} must be exactly 32 bytes, not 33`))],
    [Buffer.alloc(0), bad(new RegExp(`${k} must be exactly 32 bytes, not 0`))],
    [detachedView(32), bad(new RegExp(`${k} must be exactly 32 bytes, not 0`))],
    [new Uint8Array(64).subarray(1, 33), OK],
    [undefined, OK],
  ];
}
const NODE_IDS = [
  ...[0, 0xffffffff, 2 ** 32, 2 ** 32 + 1234, 2 ** 53, -1, 1.5, NaN, Infinity, 1n, '1', true, null, {}, []].map((v) => [v, bad(/nodeId must be an integer in 1\.\.4294967294/)]),
  [1, OK],
  [0xfffffffe, OK],
  [undefined, OK],
];

// Where the group, port and interface options of senders and receivers are
// swept (they are checked alike).
function whereCases(what, make, iface) {
  const base = { group: GROUP, port: PORT, interface: iface };
  const without = (k) => Object.fromEntries(Object.entries(base).filter(([x]) => x !== k));
  return [
    ...[undefined, ...NOT_OBJECTS].map((o) => [`options ${label(o)}`, () => make(o), bad(new RegExp(`${what} options must be an object`))]),
    ['options {}', () => make({}), bad(/group is required/)],
    ['options []', () => make([]), bad(/group is required/)],
    ['no group', () => make(without('group')), bad(/group is required/)],
    ['no port', () => make(without('port')), bad(/port is required/)],
    ['no interface (mcast picks one)', () => make(without('interface')), OK],
    ...optionCases(make, base, 'group', [
      ...wrongTypes(NOT_STRINGS, 'group'),
      ['', bad(/"" is not an IPv6 address/)],
      ['nonsense', bad(/"nonsense" is not an IPv6 address/)],
      ['ff3e::1%va', bad(/is not an IPv6 address/)],
      ['ff3e::1\0', bad(/is not an IPv6 address/)],
      ['239.1.1.1', bad(/is not an IPv6 address/)],
      ['2001:db8::1', bad(/2001:db8::1 is not an IPv6 multicast address/)],
      ['::', bad(/is not an IPv6 multicast address/)],
      ['fe80::1', bad(/is not an IPv6 multicast address/)],
      [`[${GROUP}]`, OK],
      ['ff02::4d43', OK],
    ]),
    ...optionCases(make, base, 'port', [
      ...wrongTypes(['5000', true, null, {}, Object.create(null), [], 5000n, Symbol('x'), NaN, Infinity, -Infinity, -1, 1.5, 65536, 2 ** 32 + PORT], 'port'),
      [0, bad(/port 0 cannot be joined/)],
      [1, OK],
      [65535, OK],
    ]),
    ...optionCases(make, base, 'interface', [
      ...wrongTypes(NOT_STRINGS, 'interface'),
      ['', bad(/no interface given/)],
      ['nope0', bad(/nope0/, 'MCAST_NO_SUCH_INTERFACE')],
      ['a/b', bad(/"a\/b" is not a valid interface name/)],
      ['v a', bad(/is not a valid interface name/)],
      ['v\0a', bad(/is not a valid interface name/)],
      ['x'.repeat(16), bad(/is not a valid interface name/)],
      [undefined, OK],
    ]),
  ];
}

// ---------------------------------------------------------------- Context

sweep('new Context(options)', 'sync', [
  ...NOT_OBJECTS.map((o) => [`options ${label(o)}`, () => new Context(o), bad(/context options must be an object/)]),
  ['options undefined', () => new Context(undefined), OK],
  ['options {}', () => new Context({}), OK],
  ...['hoplimit', 'group', 'key', 'recvBufferSize'].map((k) => [`unknown option ${k}`, () => new Context({ [k]: 1 }), bad(new RegExp(`unknown context option "${k}"`))]),
  ...optionCases((o) => new Context(o), {}, 'hopLimit', integerOption('hopLimit', 255, [0, 1, 255], [[256, bad(/hopLimit must be an integer in 0\.\.255/)]])),
  ...optionCases((o) => new Context(o), {}, 'loopback', booleanOption('loopback')),
  ...optionCases((o) => new Context(o), {}, 'recvBuffer', integerOption('recvBuffer', 2 ** 53, [0, 4096, 2 ** 32, 2 ** 53])),
  ...optionCases((o) => new Context(o), {}, 'sendBuffer', integerOption('sendBuffer', 2 ** 53, [0, 4096, 2 ** 32, 2 ** 53])),
]);

// ---------------------------------------------------------------- ctx.sender

const sender = (o) => env.ctx.sender(o);
const SENDER = { group: GROUP, port: PORT, interface: 'va' };
const senderOption = (k, list) => optionCases(sender, SENDER, k, list);

sweep('ctx.sender: options, group, port, interface', 'sync', [
  ...whereCases('sender', sender, 'va'),
  ...['rate', 'trustedSigners', 'sources', 'syncWindow', 'fileDir', 'silent', 'hopLimit', 'segmentsize', 'constructor'].map((k) => [
    `unknown option ${k}`,
    () => sender({ ...SENDER, [k]: 1 }),
    bad(new RegExp(`unknown sender option "${k}"`)),
  ]),
]);

sweep('ctx.sender: FEC and segment options (segmentSize, blockSize, parity, autoParity)', 'sync', [
  ...senderOption('segmentSize', integerOption('segmentSize', 65535, [16, 1400, 8192], [
    [0, bad(/segment size 0 is out of range \(16\.\.=8192/)],
    [15, bad(/segment size 15 is out of range \(16\.\.=8192/)],
    [8193, bad(/segment size 8193 is out of range/)],
    [65535, bad(/segment size 65535 is out of range/)],
    // Sealing takes 44 bytes, a signature 128 of an object's info.
    [59, bad(/segment size 59 is out of range \(60\.\.=8192 bytes with a key\)/), { key: generateKey() }],
    [60, OK, { key: generateKey() }],
    [143, bad(/segment size 143 is too small to sign objects/), { signingKey: generateKey() }],
    [144, OK, { signingKey: generateKey() }],
    [187, bad(/segment size 187 is too small to sign objects .*with a key/), { key: generateKey(), signingKey: generateKey() }],
    [188, OK, { key: generateKey(), signingKey: generateKey() }],
  ])),
  ...senderOption('blockSize', integerOption('blockSize', 65535, [1, 64, 239], [
    [0, bad(/block size 0 with 16 parity segments is out of range/)],
    [240, bad(/block size 240 with 16 parity segments is out of range \(block >= 1, block \+ parity <= 255\)/)],
    [255, OK, { parity: 0 }],
    [256, bad(/block size 256 with 0 parity segments is out of range/), { parity: 0 }],
    [65535, bad(/block size 65535/)],
  ])),
  ...senderOption('parity', integerOption('parity', 65535, [0, 16, 191], [
    [192, bad(/block size 64 with 192 parity segments is out of range/)],
    [254, OK, { blockSize: 1 }],
    [255, bad(/block size 1 with 255 parity segments/), { blockSize: 1 }],
  ])),
  ...senderOption('autoParity', integerOption('autoParity', 65535, [0, 1, 16], [
    [17, bad(/auto parity 17 exceeds the parity count 16/)],
    [1, bad(/auto parity 1 exceeds the parity count 0/), { parity: 0 }],
    [254, OK, { blockSize: 1, parity: 254 }],
  ])),
]);

sweep('ctx.sender: rate options (rateBps, rateMinBps, congestionControl)', 'sync', [
  ...senderOption('rateBps', integerOption('rateBps', 2 ** 53, [64000, 100e6, 2 ** 53], [
    [0, bad(/rate 0 bit\/s is too low \(at least 1000\)/)],
    [999, bad(/rate 999 bit\/s is too low/)],
    [1000, OK, { congestionControl: false }],
    [1000, OK, { rateMinBps: 1000 }],
    // The default minimum (64000) is above it.
    [63999, bad(/minimum rate 64000 bit\/s must be at least 1000 and at most the rate cap 63999/)],
    [1500.5, bad(names('rateBps'))],
  ])),
  ...senderOption('rateMinBps', integerOption('rateMinBps', 2 ** 53, [1000, 64000, 100e6], [
    [0, bad(/minimum rate 0 bit\/s must be at least 1000/)],
    [999, bad(/minimum rate 999 bit\/s must be at least 1000/)],
    [100e6 + 1, bad(/minimum rate 100000001 bit\/s must be at least 1000 and at most the rate cap 100000000/)],
    [2e6, bad(/minimum rate 2000000 .*rate cap 1000000/), { rateBps: 1e6 }],
    // Without congestion control there is no minimum rate to check.
    [0, OK, { congestionControl: false }],
  ])),
  ...senderOption('congestionControl', booleanOption('congestionControl')),
]);

sweep('ctx.sender: cache and flow control options (cacheMaxObjects, cacheMaxBytes, waitForAcks)', 'sync', [
  ...senderOption('cacheMaxObjects', integerOption('cacheMaxObjects', 2 ** 53, [0, 1, 2 ** 32, 2 ** 53])),
  ...senderOption('cacheMaxBytes', integerOption('cacheMaxBytes', 2 ** 53, [0, 1, 2 ** 53])),
  ...senderOption('waitForAcks', [
    ...wrongTypes(['1', 1, {}, null, true, 1n], 'waitForAcks'),
    ...[['1'], [1n], [null], [[1]], [1, 'x']].map((v) => [v, bad(/waitForAcks must be an array of node ids/)]),
    ...[[1.5], [-1], [NaN], [Infinity], [2 ** 53 + 2]].map((v) => [v, bad(/waitForAcks node id must be a whole number/)]),
    [[2 ** 32], bad(/waitForAcks node id 4294967296 is over 2\^32 - 1/)],
    [[0], bad(/node id 0x0 is reserved/)],
    [[7, 0xffffffff], bad(/node id 0xffffffff is reserved/)],
    [[], bad(/flow control that waits for acknowledgements needs at least one node id/)],
    [[1, 0xfffffffe], OK],
    [undefined, OK],
  ]),
]);

sweep('ctx.sender: timing options (grttInitial, grttMax, backoffFactor, groupSize, robustFactor, streamBufferBlocks)', 'sync', [
  // Seconds: fractions are fine; huge values are cut (the traffic test below).
  ...senderOption('grttInitial', realOption('grttInitial', [0, 1e-9, 0.5, 1e9, 1e300])),
  ...senderOption('grttMax', realOption('grttMax', [0, 0.001, 10, 1e300])),
  ...senderOption('backoffFactor', integerOption('backoffFactor', 255, [0, 4, 15], [
    [16, bad(/backoff factor must be at most 15/)],
    [255, bad(/backoff factor must be at most 15/)],
  ])),
  ...senderOption('groupSize', integerOption('groupSize', 2 ** 32 - 1, [0, 1, 2 ** 32 - 1])),
  ...senderOption('robustFactor', integerOption('robustFactor', 2 ** 32 - 1, [0, 1, 2 ** 32 - 1])),
  ...senderOption('streamBufferBlocks', integerOption('streamBufferBlocks', 2 ** 53, [2, 64, 100000], [
    [0, bad(/stream buffer of 0 blocks is too small \(at least 2\)/)],
    [1, bad(/stream buffer of 1 blocks is too small \(at least 2\)/)],
    // Never wrapped to 1 or 2 (a u32 did that): as large, or refused as too large.
    [2 ** 32 + 1, okOr(/stream buffer of 4294967297 blocks is too large/)],
    [2 ** 32 + 2, okOr(/stream buffer of 4294967298 blocks is too large/)],
    [2 ** 53, okOr(/stream buffer of 9007199254740992 blocks is too large/)],
  ])),
]);

sweep('ctx.sender: security options (key, sealMaxAgeMs, nodeId, signingKey)', 'sync', [
  ...senderOption('key', keyOption('key')),
  ...senderOption('sealMaxAgeMs', realOption('sealMaxAgeMs', [0, 0.001, 120000, 1e300])),
  ...senderOption('nodeId', NODE_IDS),
  ...senderOption('signingKey', keyOption('signingKey')),
]);

// ---------------------------------------------------------------- ctx.receiver

const receiver = (o) => env.ctx.receiver(o);
const RECEIVER = { group: GROUP, port: PORT, interface: 'vb' };
const receiverOption = (k, list) => optionCases(receiver, RECEIVER, k, list);

sweep('ctx.receiver: options, group, port, interface', 'sync', [
  ...whereCases('receiver', receiver, 'vb'),
  ...['signingKey', 'waitForAcks', 'segmentSize', 'rateBps', 'loopback', 'timeout', 'trustedsigners'].map((k) => [
    `unknown option ${k}`,
    () => receiver({ ...RECEIVER, [k]: 1 }),
    bad(new RegExp(`unknown receiver option "${k}"`)),
  ]),
]);

sweep('ctx.receiver: sync and buffer options (syncPolicy, syncWindow, max*)', 'sync', [
  ...receiverOption('syncPolicy', [
    ...[5, null, true, {}, [], 1n, 'ALL', 'Current', '', 'some', 'all '].map((v) => [v, bad(/syncPolicy must be 'all' or 'current'/)]),
    ['all', OK],
    ['current', OK],
    [undefined, OK],
  ]),
  ...receiverOption('syncWindow', integerOption('syncWindow', 65535, [0, 1, 256, 65535])),
  ...receiverOption('maxObjectSize', integerOption('maxObjectSize', 2 ** 53, [0, 1, 2 ** 53])),
  ...receiverOption('maxBufferPerSender', integerOption('maxBufferPerSender', 2 ** 53, [0, 1, 2 ** 53])),
  ...receiverOption('maxBufferTotal', integerOption('maxBufferTotal', 2 ** 53, [0, 1, 2 ** 53])),
  ...receiverOption('maxSenders', integerOption('maxSenders', 2 ** 53, [1, 2 ** 32, 2 ** 53], [[0, okOr(/max_senders 0/)]])),
]);

sweep('ctx.receiver: behaviour options (inactivityTimeout, unicastNacks, silent, sources, nodeId, fileDir)', 'sync', [
  ...receiverOption('inactivityTimeout', [...realOption('inactivityTimeout', [0.001, 0.5, 60, 1e19, 1e300]), [0, okOr(/inactivity timeout of 0/)]]),
  ...receiverOption('unicastNacks', booleanOption('unicastNacks')),
  ...receiverOption('silent', booleanOption('silent')),
  ...receiverOption('sources', [
    ...wrongTypes(['fe80::1', 5, {}, null, true], 'sources'),
    ...[[5], [null], [Buffer.from('fe80::1')], ['fe80::1', 1n]].map((v) => [v, bad(/sources must be an array of addresses/)]),
    [['10.0.0.1'], bad(/sources: "10\.0\.0\.1" is not an IPv6 address/)],
    [['fe80::1', 'nonsense'], bad(/sources: "nonsense" is not an IPv6 address/)],
    [[''], bad(/sources: "" is not an IPv6 address/)],
    [['ff3e::1'], bad(/ff3e::1 cannot be a source \(it must be a unicast address\)/)],
    [['::'], bad(/:: cannot be a source/)],
    [[], OK],
    [['fe80::1', 'fe80::1', '2001:db8::7'], OK],
    [undefined, OK],
  ]),
  ...receiverOption('nodeId', NODE_IDS),
  ...receiverOption('fileDir', [
    ...[5, true, null, {}, [], '', Buffer.from('/tmp'), 1n].map((v) => [v, bad(/fileDir must be a directory path/)]),
    ['/tmp/a\0b', bad(/fileDir must not contain NUL bytes/)],
    ['/nonexistent/mcast-sweep', bad(/\/nonexistent\/mcast-sweep/, 'MCAST_IO')],
    [undefined, OK],
  ]),
  ['fileDir <a regular file>', () => receiver({ ...RECEIVER, fileDir: env.file }), bad(/is not a directory/)],
  ['fileDir <a directory>', () => receiver({ ...RECEIVER, fileDir: env.dir }), OK],
]);

sweep('ctx.receiver: security options (key, sealMaxAgeMs, trustedSigners)', 'sync', [
  ...receiverOption('key', keyOption('key')),
  ...receiverOption('sealMaxAgeMs', realOption('sealMaxAgeMs', [0, 0.001, 120000, 1e300])),
  ...receiverOption('trustedSigners', [
    ...['x', 5, {}, null, true, Buffer.alloc(32), new Uint8Array(32)].map((v) => [v, bad(/trustedSigners must be an array of 32-byte public keys/)]),
    ...NOT_BYTES.map((v) => [[v], bad(/trustedSigners\[0\] must be a Buffer or Uint8Array/)]),
    [[generateSigningKey().publicKey, Buffer.alloc(31)], bad(/trustedSigners\[1\] must be exactly 32 bytes, not 31/)],
    [[detachedView(32)], bad(/trustedSigners\[0\] must be exactly 32 bytes, not 0/)],
    [[NOT_A_POINT], bad(/trustedSigners\[0\] is not a valid Ed25519 public key/)],
    [[], OK],
    [[generateSigningKey().publicKey, new Uint8Array(generateSigningKey().publicKey)], OK],
    [undefined, OK],
  ]),
]);

// ---------------------------------------------------------------- Sender methods

const DATA_NOT_BYTES = [5, undefined, null, {}, [], [1, 2], 5n, true, Symbol('x'), new ArrayBuffer(4), new DataView(new ArrayBuffer(4)), new Uint16Array(2), new Uint8ClampedArray(2), new Float64Array(1)];

sweep('sender.send(data, options)', 'async', [
  ...DATA_NOT_BYTES.map((v) => [`data ${label(v)}`, () => env.tx.send(v), bad(/data must be a Buffer, Uint8Array or string/)]),
  ['data <detached Uint8Array>', () => env.tx.send(detachedView(8)), bad(/data is a Uint8Array whose ArrayBuffer was detached/)],
  ...NOT_OBJECTS.map((o) => [`options ${label(o)}`, () => env.tx.send('x', o), o === null ? OK : bad(/send options must be an object/)]),
  ...['inf', 'timeout', 'Info'].map((k) => [`unknown option ${k}`, () => env.tx.send('x', { [k]: 'y' }), bad(new RegExp(`unknown send option "${k}"`))]),
  ...[7, {}, [], 5n, true, new ArrayBuffer(2), new Uint16Array(2)].map((v) => [`info ${label(v)}`, () => env.tx.send('x', { info: v }), bad(/info must be a Buffer, Uint8Array or string/)]),
  ['info <detached Uint8Array>', () => env.tx.send('x', { info: detachedView(4) }), bad(/info is a Uint8Array whose ArrayBuffer was detached/)],
  // The info fits in a segment: 1400 bytes, less 44 with a key, 128 when signed.
  ['info of 1401 bytes', () => env.tx.send('x', { info: Buffer.alloc(1401) }), bad(/info of 1401 bytes exceeds the segment size 1400/)],
  ['info of 1400 bytes', () => env.tx.send('x', { info: Buffer.alloc(1400) }), OK],
  ['info of 1357 bytes (key)', () => env.sealedTx.send('x', { info: Buffer.alloc(1357) }), bad(/info of 1357 bytes exceeds the segment size 1356/)],
  ['info of 1356 bytes (key)', () => env.sealedTx.send('x', { info: Buffer.alloc(1356) }), OK],
  ['info of 1273 bytes (signingKey)', () => env.signingTx.send('x', { info: 'i'.repeat(1273) }), bad(/info of 1273 bytes exceeds the segment size 1400 less the 128-byte signature/)],
  ['info of 1272 bytes (signingKey)', () => env.signingTx.send('x', { info: 'i'.repeat(1272) }), OK],
  ['info of 1229 bytes (key and signingKey)', () => env.bothTx.send('x', { info: new Uint8Array(1229) }), bad(/info of 1229 bytes exceeds the segment size 1356 less the 128-byte signature/)],
  ['info of 1228 bytes (key and signingKey)', () => env.bothTx.send('x', { info: new Uint8Array(1228) }), OK],
  ['data "" (empty)', () => env.tx.send(''), OK],
  ['data Buffer(0), info undefined', () => env.tx.send(Buffer.alloc(0), { info: undefined }), OK],
  ['data Uint8Array view, info null', () => env.tx.send(new Uint8Array(10).subarray(2, 4), { info: null }), OK],
  ['options {}', () => env.tx.send('x', {}), OK],
]);

sweep('sender.sendFile(path)', 'async', [
  ...[5, undefined, null, {}, [], 5n, true, Buffer.from('/etc/hostname'), new URL('file:///etc/hostname')].map((v) => [
    `path ${label(v)}`,
    () => env.tx.sendFile(v),
    bad(/path must be a string/),
  ]),
  ['path with a NUL byte', () => env.tx.sendFile('/tmp/a\0b'), bad(/path must not contain NUL bytes/)],
  ['path "" (the working directory)', () => env.tx.sendFile(''), bad(/not a regular file/)],
  ['path /dev/null', () => env.tx.sendFile('/dev/null'), bad(/cannot send \/dev\/null: not a regular file/)],
  ['path <a directory>', () => env.tx.sendFile(env.dir), bad(/not a regular file/)],
  ['path <missing>', () => env.tx.sendFile('/nonexistent/mcast-sweep'), bad(/\/nonexistent\/mcast-sweep/, 'MCAST_IO')],
  ['path <a file>', () => env.tx.sendFile(env.file), OK],
]);

/** Cases for options = { timeout } of a method (flush, flushAcked, recv). */
function timeoutCases(what, call) {
  return [
    ...NOT_OBJECTS.map((o) => [`options ${label(o)}`, () => call(o), o === null ? OK : bad(new RegExp(`${what} options must be an object`))]).filter(([, , e]) => e !== OK),
    ...['timout', 'Timeout', 'info'].map((k) => [`unknown option ${k}`, () => call({ [k]: 10 }), bad(new RegExp(`unknown ${what} option "${k}"`))]),
    ...NOT_TIMEOUTS.map((v) => [`timeout ${label(v)}`, () => call({ timeout: v }), bad(/timeout must be a number of milliseconds >= 0/)]),
  ];
}

sweep('sender.flush(options)', 'async', [
  ...timeoutCases('flush', (o) => env.idleTx.flush(o)),
  // An idle sender's flush is over at once.
  ['options undefined', () => env.idleTx.flush(), OK],
  ['options null', () => env.idleTx.flush(null), OK],
  ['timeout null', () => env.idleTx.flush({ timeout: null }), OK],
  ['timeout 1e300 (cut to 1e12)', () => env.idleTx.flush({ timeout: 1e300 }), OK],
]);

sweep('sender.flushAcked(nodes, options)', 'async', [
  ...[undefined, null, 5, '5', {}, 5n, [0], [0xffffffff], [2 ** 32], [-1], [1.5], [NaN], [Infinity], ['5'], [5n], [null], [[5]], [5, 0]].map((v) => [
    `nodes ${label(v)}`,
    () => env.idleTx.flushAcked(v),
    bad(/nodes must be an array of node ids \(integers 1\.\.4294967294\)/),
  ]),
  ...timeoutCases('flushAcked', (o) => env.idleTx.flushAcked([], o)),
  ['nodes [], timeout 1e300 (cut to 1e12)', () => env.idleTx.flushAcked([], { timeout: 1e300 }), OK],
  ['nodes [], options null', () => env.idleTx.flushAcked([], null), OK],
]);

sweep('sender.stats(), sender.nodeId, sender.close()', 'sync', [
  ['stats(5)', () => env.tx.stats(5), OK],
  ['nodeId', () => env.tx.nodeId, OK],
]);

// ---------------------------------------------------------------- Receiver methods

sweep('receiver.recv(options)', 'async', [
  ...timeoutCases('recv', (o) => env.quietRx.recv(o)),
  ['timeout 0', () => env.quietRx.recv({ timeout: 0 }), bad(/timed out/, 'MCAST_TIMEOUT')],
  ['timeout 1', () => env.quietRx.recv({ timeout: 1 }), bad(/timed out/, 'MCAST_TIMEOUT')],
  ['timeout 0.5', () => env.quietRx.recv({ timeout: 0.5 }), bad(/timed out/, 'MCAST_TIMEOUT')],
]);

sweep('receiver.stats(), receiver.nodeId', 'sync', [
  ['stats(5)', () => env.quietRx.stats(5), OK],
  ['nodeId', () => env.quietRx.nodeId, OK],
]);

test('receiver.recv({ timeout: 1e300 }) waits (cut to 1e12 ms) until the receiver closes', async () => {
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port: nextPort++, interface: 'vb' });
  const waiting = rx.recv({ timeout: 1e300 });
  const early = await Promise.race([waiting.then(() => 'resolved', (e) => e.code), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
  assert.equal(early, 'waiting');
  rx.close();
  await assert.rejects(waiting, (e) => e instanceof Error && e.code === 'MCAST_CLOSED');
  ctx.close();
});

// ---------------------------------------------------------------- closed handles and contexts

sweep('calls on a closed sender', 'async', [
  ['send("x")', () => env.closedTx.send('x'), bad(/^closed$/, 'MCAST_CLOSED')],
  ['send(5): arguments are checked first', () => env.closedTx.send(5), bad(/data must be/)],
  ['sendFile(<a file>)', () => env.closedTx.sendFile(env.file), bad(/^closed$/, 'MCAST_CLOSED')],
  ['sendFile(5)', () => env.closedTx.sendFile(5), bad(/path must be a string/)],
  ['flush()', () => env.closedTx.flush(), bad(/^closed$/, 'MCAST_CLOSED')],
  ['flushAcked([1])', () => env.closedTx.flushAcked([1]), bad(/^closed$/, 'MCAST_CLOSED')],
  ['(closed context) send("x")', () => env.deadTx.send('x'), bad(/^closed$/, 'MCAST_CLOSED')],
  ['(closed context) flush({ timeout: 10 })', () => env.deadTx.flush({ timeout: 10 }), bad(/^closed$/, 'MCAST_CLOSED')],
]);
sweep('calls on a closed sender (sync)', 'sync', [
  ['stats()', () => env.closedTx.stats(), bad(/^closed$/, 'MCAST_CLOSED')],
  ['nodeId', () => env.closedTx.nodeId, bad(/^closed$/, 'MCAST_CLOSED')],
  ['close() again', () => env.closedTx.close(), OK],
  ['(closed context) stats()', () => env.deadTx.stats(), bad(/^closed$/, 'MCAST_CLOSED')],
  ['(closed context) close()', () => env.deadTx.close(), OK],
]);
sweep('calls on a closed receiver', 'async', [
  ['recv()', () => env.closedRx.recv(), bad(/^closed$/, 'MCAST_CLOSED')],
  ['recv({ timeout: 0 })', () => env.closedRx.recv({ timeout: 0 }), bad(/^closed$/, 'MCAST_CLOSED')],
  ['recv({ timeout: -1 }): arguments are checked first', () => env.closedRx.recv({ timeout: -1 }), bad(/timeout must be/)],
  ['(closed context) recv({ timeout: 10 })', () => env.deadRx.recv({ timeout: 10 }), bad(/^closed$/, 'MCAST_CLOSED')],
  [
    'for await: ends at once',
    async () => {
      let n = 0;
      for await (const _ of env.closedRx) n++;
      assert.equal(n, 0);
    },
    OK,
  ],
]);
sweep('calls on a closed receiver (sync)', 'sync', [
  ['stats()', () => env.closedRx.stats(), bad(/^closed$/, 'MCAST_CLOSED')],
  ['nodeId', () => env.closedRx.nodeId, bad(/^closed$/, 'MCAST_CLOSED')],
  ['close() again', () => env.closedRx.close(), OK],
  ['(closed context) stats()', () => env.deadRx.stats(), bad(/^closed$/, 'MCAST_CLOSED')],
]);
sweep('calls on a closed context', 'sync', [
  ['sender(<valid>)', () => env.deadCtx.sender({ ...SENDER }), bad(/^closed$/, 'MCAST_CLOSED')],
  ['receiver(<valid>)', () => env.deadCtx.receiver({ ...RECEIVER }), bad(/^closed$/, 'MCAST_CLOSED')],
  ['sender(<invalid>): arguments are checked first', () => env.deadCtx.sender({ ...SENDER, segmentSize: -1 }), bad(/segmentSize/)],
  ['receiver(<invalid>): arguments are checked first', () => env.deadCtx.receiver({ ...RECEIVER, group: 'nonsense' }), bad(/is not an IPv6 address/)],
  ['close() again', () => env.deadCtx.close(), OK],
]);

// ---------------------------------------------------------------- module functions

sweep('channelAddress(name, options)', 'sync', [
  ...[5, undefined, null, {}, [], Buffer.from('x'), 5n, true].map((v) => [`name ${label(v)}`, () => channelAddress(v), bad(/channel name must be a string/)]),
  ['name ""', () => channelAddress(''), bad(/a channel name cannot be empty/)],
  ...[5, 'x', true, 5n].map((o) => [`options ${label(o)}`, () => channelAddress('x', o), bad(/options must be an object/)]),
  ...['Scope', 'SSM', 'port'].map((k) => [`unknown option ${k}`, () => channelAddress('x', { [k]: 'link' }), bad(new RegExp(`unknown channel option "${k}"`))]),
  ...[5, null, true, {}, 1n].map((v) => [`scope ${label(v)}`, () => channelAddress('x', { scope: v }), bad(/scope must be a string/)]),
  ...['', 'LINK', 'planet', 'link ', 'global\0'].map((v) => [`scope ${label(v)}`, () => channelAddress('x', { scope: v }), bad(/unknown scope .*\(link, site, org or global\)/)]),
  ...[1, 0, 'true', null, 1n].map((v) => [`ssm ${label(v)}`, () => channelAddress('x', { ssm: v }), bad(/ssm must be a boolean/)]),
  ['options null', () => channelAddress('x', null), OK],
  ['options { scope: undefined, ssm: undefined }', () => channelAddress('x', { scope: undefined, ssm: undefined }), OK],
  ['name with a NUL byte, a 100000-character name', () => channelAddress('a\0b') && channelAddress('n'.repeat(100000), { scope: 'org', ssm: true }), OK],
]);

sweep('generateKey(), generateSigningKey() (extra arguments are ignored)', 'sync', [
  ['generateKey(5)', () => assert.equal(generateKey(5).length, 32), OK],
  ['generateSigningKey("x")', () => assert.equal(generateSigningKey('x').publicKey.length, 32), OK],
]);

sweep('signingPublicKey(secretKey)', 'sync', [
  ...[undefined, ...NOT_BYTES].map((v) => [`${label(v)}`, () => signingPublicKey(v), bad(/signing key must be a Buffer or Uint8Array of 32 bytes/)]),
  ...[0, 31, 33, 64].map((n) => [`Buffer(${n})`, () => signingPublicKey(Buffer.alloc(n)), bad(new RegExp(`signing key must be exactly 32 bytes, not ${n}`))]),
  ['<detached Uint8Array>', () => signingPublicKey(detachedView(32)), bad(/signing key must be exactly 32 bytes, not 0/)],
  ['Buffer(32) of zeros (any 32 bytes are a secret key)', () => signingPublicKey(Buffer.alloc(32)), OK],
]);

for (const [name, load, what] of [
  ['loadKey', loadKey, 'key file'],
  ['loadSigningKey', loadSigningKey, 'signing key file'],
  ['loadPublicKey', loadPublicKey, 'public key file'],
]) {
  sweep(`${name}(path)`, 'sync', [
    ...[5, undefined, null, {}, [], 5n, true, '', Buffer.from('/etc/hostname'), new URL('file:///etc/hostname')].map((v) => [
      `path ${label(v)}`,
      () => load(v),
      bad(new RegExp(`${what} path must be a string`)),
    ]),
    ['path with a NUL byte', () => load('/tmp/a\0b'), bad(new RegExp(`${what} path must not contain NUL bytes`))],
    ['path <missing>', () => load('/nonexistent/mcast-sweep.key'), bad(new RegExp(`cannot read the ${what} /nonexistent/mcast-sweep.key`), 'MCAST_IO')],
    ['path <a file with no key>', () => load(env.file), bad(/64 hexadecimal digits .* or 32 raw bytes/)],
  ]);
}

sweep('new Sender(), new Receiver(): made by a Context only', 'sync', [
  ['new Sender()', () => new mcast.Sender(), bad(/Sender objects are made by Context\.sender\(\)/)],
  ['new Sender({})', () => new mcast.Sender({}, {}), bad(/Sender objects are made by Context\.sender\(\)/)],
  ['new Receiver()', () => new mcast.Receiver(), bad(/Receiver objects are made by Context\.receiver\(\)/)],
]);

// ---------------------------------------------------------------- the native layer

test('the native layer checks numbers itself: no wrapping, no rounding, no panics', async () => {
  const native = require('mcast/mcast.node');
  const nativeBad = (fn, message) => assert.throws(fn, (e) => e instanceof Error && message.test(e.message), String(message));
  nativeBad(() => new native.NativeContext({ hopLimit: 256 }), /^MCAST_INVALID_ARGUMENT: hopLimit must be a whole number in 0\.\.=255, not 256$/);
  nativeBad(() => new native.NativeContext({ recvBuffer: -1 }), /^MCAST_INVALID_ARGUMENT: recvBuffer must be a whole number >= 0, not -1$/);
  nativeBad(() => new native.NativeContext({ sendBuffer: 1.5 }), /^MCAST_INVALID_ARGUMENT: sendBuffer must be a whole number >= 0, not 1.5$/);
  const n = new native.NativeContext({});
  const tx = { group: GROUP, port: PORT, interface: 'va' };
  const rx = { group: GROUP, port: PORT, interface: 'vb' };
  nativeBad(() => n.sender({ ...tx, port: 2 ** 32 + PORT }), /^MCAST_INVALID_ARGUMENT: port must be a whole number in 0\.\.=65535, not 4294975096$/);
  nativeBad(() => n.receiver({ ...rx, port: -1 }), /^MCAST_INVALID_ARGUMENT: port must be a whole number in 0\.\.=65535/);
  for (const [k, v] of [['segmentSize', 2 ** 32 + 1400], ['blockSize', 1.5], ['parity', 2 ** 16], ['autoParity', -1], ['backoffFactor', 2 ** 32 + 4], ['groupSize', 2 ** 32], ['robustFactor', NaN], ['cacheMaxObjects', 2 ** 53 + 2], ['streamBufferBlocks', 2.5]]) {
    nativeBad(() => n.sender({ ...tx, [k]: v }), new RegExp(`^MCAST_INVALID_ARGUMENT: ${k} must be a whole number`));
  }
  for (const [k, v] of [['syncWindow', 2 ** 32 + 256], ['maxSenders', 1.5]]) {
    nativeBad(() => n.receiver({ ...rx, [k]: v }), new RegExp(`^MCAST_INVALID_ARGUMENT: ${k} must be a whole number`));
  }
  nativeBad(() => n.receiver({ ...rx, sources: ['10.0.0.1'] }), /^MCAST_INVALID_ARGUMENT: sources: "10.0.0.1" is not an IPv6 address$/);
  // Durations too long for an Instant are cut, never a panic (which aborted the process).
  for (const k of ['grttInitial', 'grttMax']) n.sender({ ...tx, [k]: 1e300 }).close();
  n.receiver({ ...rx, inactivityTimeout: 1e300 }).close();
  const s = n.sender({ ...tx });
  nativeBad(() => s.flushAcked([2 ** 32 + 5], 10), /^MCAST_INVALID_ARGUMENT: flushAcked node id must be a whole number in 1\.\.4294967294/);
  nativeBad(() => s.flushAcked([0], 10), /^MCAST_INVALID_ARGUMENT: flushAcked node id 0 \(0x0\) is reserved/);
  nativeBad(() => s.flushAcked([], -1), /^MCAST_INVALID_ARGUMENT: timeout must be a number of milliseconds >= 0, not -1$/);
  assert.deepEqual(await s.flushAcked([], 1e300), { acked: [], missing: [] });
  assert.deepEqual(await s.flushAcked([], 1e22), { acked: [], missing: [] });
  s.close();
  n.close();
});

// ---------------------------------------------------------------- survival

test('after the sweep the process and its context still work', async (t) => {
  const port = nextPort++;
  const rx = env.ctx.receiver({ group: GROUP, port, interface: 'vb' });
  const tx = env.ctx.sender({ group: GROUP, port, interface: 'va', rateBps: 200e6 });
  await tx.send('still here');
  assert.equal((await rx.recv({ timeout: 5000 })).data.toString(), 'still here');
  for (const h of [env.tx, env.idleTx, env.sealedTx, env.signingTx, env.bothTx]) assert.equal(typeof h.stats().objectsEnqueued, 'number');
  assert.ok(total > 1000, `${total} cases`);
  t.diagnostic(`${total} sweep cases`);
  rx.close();
  tx.close();
});

test('extreme accepted values carry traffic without a Rust panic (child process, stderr checked)', () => {
  // Each of these once panicked: durations too long for an Instant (the
  // engine thread, or the JavaScript thread, which aborted the process) and
  // flushAcked timeouts (the worker thread, leaving its promise pending).
  const code = `
    const { Context, generateKey } = require('mcast');
    const G = '${GROUP}';
    let port = ${nextPort};
    async function pair(so, ro) {
      const ctx = new Context({ recvBuffer: 2 ** 53, sendBuffer: 2 ** 53, hopLimit: 255 });
      const p = port++;
      const rx = ctx.receiver({ group: G, port: p, interface: 'vb', ...ro });
      const tx = ctx.sender({ group: G, port: p, interface: 'va', rateBps: 200e6, ...so });
      await tx.send('payload ' + p);
      const m = await rx.recv({ timeout: 10000 });
      if (m.data.toString() !== 'payload ' + p) throw new Error('wrong data');
      await tx.send('again');
      await rx.recv({ timeout: 10000 });
      ctx.close();
      return 'ok';
    }
    (async () => {
      const key = generateKey();
      const out = [];
      out.push(await pair({ grttInitial: 1e300, grttMax: 1e300 }, {}));
      out.push(await pair({}, { inactivityTimeout: 1e19 }));
      out.push(await pair({}, { inactivityTimeout: 1e300 }));
      out.push(await pair({ key, sealMaxAgeMs: 1e300 }, { key, sealMaxAgeMs: 1e300 }));
      out.push(await pair({ groupSize: 2 ** 32 - 1, backoffFactor: 15, cacheMaxObjects: 2 ** 53, cacheMaxBytes: 2 ** 53, rateMinBps: 2 ** 53, rateBps: 2 ** 53 },
        { maxSenders: 2 ** 53, maxObjectSize: 2 ** 53, maxBufferPerSender: 2 ** 53, maxBufferTotal: 2 ** 53, syncWindow: 65535 }));
      const ctx = new Context();
      const tx = ctx.sender({ group: G, port: port++, interface: 'va' });
      await tx.send('x');
      // Waits for a receiver that is not there; the next call still runs (the worker lives).
      const acked = await Promise.race([tx.flushAcked([4242], { timeout: 1e22 }), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
      out.push(JSON.stringify(acked));
      out.push(typeof (await tx.send('y')));
      ctx.close();
      console.log(out.join(' '));
    })().catch((e) => { console.log('FAILED', e.code, e.message); process.exit(1); });
  `;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 120000, env: process.env });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /panicked|fatal runtime error|Aborted/, r.stderr);
  assert.match(r.stdout, /^ok ok ok ok ok ("waiting"|\{"acked":\[\],"missing":\[4242\]\}) bigint$/m, r.stdout);
});
