'use strict';
// Never run: tests/node/run.sh type-checks this file (tsc --noEmit --strict,
// checkJs) against the module's index.d.ts, with the examples. It uses the
// signed-object API as an application would; the @ts-expect-error lines must
// stay errors.
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
  const refused = rx.stats().objectsUnverified + rx.stats().signaturesRefused;
  console.log(refused);
  // @ts-expect-error: a signing key is bytes, not hex
  ctx.sender({ group: 'ff3e::4d43', port: 5000, signingKey: pair.secretKey.toString('hex') });
  // @ts-expect-error: receivers trust public keys, they do not sign
  ctx.receiver({ group: 'ff3e::4d43', port: 5000, signingKey: secret });
  // @ts-expect-error: senders do not trust
  ctx.sender({ group: 'ff3e::4d43', port: 5000, trustedSigners: [pub] });
  ctx.close();
}

module.exports = { signedObjects };
