'use strict';
// Node senders and receivers in separate processes on the lab's bridge at
// 5 % loss, against each other, the mcast command and libnorm (both ways).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Lab, ROOT } = require('./lab.js');
const { generateKey } = require('mcast');

const GROUP = 'ff3e::4d43:61';
const PEER = path.join(__dirname, 'peer.js');
const MCAST = process.env.MCAST || path.join(ROOT, 'target', 'release', 'mcast');
const NORMPEER = path.join(ROOT, 'target', 'interop', 'normpeer');
const RX = ['r1', 'r2', 'r3'];
let lab;
let dir;

before(() => {
  lab = Lab.up(3);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcast-node-lab-'));
  fs.chmodSync(dir, 0o755);
});
after(() => {
  if (lab) lab.down();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function jsonLines(r, who) {
  assert.equal(r.code, 0, `${who} exited ${r.code}: ${r.stderr.slice(-2000)} ${r.stdout.slice(-300)}`);
  return r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

async function receivers(port, count) {
  const procs = RX.map((h) => {
    lab.loss(h, 5, port);
    return lab.run(h, [process.execPath, PEER, 'recv', GROUP, String(port), 'eth0', String(count), '120000']);
  });
  for (const h of RX) await lab.waitJoined(h, GROUP);
  return procs;
}

function files(specs) {
  return specs.map(([name, size]) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, crypto.randomBytes(size));
    return p;
  });
}

const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

test('10,000 messages in order to 3 receivers at 5% loss', async () => {
  const port = 6500;
  const n = 10000;
  const procs = await receivers(port, n);
  const stats = jsonLines(await lab.run('s', [process.execPath, PEER, 'send', GROUP, String(port), 'eth0', String(n), '64']), 'sender').pop();
  for (const [i, p] of procs.entries()) {
    const objs = jsonLines(await p, RX[i]).filter((o) => o.objectId !== undefined);
    assert.equal(objs.length, n, `${RX[i]}: ${objs.length} of ${n}`);
    objs.forEach((o, k) => {
      assert.equal(o.head, String(k).padStart(8, '0'), `${RX[i]}: message ${k}`);
      assert.equal(o.info, `m${k}`);
    });
    assert.ok(lab.dropped(RX[i]) > 0, `${RX[i]}: no loss injected`);
  }
  assert.ok(stats.nacksReceived > 0 && stats.repairSegmentsSent > 0, JSON.stringify(stats));
});

test('files to 3 receivers at 5% loss', async () => {
  const port = 6510;
  const fl = files([['empty.bin', 0], ['one.bin', 1], ['big.bin', 5000000]]);
  const procs = await receivers(port, fl.length);
  jsonLines(await lab.run('s', [process.execPath, PEER, 'send-files', GROUP, String(port), 'eth0', ...fl]), 'sender');
  for (const [i, p] of procs.entries()) {
    const objs = jsonLines(await p, RX[i]).filter((o) => o.objectId !== undefined);
    assert.deepEqual(objs.map((o) => [o.info, o.kind, o.sha256]), fl.map((f) => [path.basename(f), 'file', sha(f)]), RX[i]);
  }
});

test('Node receivers get what the mcast command sends', async () => {
  assert.ok(fs.existsSync(MCAST), `no mcast binary at ${MCAST}`);
  const port = 6520;
  const [f] = files([['from-cli.bin', 3000000]]);
  const procs = await receivers(port, 1);
  const s = await lab.run('s', [MCAST, 'send', '--group', GROUP, '--port', String(port), '--interface', 'eth0', '--quiet', f]);
  assert.equal(s.code, 0, s.stderr);
  for (const [i, p] of procs.entries()) {
    const objs = jsonLines(await p, RX[i]).filter((o) => o.objectId !== undefined);
    assert.deepEqual(objs.map((o) => [o.info, o.sha256]), [['from-cli.bin', sha(f)]], RX[i]);
  }
});

test('the mcast command gets what Node sends', async () => {
  const port = 6530;
  const out = path.join(dir, 'cli-out');
  lab.loss('r1', 5, port);
  const recv = lab.run('r1', [MCAST, 'recv', '--group', GROUP, '--port', String(port), '--interface', 'eth0', '--out', out, '--count', '50', '--timeout', '120', '--quiet']);
  await lab.waitJoined('r1', GROUP);
  jsonLines(await lab.run('s', [process.execPath, PEER, 'send', GROUP, String(port), 'eth0', '50', '3000']), 'sender');
  const r = await recv;
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 50; i++) {
    const data = fs.readFileSync(path.join(out, `m${i}`));
    assert.equal(data.subarray(0, 8).toString(), String(i).padStart(8, '0'));
    assert.equal(data.length, 3000);
  }
});

/** Builds tests/interop/normpeer (libnorm) when it is missing or stale. */
function normpeer() {
  const b = spawnSync('bash', [path.join(ROOT, 'tests', 'interop', 'build.sh')], { encoding: 'utf8' });
  assert.equal(b.status, 0, `building the libnorm peer failed: ${b.stderr}`);
  assert.ok(fs.existsSync(NORMPEER), `no libnorm peer at ${NORMPEER}`);
}

test('Node receivers get what libnorm sends', async () => {
  normpeer();
  const port = 6540;
  const fl = files([['a.bin', 1], ['b.bin', 40000], ['c.bin', 3000000]]);
  const procs = await receivers(port, fl.length);
  const s = await lab.run('s', [NORMPEER, 'send', '--group', GROUP, '--port', String(port), '--interface', 'eth0', '--rate', '100000000', '--block', '64', '--parity', '16', ...fl]);
  assert.equal(s.code, 0, `libnorm sender: ${s.stderr.slice(-2000)}`);
  for (const [i, p] of procs.entries()) {
    const lines = jsonLines(await p, RX[i]);
    const objs = lines.filter((o) => o.objectId !== undefined);
    assert.deepEqual(objs.map((o) => [o.info, o.sha256]), fl.map((f) => [path.basename(f), sha(f)]), RX[i]);
    assert.ok(lines.at(-1).stats.nacksSent > 0, `${RX[i]}: no NACKs (was there loss?)`);
  }
});

test('libnorm receivers get what Node sends', async (t) => {
  normpeer();
  /**
   * Starts `normpeer recv` (libnorm) on r1..r3 at 5 % loss, writing COUNT
   * objects to DIR-HOST; resolves once all of them joined. As in
   * tests/interop/mcast_libnorm.sh: a 4 MB socket buffer (libnorm's default
   * overflows at these rates), started before the sender (libnorm syncs on
   * the first object it hears).
   */
  async function libnormReceivers(port, count, label) {
    const rx = RX.map((h) => {
      lab.loss(h, 5, port);
      const out = path.join(dir, `${label}-${h}`);
      const proc = lab.run(h, [NORMPEER, 'recv', '--group', GROUP, '--port', String(port), '--interface', 'eth0',
        '--out', out, '--count', String(count), '--timeout', '90', '--socket-buffer', '4194304']);
      return { host: h, out, proc };
    });
    for (const h of RX) await lab.waitJoined(h, GROUP);
    return rx;
  }
  /** Waits for each libnorm receiver: exit 0, exactly the names expected (normpeer keeps an empty cache directory), loss injected. */
  async function received(rx, names) {
    const dropped = [];
    for (const { host, out, proc } of rx) {
      const r = await proc;
      assert.equal(r.code, 0, `${host} (libnorm) exited ${r.code}: ${r.stderr.slice(-2000)} ${r.stdout.slice(-500)}`);
      const got = fs.readdirSync(out).filter((n) => !n.startsWith('.normpeer-cache-')).sort();
      assert.deepEqual(got, [...names].sort(), `${host}: ${r.stdout}`);
      const d = lab.dropped(host);
      assert.ok(d > 0, `${host}: no loss injected`);
      dropped.push(`${host} ${d}`);
    }
    return dropped.join(', ');
  }
  /** The Node sender heard the libnorm receivers' NACKs and repaired. */
  const repaired = (label, stats, dropped) => {
    const { nacksReceived, dataSegmentsSent, repairSegmentsSent, paritySegmentsSent } = stats;
    t.diagnostic(`${label}: dropped ${dropped}; Node sender ${JSON.stringify({ nacksReceived, dataSegmentsSent, repairSegmentsSent, paritySegmentsSent })}`);
    assert.ok(nacksReceived > 0 && repairSegmentsSent > 0, `${label}: no repairs (was there loss?): ${JSON.stringify(stats)}`);
  };

  // 1. FILE objects (sendFile), the big one first, a 0-byte one last.
  const fl = files([['n2l-big.bin', 3000000], ['n2l-kb.bin', 37777], ['n2l-one.bin', 1], ['n2l-empty.bin', 0]]);
  const frx = await libnormReceivers(6570, fl.length, 'n2l-files');
  const fstats = jsonLines(await lab.run('s', [process.execPath, PEER, 'send-files', GROUP, '6570', 'eth0', ...fl]), 'Node sender').pop();
  const fdropped = await received(frx, fl.map((f) => path.basename(f)));
  for (const { host, out } of frx) {
    for (const f of fl) {
      const g = path.join(out, path.basename(f));
      assert.equal(fs.statSync(g).size, fs.statSync(f).size, `${host}: ${path.basename(f)} size`);
      assert.equal(sha(g), sha(f), `${host}: ${path.basename(f)} SHA-256`);
    }
  }
  repaired('files', fstats, fdropped);

  // 2. DATA objects (send): 40 messages of 30000 bytes, named by their info.
  const n = 40;
  const size = 30000;
  const drx = await libnormReceivers(6571, n, 'n2l-data');
  const dstats = jsonLines(await lab.run('s', [process.execPath, PEER, 'send', GROUP, '6571', 'eth0', String(n), String(size)]), 'Node sender').pop();
  const ddropped = await received(drx, Array.from({ length: n }, (_, k) => `m${k}`));
  for (const { host, out } of drx) {
    for (let k = 0; k < n; k++) {
      // What peer.js sends: the index in 8 digits, then k % 251.
      const head = Buffer.from(String(k).padStart(8, '0'));
      const want = Buffer.concat([head, Buffer.alloc(size - head.length, k % 251)]);
      assert.ok(fs.readFileSync(path.join(out, `m${k}`)).equals(want), `${host}: message ${k}`);
    }
  }
  repaired('data', dstats, ddropped);
});

/**
 * The one-byte key id a sealed datagram carries (core/src/seal.rs, Key::id):
 * keys whose ids differ are told apart ("different key"); equal ids (1 in
 * 256) would be reported as failed authentication instead.
 */
const keyId = (k) => crypto.createHash('sha256').update('mcast seal key id').update(k).digest()[0];

test('sealed channel: the key holder gets everything at 5% loss; a different key and no key are rejected', async () => {
  const port = 6550;
  const n = 50;
  const size = 10000;
  const key = generateKey();
  let other = generateKey();
  while (keyId(other) === keyId(key)) other = generateKey();
  const keyFile = path.join(dir, 'channel.key');
  const otherFile = path.join(dir, 'other.key');
  // One as `mcast keygen` writes it (hex), one as raw bytes: loadKey reads both.
  fs.writeFileSync(keyFile, `${key.toString('hex')}\n`);
  fs.writeFileSync(otherFile, other);
  lab.loss('r1', 5, port);
  const recv = (host, keyArgs, count, timeoutMs) =>
    lab.run(host, [process.execPath, PEER, ...keyArgs, 'recv', GROUP, String(port), 'eth0', String(count), String(timeoutMs)]);
  const holder = recv('r1', ['--key', keyFile], n, 60000);
  // The others hear the whole transfer (it takes well under 3 s) and time out.
  const stranger = recv('r2', ['--key', otherFile], 1, 3000);
  const keyless = recv('r3', [], 1, 3000);
  for (const h of RX) await lab.waitJoined(h, GROUP);
  const stats = jsonLines(await lab.run('s', [process.execPath, PEER, '--key', keyFile, 'send', GROUP, String(port), 'eth0', String(n), String(size)]), 'sender').pop();

  const objs = jsonLines(await holder, 'r1').filter((o) => o.objectId !== undefined);
  assert.equal(objs.length, n);
  objs.forEach((o, k) => {
    const head = Buffer.from(String(k).padStart(8, '0'));
    const whole = Buffer.concat([head, Buffer.alloc(size - head.length, k % 251)]);
    assert.equal(o.sha256, crypto.createHash('sha256').update(whole).digest('hex'), `r1: message ${k}`);
    assert.equal(o.info, `m${k}`);
  });
  assert.ok(lab.dropped('r1') > 0, 'r1: no loss injected');
  // Repairs need the receiver's sealed NACKs to be heard.
  assert.ok(stats.nacksReceived > 0 && stats.repairSegmentsSent > 0, JSON.stringify(stats));
  assert.equal(stats.datagramsUnauthenticated, 0, JSON.stringify(stats));

  for (const [host, proc, reason, counter] of [
    ['r2', stranger, /different key/, 'datagramsUnauthenticated'],
    ['r3', keyless, /no key/, 'datagramsSealMismatch'],
  ]) {
    const r = await proc;
    assert.equal(r.code, 3, `${host} should time out without a message: ${r.stderr} ${r.stdout}`);
    const lines = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    assert.equal(lines.filter((o) => o.objectId !== undefined).length, 0, `${host} got a message`);
    // Reported once for the sender (and once for r1, whose sealed NACKs
    // are multicast to the group too).
    const rejected = lines.filter((o) => o.rejected !== undefined);
    const fromSender = rejected.filter((o) => o.senderNodeId === stats.nodeId);
    assert.equal(fromSender.length, 1, `${host}: ${r.stdout}`);
    assert.match(fromSender[0].sender, /^\[fd6d:6361:7374::1\]:\d+$/);
    for (const o of rejected) assert.match(o.rejected, reason, `${host}: ${r.stdout}`);
    const rs = lines.at(-1).stats;
    assert.ok(rs[counter] > 0 && rs.objectsCompleted === 0 && rs.senders === 0, `${host}: ${JSON.stringify(rs)}`);
  }
});

test("README's Node example exchanges data with the mcast command", async () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const code = readme.split('## Node.js')[1].split('```js\n')[1].split('```')[0].replaceAll("'eth1'", "'eth0'");
  const work = fs.mkdtempSync(path.join(dir, 'readme-'));
  fs.chmodSync(work, 0o755);
  fs.writeFileSync(path.join(work, 'example.js'), code);
  const report = path.join(work, 'report.pdf');
  fs.writeFileSync(report, crypto.randomBytes(200000));
  const example = lab.run('r1', ['sh', '-c', `cd "${work}" && exec "${process.execPath}" example.js`], 60000);
  await lab.waitJoined('r1', 'ff3e::4d43');
  const out = path.join(work, 'cli-out');
  const recv = lab.run('r2', [MCAST, 'recv', '--group', 'ff3e::4d43', '--port', '5000', '--interface', 'eth0', '--out', out, '--count', '3', '--timeout', '60', '--quiet']);
  await lab.waitJoined('r2', 'ff3e::4d43');
  const s = await lab.run('s', [MCAST, 'send', '--group', 'ff3e::4d43', '--port', '5000', '--interface', 'eth0', '--quiet', report]);
  assert.equal(s.code, 0, s.stderr);
  const e = await example;
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /report\.pdf \[fd6d:6361:7374::1\]:5000 0n/);
  const r = await recv;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.readFileSync(path.join(out, 'report.pdf')).equals(fs.readFileSync(report)));
  assert.equal(fs.readFileSync(path.join(out, 'greeting'), 'utf8'), 'hello');
});

test('signed objects with the mcast command: its keys load in Node, each side trusts what the other signs, unsigned streams are refused', async () => {
  assert.ok(fs.existsSync(MCAST), `no mcast binary at ${MCAST}`);
  const { loadSigningKey, loadPublicKey, signingPublicKey } = require('mcast');
  const port = 6560;
  const keys = fs.mkdtempSync(path.join(dir, 'sign-'));
  fs.chmodSync(keys, 0o755);
  const a = path.join(keys, 'a');
  const b = path.join(keys, 'b');
  for (const k of [a, b]) {
    const g = spawnSync(MCAST, ['keygen', '--quiet', '--sign', k], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
  }
  // What `mcast keygen --sign` writes, Node reads.
  const pubA = loadPublicKey(`${a}.pub`);
  assert.ok(signingPublicKey(loadSigningKey(a)).equals(pubA));
  assert.ok(!loadPublicKey(`${b}.pub`).equals(pubA));
  const peer = (host, args, timeoutMs) => lab.run(host, [process.execPath, PEER, ...args], timeoutMs);
  const lines = (r) => r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

  // 1. Node signs (with a fixed node id), `mcast recv --trust` accepts it.
  lab.loss('r1', 3, port);
  const out = path.join(keys, 'cli-out');
  const cli = lab.run('r1', [MCAST, 'recv', '--group', GROUP, '--port', String(port), '--interface', 'eth0', '--trust', `${a}.pub`,
    '--out', out, '--count', '20', '--timeout', '60', '--json', '--quiet']);
  await lab.waitJoined('r1', GROUP);
  const sent = jsonLines(await peer('s', ['--sign-key', a, '--node-id', '77', 'send', GROUP, String(port), 'eth0', '20', '30000']), 'sender').pop();
  assert.equal(sent.nodeId, 77);
  const c = await cli;
  assert.equal(c.code, 0, `mcast recv: ${c.stderr.slice(-2000)}`);
  const summary = JSON.parse(c.stdout);
  assert.equal(summary.files.length, 20, c.stdout);
  for (const f of summary.files) assert.equal(f.signer, pubA.toString('hex'), JSON.stringify(f));
  for (let i = 0; i < 20; i++) assert.equal(fs.readFileSync(path.join(out, `m${i}`)).subarray(0, 8).toString(), String(i).padStart(8, '0'));
  assert.ok(lab.dropped('r1') > 0, 'r1: no loss injected');

  // 2. `mcast send --sign-key` signs, a Node receiver trusting a.pub gets the
  // file with its signer, one trusting b.pub refuses it.
  const [f] = files([['signed-by-cli.bin', 2000000]]);
  const trusting = peer('r1', ['--trust', `${a}.pub`, 'recv', GROUP, String(port + 1), 'eth0', '1', '60000']);
  const stranger = peer('r2', ['--trust', `${b}.pub`, 'recv', GROUP, String(port + 1), 'eth0', '1', '4000']);
  for (const h of ['r1', 'r2']) await lab.waitJoined(h, GROUP);
  const s = await lab.run('s', [MCAST, 'send', '--group', GROUP, '--port', String(port + 1), '--interface', 'eth0', '--sign-key', a, '--quiet', f]);
  assert.equal(s.code, 0, s.stderr);
  const got = jsonLines(await trusting, 'r1').filter((o) => o.objectId !== undefined);
  assert.deepEqual(got.map((o) => [o.info, o.kind, o.sha256, o.signer]), [['signed-by-cli.bin', 'file', sha(f), pubA.toString('hex')]]);
  const st = await stranger;
  assert.equal(st.code, 3, `r2 should time out without a message: ${st.stderr} ${st.stdout}`);
  const r2 = lines(st);
  assert.equal(r2.filter((o) => o.objectId !== undefined).length, 0, st.stdout);
  assert.deepEqual(r2.filter((o) => o.abortedObject !== undefined).map((o) => o.abortedObject), ['0'], st.stdout);
  assert.ok(r2.some((o) => o.rejected !== undefined && /does not trust/.test(o.rejected)), st.stdout);
  assert.equal(r2.at(-1).stats.objectsUnverified, 1, st.stdout);

  // 3. An unsigned stream is refused by a trusting Node receiver (at its end:
  // it never came with a signature).
  const streamRx = peer('r1', ['--trust', `${a}.pub`, 'recv', GROUP, String(port + 2), 'eth0', '1', '4000']);
  await lab.waitJoined('r1', GROUP);
  const stream = await lab.run('s', ['sh', '-c', `printf 'one\\ntwo\\n' | "${MCAST}" send --group ${GROUP} --port ${port + 2} --interface eth0 --quiet --stream feed`]);
  assert.equal(stream.code, 0, stream.stderr);
  const sr = await streamRx;
  assert.equal(sr.code, 3, `r1 should time out without a message: ${sr.stderr} ${sr.stdout}`);
  const r1 = lines(sr);
  assert.equal(r1.filter((o) => o.objectId !== undefined).length, 0, sr.stdout);
  assert.ok(r1.some((o) => o.rejected !== undefined && /not signed/.test(o.rejected)), sr.stdout);
  assert.ok(r1.some((o) => o.abortedObject !== undefined && /^refused: .*not signed/.test(o.reason)), sr.stdout);
});
