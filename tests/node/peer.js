'use strict';
// A sender or receiver process for the Node network tests (run inside a lab
// namespace by lab.test.js).
//   node peer.js send GROUP PORT IFACE COUNT SIZE
//   node peer.js send-files GROUP PORT IFACE FILE...
//   node peer.js recv GROUP PORT IFACE COUNT [TIMEOUT_MS]
// recv prints one JSON line per object and exits 0 after COUNT, 3 on timeout.
// Before the mode, `--key FILE` makes a sealed channel with the key in FILE
// (loadKey); recv then prints a JSON line { rejected, sender, senderNodeId }
// for each MCAST_REJECTED and goes on.
const crypto = require('node:crypto');
const { Context, loadKey } = require('mcast');

async function main() {
  const argv = process.argv.slice(2);
  let key;
  if (argv[0] === '--key') {
    key = loadKey(argv[1]);
    argv.splice(0, 2);
  }
  const [mode, group, port, iface, ...rest] = argv;
  const ctx = new Context();
  const where = { group, port: Number(port), interface: iface, ...(key ? { key } : {}) };
  try {
    if (mode === 'send') {
      const [count, size] = rest.map(Number);
      const tx = ctx.sender({ ...where, rateBps: 50e6 });
      const pending = [];
      for (let i = 0; i < count; i++) {
        const head = Buffer.from(String(i).padStart(8, '0'));
        const body = Buffer.alloc(Math.max(0, size - head.length), i % 251);
        pending.push(tx.send(Buffer.concat([head, body]), { info: `m${i}` }));
      }
      await Promise.all(pending);
      await tx.flush({ timeout: 120000 });
      console.log(JSON.stringify({ ...tx.stats(), nodeId: tx.nodeId }));
    } else if (mode === 'send-files') {
      const tx = ctx.sender({ ...where, rateBps: 100e6 });
      for (const f of rest) await tx.sendFile(f);
      await tx.flush({ timeout: 120000 });
      console.log(JSON.stringify(tx.stats()));
    } else if (mode === 'recv') {
      const count = Number(rest[0]);
      const deadline = Date.now() + Number(rest[1] ?? 60000);
      const rx = ctx.receiver(where);
      for (let i = 0; i < count; i++) {
        let m;
        try {
          m = await rx.recv({ timeout: Math.max(0, deadline - Date.now()) });
        } catch (e) {
          if (e.code === 'MCAST_TIMEOUT') {
            console.log(JSON.stringify({ error: 'timeout', stats: rx.stats() }));
            process.exitCode = 3;
            return;
          }
          if (e.code === 'MCAST_REJECTED') {
            console.log(JSON.stringify({ rejected: e.reason, sender: e.sender, senderNodeId: e.senderNodeId }));
            i--;
            continue;
          }
          throw e;
        }
        console.log(JSON.stringify({
          objectId: String(m.objectId),
          kind: m.kind,
          info: m.info.toString(),
          size: m.data.length,
          sha256: crypto.createHash('sha256').update(m.data).digest('hex'),
          head: m.data.subarray(0, 8).toString('latin1'),
        }));
      }
      console.log(JSON.stringify({ stats: rx.stats() }));
    }
  } finally {
    ctx.close();
  }
}

main().catch((e) => {
  console.error(`peer: ${e.code} ${e.message}`);
  process.exit(1);
});
