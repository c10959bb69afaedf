'use strict';
// Signed objects (Ed25519) and fixed sender node ids in the Node API, in
// one process over the veth pair va <-> vb of the private namespace
// tests/node/run.sh made.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Context, generateKey, generateSigningKey, signingPublicKey, loadSigningKey, loadPublicKey } = require('mcast');

const GROUP = 'ff3e::4d43:62';
let nextPort = 7600;

/** 32 bytes that are no point of the curve (PublicKey::from_bytes refuses them). */
const NOT_A_POINT = Buffer.alloc(32, 0x02);

/** RFC 8032, 7.1, TEST 1: a secret key and its public key. */
const RFC8032_SECRET = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const RFC8032_PUBLIC = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');

function tmpdir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mcast-node-${tag}-`));
}

/**
 * Everything a receiver reports until `done(seen)` holds (or `ms` pass):
 * messages, and MCAST_ABORTED / MCAST_REJECTED errors, in order.
 */
async function collect(rx, done, ms = 10000) {
  const seen = { messages: [], aborted: [], rejected: [] };
  const deadline = Date.now() + ms;
  while (!done(seen) && Date.now() < deadline) {
    try {
      seen.messages.push(await rx.recv({ timeout: Math.max(1, deadline - Date.now()) }));
    } catch (e) {
      if (e.code === 'MCAST_TIMEOUT') break;
      if (e.code === 'MCAST_ABORTED') seen.aborted.push(e);
      else if (e.code === 'MCAST_REJECTED') seen.rejected.push(e);
      else throw e;
    }
  }
  return seen;
}

const describe = (seen) =>
  JSON.stringify({
    messages: seen.messages.map((m) => [String(m.objectId), m.data.length, m.signer && m.signer.toString('hex')]),
    aborted: seen.aborted.map((e) => e.message),
    rejected: seen.rejected.map((e) => e.message),
  });

test('generateSigningKey and signingPublicKey', () => {
  const a = generateSigningKey();
  const b = generateSigningKey();
  for (const k of [a, b]) {
    assert.deepEqual(Object.keys(k).sort(), ['publicKey', 'secretKey']);
    assert.ok(Buffer.isBuffer(k.secretKey) && Buffer.isBuffer(k.publicKey));
    assert.equal(k.secretKey.length, 32);
    assert.equal(k.publicKey.length, 32);
    assert.ok(signingPublicKey(k.secretKey).equals(k.publicKey));
  }
  assert.ok(!a.secretKey.equals(b.secretKey) && !a.publicKey.equals(b.publicKey));
  assert.ok(!a.secretKey.equals(a.publicKey));
  // Ed25519 as everyone computes it.
  assert.ok(signingPublicKey(RFC8032_SECRET).equals(RFC8032_PUBLIC));
  // A Uint8Array view into a larger buffer.
  const big = new Uint8Array(64);
  big.set(RFC8032_SECRET, 16);
  assert.ok(signingPublicKey(big.subarray(16, 48)).equals(RFC8032_PUBLIC));
  for (const [bad, message] of [
    [Buffer.alloc(31), /exactly 32 bytes, not 31/],
    [Buffer.alloc(33), /exactly 32 bytes, not 33/],
    [Buffer.alloc(0), /exactly 32 bytes, not 0/],
    [RFC8032_SECRET.toString('hex'), /Buffer or Uint8Array/],
    [[...RFC8032_SECRET], /Buffer or Uint8Array/],
    [undefined, /Buffer or Uint8Array/],
  ]) {
    assert.throws(() => signingPublicKey(/** @type {any} */ (bad)), { code: 'MCAST_INVALID_ARGUMENT', message });
  }
  // The native layer checks too.
  const native = require('mcast/mcast.node');
  assert.throws(() => native.signingPublicKey(Buffer.alloc(31)), { message: 'MCAST_INVALID_ARGUMENT: a signing key must be exactly 32 bytes, not 31' });
});

test('loadSigningKey and loadPublicKey read key files and say what is wrong with others', () => {
  const dir = tmpdir('signkeys');
  const file = (name, content) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const { secretKey, publicKey } = generateSigningKey();
  // As `mcast keygen --sign FILE` writes FILE and FILE.pub: 64 hex digits and a newline.
  const secretFile = file('sign.key', `${secretKey.toString('hex')}\n`);
  const publicFile = file('sign.key.pub', `${publicKey.toString('hex')}\n`);
  const loaded = loadSigningKey(secretFile);
  assert.ok(Buffer.isBuffer(loaded) && loaded.equals(secretKey));
  assert.ok(signingPublicKey(loaded).equals(publicKey));
  const pub = loadPublicKey(publicFile);
  assert.ok(Buffer.isBuffer(pub) && pub.equals(publicKey));
  assert.ok(loadPublicKey(file('RFC.pub', `  ${RFC8032_PUBLIC.toString('hex').toUpperCase()}\r\n`)).equals(RFC8032_PUBLIC));
  // Relative paths resolve from the working directory.
  assert.ok(loadPublicKey(path.relative(process.cwd(), publicFile)).equals(publicKey));
  // 32 raw bytes (not all hex digits).
  const raw = Buffer.from(RFC8032_SECRET);
  assert.ok(loadSigningKey(file('raw.key', raw)).equals(RFC8032_SECRET));
  assert.ok(loadPublicKey(file('raw.pub', RFC8032_PUBLIC)).equals(RFC8032_PUBLIC));

  const hex = secretKey.toString('hex');
  for (const [name, content] of [
    ['short.key', hex.slice(1)],
    ['short2.key', `${hex.slice(2)}\n`],
    ['long.key', `${hex}00`],
    ['nothex.key', 'z'.repeat(64)],
    ['raw31.key', raw.subarray(0, 31)],
    ['raw33.key', Buffer.concat([raw, Buffer.from([0xff])])],
    ['empty.key', ''],
  ]) {
    const p = file(name, content);
    for (const [load, what] of [[loadSigningKey, 'signing key'], [loadPublicKey, 'public key']]) {
      assert.throws(() => load(p), (e) => {
        assert.equal(e.code, 'MCAST_INVALID_ARGUMENT', `${name}: ${e.message}`);
        assert.match(e.message, /64 hexadecimal digits .* or 32 raw bytes/);
        assert.ok(e.message.includes(p) && e.message.includes(what), e.message);
        return true;
      });
    }
  }

  // 32 bytes that are no point of the curve: no public key (as hex and raw),
  // but, like any 32 bytes, a signing key.
  for (const [name, content] of [['bad-point-hex.pub', `${NOT_A_POINT.toString('hex')}\n`], ['bad-point-raw.pub', NOT_A_POINT]]) {
    const p = file(name, content);
    assert.throws(() => loadPublicKey(p), (e) => {
      assert.equal(e.code, 'MCAST_INVALID_ARGUMENT', e.message);
      assert.match(e.message, /not a valid Ed25519 public key/);
      assert.ok(e.message.includes(p), e.message);
      return true;
    });
    assert.ok(loadSigningKey(p).equals(NOT_A_POINT));
  }

  const missing = path.join(dir, 'missing.key');
  for (const [load, what] of [[loadSigningKey, 'signing key'], [loadPublicKey, 'public key']]) {
    assert.throws(() => load(missing), (e) => e.code === 'MCAST_IO' && e.errno === 2 && e.message.includes(missing) && e.message.includes(`${what} file`));
    assert.throws(() => load(dir), (e) => e.code === 'MCAST_IO' && e.errno === 21);
    assert.throws(() => load(/** @type {any} */ (42)), { code: 'MCAST_INVALID_ARGUMENT', message: /path must be a string/ });
    assert.throws(() => load(''), { code: 'MCAST_INVALID_ARGUMENT' });
  }
  fs.rmSync(dir, { recursive: true });
});

test('signingKey, trustedSigners and nodeId options are checked', () => {
  const ctx = new Context();
  const where = { group: GROUP, port: 5000 };
  const tx = { ...where, interface: 'va' };
  const rx = { ...where, interface: 'vb' };
  const { secretKey, publicKey } = generateSigningKey();
  const bad = (make, extra, message) => assert.throws(() => make(extra), { code: 'MCAST_INVALID_ARGUMENT', message });
  const sender = (extra) => ctx.sender({ ...tx, ...extra });
  const receiver = (extra) => ctx.receiver({ ...rx, ...extra });

  bad(sender, { signingKey: Buffer.alloc(31) }, /signingKey must be exactly 32 bytes, not 31/);
  bad(sender, { signingKey: new Uint8Array(64) }, /signingKey must be exactly 32 bytes, not 64/);
  bad(sender, { signingKey: secretKey.toString('hex') }, /signingKey must be a Buffer or Uint8Array/);
  bad(sender, { signingKey: null }, /signingKey must be a Buffer or Uint8Array/);
  bad(sender, { trustedSigners: [publicKey] }, /unknown sender option "trustedSigners"/);
  bad(receiver, { signingKey: secretKey }, /unknown receiver option "signingKey"/);
  bad(receiver, { trustedSigners: publicKey }, /trustedSigners must be an array/);
  bad(receiver, { trustedSigners: [publicKey, Buffer.alloc(31)] }, /trustedSigners\[1\] must be exactly 32 bytes, not 31/);
  bad(receiver, { trustedSigners: [publicKey.toString('hex')] }, /trustedSigners\[0\] must be a Buffer or Uint8Array/);
  bad(receiver, { trustedSigners: [publicKey, NOT_A_POINT] }, /trustedSigners\[1\] is not a valid Ed25519 public key/);
  bad(receiver, { trustedSigners: [new Uint8Array(NOT_A_POINT)] }, /trustedSigners\[0\] is not a valid Ed25519 public key/);
  for (const make of [sender, receiver]) {
    for (const v of [0, 0xffffffff, 2 ** 32, -1, 1.5, NaN, '1234', null]) {
      bad(make, { nodeId: v }, /nodeId must be an integer in 1\.\.4294967294/);
    }
  }

  // Good ones: Buffers, Uint8Array views into larger buffers, no signers.
  const view = new Uint8Array(96);
  view.set(secretKey, 8);
  view.set(publicKey, 48);
  sender({ signingKey: secretKey }).close();
  sender({ signingKey: view.subarray(8, 40), nodeId: 1 }).close();
  sender({ nodeId: 0xfffffffe }).close();
  receiver({ trustedSigners: [publicKey, view.subarray(48, 80), RFC8032_PUBLIC] }).close();
  receiver({ trustedSigners: [] }).close();

  // A signature takes 128 bytes of an object's info, which fits in a segment.
  bad(sender, { signingKey: secretKey, segmentSize: 143 }, /segment size 143 is too small to sign objects/);
  sender({ signingKey: secretKey, segmentSize: 144 }).close();
  bad(sender, { signingKey: secretKey, key: generateKey(), segmentSize: 187 }, /segment size 187 is too small .* with a key/);
  sender({ signingKey: secretKey, key: generateKey(), segmentSize: 188 }).close();
  ctx.close();

  // The native layer checks too (and never aborts the process).
  const native = require('mcast/mcast.node');
  const n = new native.NativeContext({});
  const nativeBad = (fn, message) => assert.throws(fn, { message });
  nativeBad(() => n.sender({ ...tx, signingKey: Buffer.alloc(31) }), 'MCAST_INVALID_ARGUMENT: signingKey must be exactly 32 bytes, not 31');
  nativeBad(() => n.receiver({ ...rx, trustedSigners: [publicKey, Buffer.alloc(33)] }), 'MCAST_INVALID_ARGUMENT: trustedSigners[1] must be exactly 32 bytes, not 33');
  nativeBad(
    () => n.receiver({ ...rx, trustedSigners: [NOT_A_POINT] }),
    'MCAST_INVALID_ARGUMENT: trustedSigners[0] is not a valid Ed25519 public key (not a point of the curve)',
  );
  nativeBad(() => n.sender({ ...tx, nodeId: 0xffffffff }), 'MCAST_INVALID_ARGUMENT: nodeId 4294967295 (0xffffffff) is reserved (0 and 0xffffffff are)');
  nativeBad(() => n.receiver({ ...rx, nodeId: 0 }), 'MCAST_INVALID_ARGUMENT: nodeId 0 (0x0) is reserved (0 and 0xffffffff are)');
  for (const v of [2 ** 32 + 1234, -1234, 12.5]) {
    nativeBad(() => n.sender({ ...tx, nodeId: v }), /^MCAST_INVALID_ARGUMENT: nodeId must be a whole number in 1\.\.4294967294/);
    nativeBad(() => n.receiver({ ...rx, nodeId: v }), /^MCAST_INVALID_ARGUMENT: nodeId must be a whole number in 1\.\.4294967294/);
  }
  n.close();
});

test('a sender with a fixed nodeId is seen as such', async () => {
  const port = nextPort++;
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb', nodeId: 4321 });
  const tx = ctx.sender({ group: GROUP, port, interface: 'va', nodeId: 1234, rateBps: 200e6 });
  assert.equal(tx.nodeId, 1234);
  await tx.send('from 1234');
  assert.deepEqual(await tx.flushAcked([4321], { timeout: 5000 }), { acked: [4321], missing: [] });
  const m = await rx.recv({ timeout: 5000 });
  assert.equal(m.data.toString(), 'from 1234');
  assert.equal(m.senderNodeId, 1234);
  assert.equal(m.signer, null);
  // The largest id there is.
  const top = ctx.sender({ group: GROUP, port, interface: 'va', nodeId: 0xfffffffe });
  assert.equal(top.nodeId, 0xfffffffe);
  await top.send('from the top');
  const t = await rx.recv({ timeout: 5000 });
  assert.equal(t.data.toString(), 'from the top');
  assert.equal(t.senderNodeId, 0xfffffffe);
  ctx.close();
});

test('signed objects: a receiver trusting the key gets them with their signer; one trusting another key refuses them', async () => {
  const port = nextPort++;
  const signer = generateSigningKey();
  const other = generateSigningKey();
  const ctx = new Context();
  // Trusts two keys, the signer's among them (as a Uint8Array).
  const trusting = ctx.receiver({ group: GROUP, port, interface: 'vb', trustedSigners: [other.publicKey, new Uint8Array(signer.publicKey)] });
  // Trusts only another key.
  const stranger = ctx.receiver({ group: GROUP, port, interface: 'vb', trustedSigners: [other.publicKey] });
  // Trusts no one in particular: accepts everything, names no signer.
  const plain = ctx.receiver({ group: GROUP, port, interface: 'vb' });
  const tx = ctx.sender({ group: GROUP, port, interface: 'va', signingKey: new Uint8Array(signer.secretKey), nodeId: 5150, rateBps: 200e6 });
  assert.equal(tx.nodeId, 5150);

  const dir = tmpdir('signed');
  const file = path.join(dir, 'signed-file.bin');
  fs.writeFileSync(file, crypto.randomBytes(300000));
  const big = crypto.randomBytes(200000); // three FEC blocks
  const longestInfo = Buffer.alloc(1400 - 128, 'i'); // segmentSize - the signature
  const sent = [
    { data: Buffer.from('signed hello'), info: 'greeting' },
    { data: big, info: '' },
    { data: Buffer.alloc(0), info: 'empty' },
    { data: Buffer.from('long info'), info: longestInfo.toString() },
    { data: fs.readFileSync(file), info: path.basename(file), file },
  ];
  // Info longer than a segment less the signature is refused up front.
  await assert.rejects(tx.send('x', { info: Buffer.alloc(1400 - 127) }), { code: 'MCAST_INVALID_ARGUMENT', message: /info of 1273 bytes exceeds .* less the 128-byte signature/ });
  const ids = [];
  for (const o of sent) ids.push(o.file ? await tx.sendFile(o.file) : await tx.send(o.data, { info: o.info }));
  assert.deepEqual(ids, [0n, 1n, 2n, 3n, 4n]);

  const [mine, theirs, anyone] = await Promise.all([
    collect(trusting, (s) => s.messages.length === sent.length),
    collect(stranger, (s) => s.aborted.length === sent.length && s.rejected.length >= 1),
    collect(plain, (s) => s.messages.length === sent.length),
  ]);
  await tx.flush({ timeout: 10000 });

  // The trusting receiver: everything, in order, with its signer.
  assert.equal(mine.messages.length, sent.length, describe(mine));
  assert.deepEqual([mine.aborted.length, mine.rejected.length], [0, 0], describe(mine));
  mine.messages.forEach((m, i) => {
    assert.ok(m.data.equals(sent[i].data), `message ${i}`);
    assert.equal(m.info.toString(), sent[i].info, `message ${i}`);
    assert.equal(m.objectId, ids[i]);
    assert.equal(m.kind, sent[i].file ? 'file' : 'data');
    assert.equal(m.senderNodeId, 5150);
    assert.ok(Buffer.isBuffer(m.signer) && m.signer.equals(signer.publicKey), `message ${i}: signer ${m.signer && m.signer.toString('hex')}`);
  });

  // The receiver that trusts no one in particular gets the objects (and
  // their info without the signature), but no signer.
  assert.equal(anyone.messages.length, sent.length, describe(anyone));
  anyone.messages.forEach((m, i) => {
    assert.ok(m.data.equals(sent[i].data), `message ${i}`);
    assert.equal(m.info.toString(), sent[i].info, `message ${i}`);
    assert.equal(m.signer, null);
  });

  // The receiver that trusts another key: no data, every object aborted,
  // the sender rejected once because it does not trust its key.
  assert.equal(theirs.messages.length, 0, describe(theirs));
  assert.equal(theirs.aborted.length, sent.length, describe(theirs));
  theirs.aborted.forEach((e, i) => {
    assert.equal(e.objectId, ids[i]);
    assert.match(e.reason, /^refused: .*does not trust/);
  });
  assert.equal(theirs.rejected.length, 1, describe(theirs));
  const e = theirs.rejected[0];
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'MCAST_REJECTED');
  assert.match(e.message, /does not trust/);
  assert.match(e.reason, /signed by a key this receiver does not trust/);
  assert.equal(e.senderNodeId, 5150);
  assert.match(e.sender, /^\[fe80::/);
  // Nothing more comes, and the counters say why.
  await assert.rejects(stranger.recv({ timeout: 300 }), { code: 'MCAST_TIMEOUT' });
  const st = stranger.stats();
  assert.equal(st.objectsUnverified, sent.length, JSON.stringify(st));
  assert.ok(st.signaturesRefused >= sent.length, JSON.stringify(st));
  assert.equal(st.objectsCompleted, 0, JSON.stringify(st));
  const ok = trusting.stats();
  assert.deepEqual([ok.objectsUnverified, ok.signaturesRefused, ok.objectsCompleted], [0, 0, sent.length], JSON.stringify(ok));
  const pl = plain.stats();
  assert.deepEqual([pl.objectsUnverified, pl.signaturesRefused], [0, 0], JSON.stringify(pl));
  fs.rmSync(dir, { recursive: true });
  ctx.close();
});

test("signed objects: 'rejected' and 'aborted' events for unsigned objects, and the receiver goes on", async () => {
  const port = nextPort++;
  const signer = generateSigningKey();
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb', trustedSigners: [signer.publicKey] });
  const unsigned = ctx.sender({ group: GROUP, port, interface: 'va' });
  const signed = ctx.sender({ group: GROUP, port, interface: 'va', signingKey: signer.secretKey, rateBps: 200e6 });
  const rejected = [];
  const aborted = [];
  const messages = [];
  const gotRejected = new Promise((resolve) => rx.on('rejected', (e) => resolve(rejected.push(e))));
  const gotAborted = new Promise((resolve) => rx.on('aborted', (e) => resolve(aborted.push(e))));
  const gotMessage = new Promise((resolve) => rx.on('message', (m) => resolve(messages.push(m))));
  await unsigned.send('not signed', { info: 'plain' });
  await Promise.all([gotRejected, gotAborted]);
  assert.equal(rejected[0].code, 'MCAST_REJECTED');
  assert.match(rejected[0].reason, /its objects are not signed/);
  assert.equal(rejected[0].senderNodeId, unsigned.nodeId);
  assert.equal(aborted[0].code, 'MCAST_ABORTED');
  assert.match(aborted[0].reason, /^refused: its objects are not signed/);
  assert.equal(aborted[0].objectId, 0n);
  // A signed sender's object still arrives.
  await signed.send(Buffer.alloc(5000, 's'), { info: 'signed' });
  await gotMessage;
  assert.equal(messages[0].info.toString(), 'signed');
  assert.ok(messages[0].signer.equals(signer.publicKey));
  assert.equal(messages[0].senderNodeId, signed.nodeId);
  rx.removeAllListeners('message');
  assert.equal(rejected.length, 1);
  const st = rx.stats();
  assert.equal(st.objectsUnverified, 1, JSON.stringify(st));
  assert.equal(st.objectsCompleted, 1, JSON.stringify(st));
  ctx.close();
});

test('signed and sealed: files to a directory, with their signer', async () => {
  const port = nextPort++;
  const key = generateKey();
  const signer = generateSigningKey();
  const dir = tmpdir('signed-sealed');
  const out = fs.mkdtempSync(path.join(dir, 'out-'));
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb', key, trustedSigners: [signer.publicKey], fileDir: out });
  const tx = ctx.sender({ group: GROUP, port, interface: 'va', key, signingKey: signer.secretKey, rateBps: 200e6 });
  // With a channel key, the info may be 44 bytes shorter still.
  await assert.rejects(tx.send('x', { info: Buffer.alloc(1400 - 44 - 127) }), { code: 'MCAST_INVALID_ARGUMENT' });
  await tx.send('sealed and signed', { info: Buffer.alloc(1400 - 44 - 128, 'k') });
  const src = path.join(dir, 'file.bin');
  fs.writeFileSync(src, crypto.randomBytes(1000000));
  await tx.sendFile(src);
  const m = await rx.recv({ timeout: 10000 });
  assert.equal(m.data.toString(), 'sealed and signed');
  assert.equal(m.info.length, 1400 - 44 - 128);
  assert.ok(m.signer.equals(signer.publicKey));
  const f = await rx.recv({ timeout: 20000 });
  assert.equal(f.kind, 'file');
  assert.equal(f.info.toString(), 'file.bin');
  assert.ok(f.signer.equals(signer.publicKey));
  assert.equal(path.dirname(f.path), out);
  assert.ok(fs.readFileSync(f.path).equals(fs.readFileSync(src)));
  ctx.close();
  fs.rmSync(dir, { recursive: true });
});
