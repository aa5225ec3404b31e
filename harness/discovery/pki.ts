// TLS material for one run's discovery server, made with Debian's openssl CLI: a run CA the
// implementation is told to trust, a server certificate for the run's domain signed by it, and a
// second CA with its own certificate for the same names that nobody trusts (the untrusted-certificate
// fault). Keys live only in the run's directory and die with it.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  key: string;
  cert: string;
}

export interface RunPki {
  /** the CA the implementation trusts for this run (PEM file) */
  caFile: string;
  /** certificate and key for the run's domain, signed by the run CA */
  server: CertPair;
  /** the same names signed by a CA nobody trusts */
  untrusted: CertPair;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

async function makeCa(dir: string, tag: string): Promise<CertPair> {
  const pair = { key: join(dir, `${tag}-ca.key`), cert: join(dir, `${tag}-ca.pem`) };
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', pair.key, '-out', pair.cert, '-subj', `/CN=appc-conformance ${tag} CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair;
}

async function makeLeaf(dir: string, tag: string, ca: CertPair, domain: string): Promise<CertPair> {
  const pair = { key: join(dir, `${tag}.key`), cert: join(dir, `${tag}.pem`) };
  const csr = join(dir, `${tag}.csr`);
  const ext = join(dir, `${tag}.ext`);
  await writeFile(ext, `subjectAltName=DNS:${domain},DNS:*.${domain}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pair.key, '-out', csr, '-subj', `/CN=${domain}`]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-out', pair.cert, '-extfile', ext]);
  return pair;
}

/** Makes the run's CA and certificates for `domain` and `*.domain` in `dir`. */
export async function makeRunPki(dir: string, domain: string): Promise<RunPki> {
  const [ca, other] = await Promise.all([makeCa(dir, 'run'), makeCa(dir, 'untrusted')]);
  const [server, untrusted] = await Promise.all([makeLeaf(dir, 'server', ca, domain), makeLeaf(dir, 'untrusted-server', other, domain)]);
  return { caFile: ca.cert, server, untrusted };
}
