// OpenPGP keys of one run (openpgp from npm): made per run, never kept. RSA, which every
// OpenPGP implementation an ACE may use can verify.
import * as openpgp from 'openpgp';

export interface RunKey {
  /** armored public key, as a trust store or an ac-discovery-pubkeys URL hands it out */
  publicKey: string;
  fingerprint: string;
  sign(data: Uint8Array): Promise<string>;
}

export async function makeRunKey(label: string): Promise<RunKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'rsa',
    rsaBits: 2048,
    userIDs: [{ name: `appc-conformance ${label}`, email: `${label}@appc.test` }],
    format: 'armored',
  });
  const priv = await openpgp.readPrivateKey({ armoredKey: privateKey });
  return {
    publicKey,
    fingerprint: priv.getFingerprint(),
    /** a detached armored signature (what an `.aci.asc` holds) */
    async sign(data) {
      const message = await openpgp.createMessage({ binary: data });
      return (await openpgp.sign({ message, signingKeys: priv, detached: true, format: 'armored' })) as string;
    },
  };
}
