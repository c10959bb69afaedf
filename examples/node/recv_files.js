// @ts-check
// Receives files sent to a group (by `mcast send` or any NORM sender) and
// writes them to a directory, reporting each one.
//
//   node recv_files.js OUTDIR [COUNT] [GROUP] [PORT] [INTERFACE]
'use strict';
const fs = require('node:fs/promises');
const path = require('node:path');
const { Context } = require('mcast');

/** @param {Buffer} info @param {bigint} id */
function safeName(info, id) {
  const name = path.basename(info.toString('utf8').replaceAll('\\', '/'));
  return name && name !== '.' && name !== '..' ? name : `object-${id}`;
}

async function main() {
  const [out = 'inbox', count = '0', group = 'ff3e::4d43', port = '5000', iface = 'eth0'] = process.argv.slice(2);
  await fs.mkdir(out, { recursive: true });
  const ctx = new Context();
  const receiver = ctx.receiver({ group, port: Number(port), interface: iface });
  console.error(`listening on [${group}]:${port} via ${iface}`);
  let n = 0;
  for await (const msg of receiver) {
    const name = safeName(msg.info, msg.objectId);
    await fs.writeFile(path.join(out, name), msg.data);
    console.log(`${name}: ${msg.data.length} bytes from ${msg.sender}`);
    if (++n === Number(count)) break;
  }
  ctx.close();
}

main().catch((/** @type {import('mcast').McastError} */ e) => {
  console.error(`recv_files: ${e.code ?? ''} ${e.message}`);
  process.exit(1);
});
