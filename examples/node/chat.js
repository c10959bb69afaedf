// @ts-check
// A chat over a multicast group: every line you type goes to everyone on the
// group; what the others type appears as it arrives.
//
//   node chat.js NICK [GROUP] [PORT] [INTERFACE]
//
// Run it on several hosts (or network namespaces) on one link.
'use strict';
const readline = require('node:readline');
const { Context } = require('mcast');

async function main() {
  const [nick = 'anon', group = 'ff3e::4d43:c4a7', port = '5099', iface = 'eth0'] = process.argv.slice(2);
  const ctx = new Context();
  const receiver = ctx.receiver({ group, port: Number(port), interface: iface, syncPolicy: 'current' });
  const sender = ctx.sender({ group, port: Number(port), interface: iface, rateBps: 1e6 });
  receiver.on('message', (msg) => {
    if (msg.senderNodeId === sender.nodeId) return; // our own line, looped back
    console.log(`<${msg.info.toString()}> ${msg.data.toString()}`);
  });
  console.error(`chatting on [${group}]:${port} via ${iface} as ${nick}; Ctrl-D ends`);
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    await sender.send(line, { info: nick });
  }
  await sender.flush({ timeout: 5000 });
  ctx.close();
}

main().catch((/** @type {Error} */ e) => {
  console.error(`chat: ${e.message}`);
  process.exit(1);
});
