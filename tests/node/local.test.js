'use strict';
// The Node API in one process, over the veth pair va <-> vb of the private
// namespace tests/node/run.sh made: types, errors, events, iteration, the
// event loop staying responsive, and the process exiting once closed.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Context, channelAddress, generateKey, loadKey } = require('mcast');

const GROUP = 'ff3e::4d43:60';
let nextPort = 7400;

function pair() {
  const port = nextPort++;
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb' });
  const tx = ctx.sender({ group: GROUP, port, interface: 'va', rateBps: 200e6 });
  return { ctx, rx, tx, port };
}

test('runs inside the private namespace made by run.sh', () => {
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  assert.ok(links.includes(' va@') && links.includes(' vb@'), 'run these tests with tests/node/run.sh');
});

test('Buffer, Uint8Array and string data with info; ids are bigints', async () => {
  const { ctx, rx, tx } = pair();
  const ids = [
    await tx.send(Buffer.from('buffer')),
    await tx.send(new Uint8Array([0, 1, 2, 255]).subarray(1), { info: 'u8' }),
    await tx.send('text ☃', { info: Buffer.from('s') }),
    await tx.send(''),
  ];
  assert.deepEqual(ids, [0n, 1n, 2n, 3n]);
  await tx.flush({ timeout: 10000 });
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await rx.recv({ timeout: 5000 }));
  assert.deepEqual(got.map((m) => m.data.toString('latin1')), ['buffer', '\x01\x02\xff', Buffer.from('text ☃').toString('latin1'), '']);
  assert.deepEqual(got.map((m) => m.info.toString()), ['', 'u8', 's', '']);
  assert.deepEqual(got.map((m) => m.objectId), ids);
  const m = got[0];
  assert.ok(Buffer.isBuffer(m.data) && typeof m.objectId === 'bigint');
  assert.equal(m.kind, 'data');
  assert.equal(m.senderNodeId, tx.nodeId);
  assert.match(m.sender, /^\[fe80::/);
  ctx.close();
});

test('files', async () => {
  const { ctx, rx, tx } = pair();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcast-node-'));
  const files = [0, 1, 300000].map((n) => {
    const p = path.join(dir, `f${n}.bin`);
    fs.writeFileSync(p, require('node:crypto').randomBytes(n));
    return p;
  });
  for (const f of files) await tx.sendFile(f);
  await tx.flush();
  for (const f of files) {
    const m = await rx.recv({ timeout: 10000 });
    assert.equal(m.kind, 'file');
    assert.equal(m.info.toString(), path.basename(f));
    assert.ok(m.data.equals(fs.readFileSync(f)));
    assert.equal(m.path, undefined);
  }
  fs.rmSync(dir, { recursive: true });
  ctx.close();
});

test('files to a directory', async () => {
  const port = nextPort++;
  const ctx = new Context();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcast-node-dir-'));
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb', fileDir: dir });
  const tx = ctx.sender({ group: GROUP, port, interface: 'va', rateBps: 200e6 });
  const src = path.join(os.tmpdir(), `mcast-node-src-${process.pid}`);
  fs.writeFileSync(src, require('node:crypto').randomBytes(2000000));
  await tx.sendFile(src);
  const m = await rx.recv({ timeout: 20000 });
  assert.equal(m.kind, 'file');
  assert.equal(m.data.length, 0);
  assert.equal(path.dirname(m.path), dir);
  assert.ok(fs.readFileSync(m.path).equals(fs.readFileSync(src)));
  fs.rmSync(m.path);
  rx.close();
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.throws(() => ctx.receiver({ group: GROUP, port, interface: 'vb', fileDir: '/nonexistent/mcast' }), { code: 'MCAST_IO' });
  fs.rmSync(src);
  fs.rmSync(dir, { recursive: true });
  ctx.close();
});

test('bad input rejects or throws with the documented codes', async () => {
  const { ctx, rx, tx } = pair();
  const code = (fn) => {
    try {
      fn();
    } catch (e) {
      return e.code;
    }
    return 'no error';
  };
  assert.equal(code(() => ctx.sender({ group: 'nonsense', port: 5000, interface: 'va' })), 'MCAST_INVALID_ARGUMENT');
  assert.equal(code(() => ctx.sender({ group: GROUP, port: 70000, interface: 'va' })), 'MCAST_INVALID_ARGUMENT');
  assert.equal(code(() => ctx.sender({ group: GROUP, interface: 'va' })), 'MCAST_INVALID_ARGUMENT');
  assert.equal(code(() => ctx.sender({ group: GROUP, port: 5000, interface: 7 })), 'MCAST_INVALID_ARGUMENT');
  assert.throws(() => ctx.sender({ group: GROUP, port: 5000, interface: 'va', rateBps: 1e6, rateMinBps: 2e6 }), { code: 'MCAST_INVALID_ARGUMENT', message: /minimum rate/ });
  assert.throws(() => ctx.sender({ group: GROUP, port: 5000, interface: 'va', congestionControl: 'yes' }), { code: 'MCAST_INVALID_ARGUMENT' });
  ctx.sender({ group: GROUP, port: 5000, interface: 'va', congestionControl: false, rateMinBps: 1e3 }).close();
  assert.equal(code(() => ctx.receiver({ group: '2001:db8::1', port: 5000, interface: 'vb' })), 'MCAST_INVALID_ARGUMENT');
  assert.equal(code(() => ctx.receiver({ group: GROUP, port: 5000, interface: 'nope0' })), 'MCAST_NO_SUCH_INTERFACE');
  assert.equal(code(() => ctx.sender({ group: GROUP, port: 5000, interface: 'va', rate: 5 })), 'MCAST_INVALID_ARGUMENT');
  assert.equal(code(() => ctx.sender({ group: GROUP, port: 5000, interface: 'va', blockSize: 250, parity: 10 })), 'MCAST_INVALID_ARGUMENT');
  assert.equal(code(() => ctx.receiver({ group: GROUP, port: 5000, interface: 'vb', syncPolicy: 'some' })), 'MCAST_INVALID_ARGUMENT');
  assert.equal(code(() => new Context({ hopLimit: -1 })), 'MCAST_INVALID_ARGUMENT');
  await assert.rejects(tx.send(42), { code: 'MCAST_INVALID_ARGUMENT' });
  await assert.rejects(tx.send('x', { info: 7 }), { code: 'MCAST_INVALID_ARGUMENT' });
  await assert.rejects(tx.sendFile('/nonexistent/file'), (e) => e.code === 'MCAST_IO' && e.errno === 2);
  await assert.rejects(rx.recv({ timeout: -5 }), { code: 'MCAST_INVALID_ARGUMENT' });
  await assert.rejects(rx.recv({ timeout: 50 }), (e) => e instanceof Error && e.code === 'MCAST_TIMEOUT');
  ctx.close();
  await assert.rejects(rx.recv({ timeout: 1000 }), { code: 'MCAST_CLOSED' });
  await assert.rejects(tx.send('late'), { code: 'MCAST_CLOSED' });
  assert.equal(code(() => ctx.sender({ group: GROUP, port: 5000, interface: 'va' })), 'MCAST_CLOSED');
});

test('the event loop stays responsive while receiving', async () => {
  const { ctx, rx, tx } = pair();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const waiting = rx.recv({ timeout: 5000 });
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(timer);
  assert.ok(ticks >= 30, `the event loop was blocked (${ticks} ticks in 500 ms)`);
  await tx.send('wake');
  assert.equal((await waiting).data.toString(), 'wake');
  ctx.close();
});

test('the event loop stays responsive while data flows (event-loop delay)', async (t) => {
  // A burst of small messages and a multi-MB object, sent and received in
  // this process over the veth pair, while perf_hooks measures how late the
  // event loop runs its timers. Blocking work on the main thread (a send or
  // recv waiting for the engine, a copy of the whole object) shows up as a
  // delay of its duration; the bound is generous for a loaded machine.
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const { ctx, rx, tx } = pair();
  const n = 3000;
  const size = 1000;
  const big = require('node:crypto').randomBytes(8000000);
  const body = (i) => Buffer.concat([Buffer.from(String(i).padStart(8, '0')), Buffer.alloc(size - 8, i % 251)]);
  const h = monitorEventLoopDelay({ resolution: 10 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  h.enable();
  const t0 = performance.now();
  const sending = (async () => {
    for (let i = 0; i < n; i++) await tx.send(body(i), { info: `m${i}` });
    await tx.send(big, { info: 'big' });
    await tx.flush({ timeout: 60000 });
  })();
  for (let i = 0; i < n; i++) {
    const m = await rx.recv({ timeout: 30000 });
    assert.equal(m.info.toString(), `m${i}`);
    assert.ok(m.data.equals(body(i)), `message ${i}`);
  }
  const last = await rx.recv({ timeout: 30000 });
  const elapsed = performance.now() - t0;
  h.disable();
  clearInterval(timer);
  await sending;
  assert.equal(last.info.toString(), 'big');
  assert.ok(last.data.equals(big), 'the 8 MB object arrived intact');
  const ms = (ns) => Math.round(ns / 1e5) / 10;
  const seen = `max ${ms(h.max)} ms, p99 ${ms(h.percentile(99))} ms, mean ${ms(h.mean)} ms over ${Math.round(elapsed)} ms; ${ticks} ticks of 10 ms`;
  t.diagnostic(`event-loop delay while ${n} messages and 8 MB flowed: ${seen}`);
  // The histogram holds the time between the checks of a 10 ms timer.
  assert.ok(h.count > 0 && elapsed > 50, `no measurement: ${seen}`);
  assert.ok(h.max < 200e6, `the event loop was blocked: ${seen}`);
  assert.ok(ticks >= elapsed / 10 / 4, `too few timer ticks: ${seen}`);
  ctx.close();
});

test("'message' events and for await", async () => {
  const { ctx, rx, tx } = pair();
  const events = [];
  const done = new Promise((resolve) => {
    rx.on('message', (m) => {
      events.push(m.data.toString());
      if (events.length === 20) resolve();
    });
  });
  for (let i = 0; i < 20; i++) await tx.send(`e${i}`);
  await done;
  assert.deepEqual(events, Array.from({ length: 20 }, (_, i) => `e${i}`));
  rx.removeAllListeners('message');
  ctx.close();

  const p = pair();
  for (let i = 0; i < 5; i++) await p.tx.send(`i${i}`);
  const got = [];
  for await (const m of p.rx) {
    got.push(m.data.toString());
    if (got.length === 5) break;
  }
  assert.deepEqual(got, ['i0', 'i1', 'i2', 'i3', 'i4']);
  // The loop ends by itself when the receiver closes.
  setTimeout(() => p.rx.close(), 100);
  let more = 0;
  for await (const _ of p.rx) more++;
  assert.equal(more, 0);
  p.ctx.close();
});

test('stats', async () => {
  const { ctx, rx, tx } = pair();
  await tx.send(Buffer.alloc(5000));
  await tx.flush();
  await rx.recv({ timeout: 5000 });
  const s = tx.stats();
  const r = rx.stats();
  assert.equal(s.objectsSent, 1);
  assert.equal(s.dataSegmentsSent, 4);
  assert.equal(r.objectsCompleted, 1);
  assert.equal(r.senders, 1);
  // Congestion control is on by default: the receiver gave feedback.
  assert.ok(s.ccFeedbackReceived > 0 && s.ccClr !== 0, JSON.stringify(s));
  assert.ok(s.txRateBps >= 64e3 && s.txRateBps <= 200e6, JSON.stringify(s));
  // Unsealed on both ends: the sealed-channel counters stay at zero.
  for (const st of [s, r]) {
    assert.deepEqual([st.datagramsUnauthenticated, st.datagramsReplayed, st.datagramsSealMismatch], [0, 0, 0], JSON.stringify(st));
  }
  ctx.close();
});

test('a process exits by itself once its handles are closed', () => {
  const code = `
    const { Context, channelAddress } = require('mcast');
    const ctx = new Context();
    const rx = ctx.receiver({ group: '${GROUP}', port: ${nextPort++}, interface: 'vb' });
    const tx = ctx.sender({ group: '${GROUP}', port: ${nextPort}, interface: 'va' });
    rx.recv().catch((e) => console.log('recv ended:', e.code));
    tx.send('x').then(() => tx.flush()).then(() => { ctx.close(); console.log('closed'); });
  `;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20000, env: process.env });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr}`);
  assert.match(r.stdout, /closed/);
  assert.match(r.stdout, /recv ended: MCAST_CLOSED/);
  assert.ok(Date.now() - t0 < 10000);
});

test('channel addresses match the documented vectors', async () => {
  assert.deepEqual(channelAddress('news'), { group: 'ff1e:ed75:5737:908e:e779:efa7:6800:c7c3', port: 53117 });
  assert.deepEqual(channelAddress('news', { ssm: true }), { group: 'ff3e::ed75:5737', port: 53117 });
  assert.deepEqual(channelAddress('news', { scope: 'link' }), { group: 'ff12:ed75:5737:908e:e779:efa7:6800:c7c3', port: 53117 });
  assert.deepEqual(channelAddress('news', { scope: 'site', ssm: true }), { group: 'ff35::ed75:5737', port: 53117 });
  assert.deepEqual(channelAddress('sensor/42'), { group: 'ff1e:411:977f:7741:5e1:bd8:86e:313b', port: 61661 });
  assert.deepEqual(channelAddress('sensor/42', { ssm: true }), { group: 'ff3e::8411:977f', port: 61661 });
  assert.deepEqual(channelAddress('Grüße ☃'), { group: 'ff1e:c75f:d652:f9be:c1aa:1f53:5856:6f3c', port: 50305 });
  assert.deepEqual(channelAddress('Grüße ☃', { scope: 'org', ssm: true }), { group: 'ff38::c75f:d652', port: 50305 });
  assert.throws(() => channelAddress(''), { code: 'MCAST_INVALID_ARGUMENT' });
  assert.throws(() => channelAddress('x', { scope: 'planet' }), { code: 'MCAST_INVALID_ARGUMENT' });
  const { group, port } = channelAddress('node-test-channel', { scope: 'link' });
  const ctx = new Context();
  const rx = ctx.receiver({ group, port, interface: 'vb' });
  const tx = ctx.sender({ group, port, interface: 'va' });
  await tx.send('on a channel');
  assert.equal((await rx.recv({ timeout: 5000 })).data.toString(), 'on a channel');
  ctx.close();
});

test("the README's Node.js section lists the error codes, error fields and events of index.d.ts", () => {
  const dts = fs.readFileSync(path.join(path.dirname(require.resolve('mcast')), 'index.d.ts'), 'utf8');
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8').split('## Node.js')[1].split('\n## ')[0];
  const codes = [...dts.split('export type McastErrorCode')[1].split(';')[0].matchAll(/'(MCAST_[A-Z_]+)'/g)].map((m) => m[1]);
  assert.ok(codes.includes('MCAST_REJECTED'), codes.join());
  assert.deepEqual([...new Set(readme.match(/MCAST_[A-Z_]+/g))].sort(), [...codes].sort());
  const fields = [...dts.split('export interface McastError extends Error {')[1].split('\n}')[0].matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1]);
  assert.deepEqual(fields.sort(), ['errno', 'objectId', 'reason', 'sender', 'senderNodeId']);
  for (const f of fields) assert.ok(readme.includes(`\`${f}\``), `README lacks the error field ${f}`);
  const events = [...new Set([...dts.matchAll(/^ {2}on\(event: '(\w+)'/gm)].map((m) => m[1]))];
  assert.deepEqual(events.sort(), ['aborted', 'close', 'error', 'message', 'rejected']);
  for (const e of events) assert.ok(readme.includes(`'${e}'`), `README lacks the event '${e}'`);
});

test('source-specific receivers hear only their sources', async () => {
  const out = spawnSync('ip', ['-6', '-o', 'addr', 'show', 'dev', 'va', 'scope', 'link'], { encoding: 'utf8' }).stdout;
  const va = out.split('inet6 ')[1].split('/')[0];
  const port = nextPort++;
  const ctx = new Context();
  const mine = ctx.receiver({ group: 'ff3e::8000:2', port, interface: 'vb', sources: [va] });
  const other = ctx.receiver({ group: 'ff3e::8000:2', port, interface: 'vb', sources: ['fe80::1234'] });
  const tx = ctx.sender({ group: 'ff3e::8000:2', port, interface: 'va' });
  await tx.send('ssm');
  assert.equal((await mine.recv({ timeout: 5000 })).data.toString(), 'ssm');
  await assert.rejects(other.recv({ timeout: 1000 }), { code: 'MCAST_TIMEOUT' });
  assert.throws(() => ctx.receiver({ group: 'ff3e::8000:2', port, interface: 'vb', sources: ['nope'] }), { code: 'MCAST_INVALID_ARGUMENT' });
  ctx.close();
});

test('acknowledged flush', async () => {
  const port = nextPort++;
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb', nodeId: 4242 });
  const tx = ctx.sender({ group: GROUP, port, interface: 'va' });
  assert.equal(rx.nodeId, 4242);
  await tx.send(Buffer.alloc(10000, 7));
  assert.deepEqual(await tx.flushAcked([4242, 4343], { timeout: 5000 }), { acked: [4242], missing: [4343] });
  assert.equal((await rx.recv({ timeout: 5000 })).data.length, 10000);
  await assert.rejects(tx.flushAcked([0]), { code: 'MCAST_INVALID_ARGUMENT' });
  assert.throws(() => ctx.receiver({ group: GROUP, port, interface: 'vb', nodeId: 0 }), { code: 'MCAST_INVALID_ARGUMENT' });
  ctx.close();
});

test('flow control waits for the listed receivers', async () => {
  const port = nextPort++;
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb', nodeId: 4244 });
  // A two-object cache that waits for the receiver: twenty objects go
  // through as it acknowledges them.
  const tx = ctx.sender({ group: GROUP, port, interface: 'va', cacheMaxObjects: 2, waitForAcks: [4244] });
  for (let i = 0; i < 20; i++) await tx.send(Buffer.alloc(3000, i));
  const got = [];
  for (let i = 0; i < 20; i++) got.push((await rx.recv({ timeout: 5000 })).data[0]);
  assert.deepEqual(got, [...Array(20).keys()]);
  // Waiting for a receiver that is not there: the third send stays pending.
  const gone = ctx.sender({ group: GROUP, port: nextPort++, interface: 'va', cacheMaxObjects: 2, waitForAcks: [4245] });
  await gone.send('a');
  await gone.send('b');
  const third = gone.send('c');
  third.catch(() => {});
  const winner = await Promise.race([third.then(() => 'sent'), new Promise((r) => setTimeout(() => r('pending'), 2000))]);
  assert.equal(winner, 'pending');
  assert.throws(() => ctx.sender({ group: GROUP, port, interface: 'va', waitForAcks: [] }), { code: 'MCAST_INVALID_ARGUMENT' });
  assert.throws(() => ctx.sender({ group: GROUP, port, interface: 'va', waitForAcks: [1.5] }), { code: 'MCAST_INVALID_ARGUMENT' });
  ctx.close();
});

test('without an interface, mcast picks one and says which', () => {
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port: nextPort++ });
  assert.ok(rx.nodeId > 0);
  // The veth end with the lower index (docs/PROTOCOL.md "Interface
  // choice"; lo is never a candidate).
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
  const ends = [...links.matchAll(/^(\d+): (va|vb)[@:]/gm)].map((m) => [Number(m[1]), m[2]]).sort((a, b) => a[0] - b[0]);
  assert.equal(ends.length, 2, links);
  assert.equal(rx.interface, ends[0][1]);
  const tx = ctx.sender({ group: GROUP, port: nextPort++, interface: 'va' });
  assert.equal(tx.interface, 'va');
  tx.close();
  assert.throws(() => tx.interface, { code: 'MCAST_CLOSED' });
  ctx.close();
});

test('generateKey: 32 random bytes', () => {
  const a = generateKey();
  const b = generateKey();
  assert.ok(Buffer.isBuffer(a) && Buffer.isBuffer(b));
  assert.equal(a.length, 32);
  assert.equal(b.length, 32);
  assert.ok(!a.equals(b));
});

test('loadKey reads hex and raw key files and says what is wrong with others', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcast-node-keys-'));
  const key = generateKey();
  const file = (name, content) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  // As `mcast keygen` writes it: 64 hex digits and a newline.
  assert.ok(loadKey(file('hex.key', `${key.toString('hex')}\n`)).equals(key));
  assert.ok(loadKey(file('HEX.key', `  ${key.toString('hex').toUpperCase()}\r\n`)).equals(key));
  const raw = Buffer.from(key);
  raw[0] = 0xff; // not a hex digit: 32 raw bytes, never read as hex
  const got = loadKey(file('raw.key', raw));
  assert.ok(Buffer.isBuffer(got) && got.length === 32 && got.equals(raw));
  for (const [name, content] of [
    ['short.key', key.toString('hex').slice(1)],
    ['long.key', `${key.toString('hex')}00`],
    ['nothex.key', 'z'.repeat(64)],
    ['raw31.key', raw.subarray(0, 31)],
    ['empty.key', ''],
  ]) {
    assert.throws(() => loadKey(file(name, content)), (e) => {
      assert.equal(e.code, 'MCAST_INVALID_ARGUMENT', `${name}: ${e.message}`);
      assert.match(e.message, /64 hexadecimal digits .* or 32 raw bytes/);
      assert.ok(e.message.includes(name), e.message);
      return true;
    });
  }
  const missing = path.join(dir, 'missing.key');
  assert.throws(() => loadKey(missing), (e) => e.code === 'MCAST_IO' && e.errno === 2 && e.message.includes(missing) && /key file/.test(e.message));
  assert.throws(() => loadKey(dir), (e) => e.code === 'MCAST_IO' && e.errno === 21);
  assert.throws(() => loadKey(42), { code: 'MCAST_INVALID_ARGUMENT', message: /path must be a string/ });
  assert.throws(() => loadKey(), { code: 'MCAST_INVALID_ARGUMENT' });
  fs.rmSync(dir, { recursive: true });
});

test('key and sealMaxAgeMs options are checked', () => {
  const ctx = new Context();
  const where = { group: GROUP, port: 5000 };
  for (const [make, iface] of [[(o) => ctx.sender(o), 'va'], [(o) => ctx.receiver(o), 'vb']]) {
    const o = { ...where, interface: iface };
    const bad = (extra, message) => assert.throws(() => make({ ...o, ...extra }), { code: 'MCAST_INVALID_ARGUMENT', message });
    bad({ key: Buffer.alloc(16) }, /key must be exactly 32 bytes, not 16/);
    bad({ key: new Uint8Array(33) }, /key must be exactly 32 bytes, not 33/);
    bad({ key: Buffer.alloc(0) }, /key must be exactly 32 bytes, not 0/);
    bad({ key: generateKey().toString('hex') }, /key must be a Buffer or Uint8Array/);
    bad({ key: [...generateKey()] }, /key must be a Buffer or Uint8Array/);
    bad({ key: new Uint16Array(16) }, /key must be a Buffer or Uint8Array/);
    bad({ key: null }, /key must be a Buffer or Uint8Array/);
    bad({ sealMaxAgeMs: -1 }, /sealMaxAgeMs must be a number >= 0/);
    bad({ sealMaxAgeMs: NaN }, /sealMaxAgeMs/);
    bad({ sealMaxAgeMs: '1000' }, /sealMaxAgeMs/);
    bad({ keyFile: 'x' }, /unknown .* option "keyFile"/);
    // Good ones: a Buffer, a Uint8Array view into a larger buffer, no age limit.
    make({ ...o, key: generateKey() }).close();
    make({ ...o, key: new Uint8Array(64).subarray(16, 48), sealMaxAgeMs: 0 }).close();
    make({ ...o, key: generateKey(), sealMaxAgeMs: 5000 }).close();
    make({ ...o, sealMaxAgeMs: 1000 }).close();
  }
  // Sealing takes 44 bytes of each segment.
  assert.throws(() => ctx.sender({ ...where, interface: 'va', key: generateKey(), segmentSize: 59 }), { code: 'MCAST_INVALID_ARGUMENT', message: /segment size 59/ });
  ctx.sender({ ...where, interface: 'va', key: generateKey(), segmentSize: 60 }).close();
  ctx.close();

  // The native layer checks too (and never aborts the process).
  const native = require('mcast/mcast.node');
  const n = new native.NativeContext({});
  assert.throws(() => n.sender({ ...where, interface: 'va', key: Buffer.alloc(31) }), { message: 'MCAST_INVALID_ARGUMENT: key must be exactly 32 bytes (generateKey() makes one), not 31' });
  assert.throws(() => n.receiver({ ...where, interface: 'vb', key: Buffer.alloc(64) }), { message: /^MCAST_INVALID_ARGUMENT: key must be exactly 32 bytes .*not 64$/ });
  assert.throws(() => n.receiver({ ...where, interface: 'vb', sealMaxAgeMs: -5 }), { message: /^MCAST_INVALID_ARGUMENT: sealMaxAgeMs must be/ });
  assert.throws(() => n.sender({ ...where, interface: 'va', key: 'not a buffer' }));
  n.close();
});

test("sealed: a receiver reports a source it drops ('rejected', MCAST_REJECTED) and goes on", async () => {
  const port = nextPort++;
  const key = generateKey();
  const ctx = new Context();
  const rx = ctx.receiver({ group: GROUP, port, interface: 'vb', key });
  const plain = ctx.sender({ group: GROUP, port, interface: 'va' });
  const sealed = ctx.sender({ group: GROUP, port, interface: 'va', key, rateBps: 200e6 });
  const rejected = [];
  const messages = [];
  const gotRejected = new Promise((resolve) => rx.on('rejected', (e) => resolve(rejected.push(e))));
  const gotMessage = new Promise((resolve) => rx.on('message', (m) => resolve(messages.push(m))));
  await plain.send('not sealed');
  await gotRejected;
  const e = rejected[0];
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'MCAST_REJECTED');
  assert.match(e.message, /refusing .*: its datagrams are not sealed/);
  assert.match(e.reason, /not sealed/);
  assert.equal(e.senderNodeId, plain.nodeId);
  assert.match(e.sender, /^\[fe80::/);
  // The receiver goes on: a sealed sender's message arrives, decrypted.
  const data = Buffer.alloc(5000, 'sealed ');
  await sealed.send(data, { info: 'secret info' });
  await gotMessage;
  assert.ok(messages[0].data.equals(data));
  assert.equal(messages[0].info.toString(), 'secret info');
  assert.equal(messages[0].senderNodeId, sealed.nodeId);
  assert.equal(rejected.length, 1);
  rx.removeAllListeners('message');
  const st = rx.stats();
  assert.ok(st.datagramsSealMismatch > 0 && st.datagramsUnauthenticated === 0, JSON.stringify(st));
  assert.equal(st.objectsCompleted, 1);
  ctx.close();
});
