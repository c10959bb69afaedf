'use strict';
// Never run: tests/node/run.sh type-checks this file (tsc --noEmit --strict,
// checkJs) against the module's index.d.ts, with the examples. It uses the
// signed-object API and the Receiver's events as an application would; its
// lines marked @ts-expect-error must stay errors.
const { Context, generateSigningKey, signingPublicKey, loadSigningKey, loadPublicKey } = require('mcast');

async function signedObjects() {
  /** @type {import('mcast').SigningKeyPair} */
  const pair = generateSigningKey();
  /** @type {Buffer} */
  const pub = signingPublicKey(new Uint8Array(pair.secretKey));
  /** @type {Buffer} */
  const secret = loadSigningKey('sign.key');
  /** @type {Buffer} */
  const trusted = loadPublicKey('sign.key.pub');
  const ctx = new Context();
  const tx = ctx.sender({ group: 'ff3e::4d43', port: 5000, signingKey: secret, nodeId: 1234 });
  const rx = ctx.receiver({ group: 'ff3e::4d43', port: 5000, trustedSigners: [pub, trusted, new Uint8Array(32)] });
  await tx.send('signed');
  const msg = await rx.recv();
  /** @type {Buffer | null} */
  const signer = msg.signer;
  if (signer !== null) console.log(signer.toString('hex'), msg.senderNodeId === tx.nodeId);
  // @ts-expect-error: signer may be null
  console.log(msg.signer.length);
  rx.on('rejected', (e) => console.log(e.code, e.reason, e.senderNodeId));
  /** @type {number} */
  const refused = rx.stats().objectsUnverified + rx.stats().signaturesRefused + rx.stats().nacksReceived;
  console.log(refused);
  /** @type {string} */
  const joinedOn = rx.interface + tx.interface;
  console.log(joinedOn);
  // @ts-expect-error: a signing key is bytes, not hex
  ctx.sender({ group: 'ff3e::4d43', port: 5000, signingKey: pair.secretKey.toString('hex') });
  // @ts-expect-error: receivers trust public keys, they do not sign
  ctx.receiver({ group: 'ff3e::4d43', port: 5000, signingKey: secret });
  // @ts-expect-error: senders do not trust
  ctx.sender({ group: 'ff3e::4d43', port: 5000, trustedSigners: [pub] });
  ctx.close();
}

/** @param {import('mcast').Receiver} rx */
function events(rx) {
  // The specific overloads come before the catch-all: their listeners get a
  // Message or an McastError, not any.
  rx.on('message', (m) => {
    /** @type {Buffer} */
    const data = m.data;
    // @ts-expect-error: data is a Buffer (the 'message' overload applies, not the catch-all)
    /** @type {string} */ const text = m.data;
    console.log(data, text);
  });
  rx.once('rejected', (e) => {
    // @ts-expect-error: no such code (the 'rejected' overload applies, not the catch-all)
    if (e.code === 'MCAST_NOPE') console.log(e.sender, e.senderNodeId, e.reason);
  });
  rx.once('close', () => console.log('closed'));
  // Any other event: EventEmitter's own signature (the catch-all), chaining.
  /** @type {import('mcast').Receiver} */
  const same = rx.on('newListener', (event, listener) => console.log(String(event), typeof listener)).once(Symbol.for('mcast'), () => {});
  same.off('message', () => {});
}

module.exports = { signedObjects, events };
