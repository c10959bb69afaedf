'use strict';
// A sender or receiver process for the Node network tests (run inside a lab
// namespace by lab.test.js).
//   node peer.js send GROUP PORT IFACE COUNT SIZE
//   node peer.js send-files GROUP PORT IFACE FILE...
//   node peer.js recv GROUP PORT IFACE COUNT [TIMEOUT_MS]
// recv prints one JSON line per object and exits 0 after COUNT, 3 on timeout.
// Options before the mode: `--key FILE` makes a sealed channel with the key
// in FILE (loadKey); `--sign-key FILE` makes senders sign with the key in
// FILE (loadSigningKey); `--trust FILE` (repeatable) makes receivers accept
// only objects signed by the public key in FILE (loadPublicKey);
// `--node-id N` sets the node id. recv prints a JSON line { rejected,
// sender, senderNodeId } for each MCAST_REJECTED and { abortedObject,
// reason } for each MCAST_ABORTED and goes on; its object lines name the
// signer (hex, or null).
const crypto = require('node:crypto');
const { Context, loadKey, loadSigningKey, loadPublicKey } = require('mcast');

async function main() {
  const argv = process.argv.slice(2);
  const common = {};
  const sending = {};
  const receiving = {};
  for (;;) {
    if (argv[0] === '--key') common.key = loadKey(argv[1]);
    else if (argv[0] === '--node-id') common.nodeId = Number(argv[1]);
    else if (argv[0] === '--sign-key') sending.signingKey = loadSigningKey(argv[1]);
    else if (argv[0] === '--trust') (receiving.trustedSigners ??= []).push(loadPublicKey(argv[1]));
    else break;
    argv.splice(0, 2);
  }
  const [mode, group, port, iface, ...rest] = argv;
  const ctx = new Context();
  const where = { group, port: Number(port), interface: iface, ...common };
  try {
    if (mode === 'send') {
      const [count, size] = rest.map(Number);
      const tx = ctx.sender({ ...where, ...sending, rateBps: 50e6 });
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
      const tx = ctx.sender({ ...where, ...sending, rateBps: 100e6 });
      for (const f of rest) await tx.sendFile(f);
      await tx.flush({ timeout: 120000 });
      console.log(JSON.stringify(tx.stats()));
    } else if (mode === 'recv') {
      const count = Number(rest[0]);
      const deadline = Date.now() + Number(rest[1] ?? 60000);
      const rx = ctx.receiver({ ...where, ...receiving });
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
          if (e.code === 'MCAST_ABORTED') {
            console.log(JSON.stringify({ abortedObject: String(e.objectId), reason: e.reason }));
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
          senderNodeId: m.senderNodeId,
          signer: m.signer ? m.signer.toString('hex') : null,
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
