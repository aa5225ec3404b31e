// Peer suite: the appc spec's own ACE validator (ace/validator.go of appc/spec 0.8.11, built by
// `npm run setup`) run as a two-app pod through the implementation under test. Its per-stage
// OK/FAIL lines and "==> " error lines become findings that name clauses (harness/peer/
// ace-validator.ts); each test here asserts that no finding concerns its clauses. The tests are
// marked as the peer "ace-validator", so the report can compare its verdicts with our suites'.
import type { AppOutcome } from '../harness/impl/index.js';
import { findingsFor, judgeValidator, type AppOutput, type ValidatorVerdict } from '../harness/peer/ace-validator.js';
import { HarnessError } from '../harness/run/errors.js';
import { describe, expect, image, peerClauses, podRun, QUIET_MACHINE, session, test } from '../harness/run/conformance.js';
import { ACE_MAIN, ACE_SIDEKICK, aceValidatorMain, aceValidatorPod, aceValidatorSidekick } from '../fixtures/ace-validator.js';

const PEER = 'ace-validator';
const clauses = (...ids: string[]) => peerClauses(PEER, ...ids);

/** Its stages wait up to 5 s for each other while spinning a CPU, and its metadata checks give
 *  each request 100 ms: on a busy 2-core host the pod needs far more than a probe pod. */
const POD_TIMEOUT_MS = 180_000;

const validatorPod = podRun(['pod-manifest', 'multi-app', 'volumes/empty', 'metadata-service', 'event-handlers'], async () => {
  let specs;
  try {
    specs = [await aceValidatorMain(), await aceValidatorSidekick()] as const;
  } catch (err) {
    throw new HarnessError((err as Error).message);
  }
  const main = await image(specs[0]);
  const sidekick = await image(specs[1]);
  return {
    images: [main, sidekick],
    manifest: aceValidatorPod(main, sidekick),
    timeoutMs: Math.max(session().config.podTimeoutMs, POD_TIMEOUT_MS),
  };
  // Its 100 ms metadata requests fail on a machine busy with other pods: it runs alone.
}, undefined, { resources: [QUIET_MACHINE] });

let verdict: ValidatorVerdict | undefined;
/** The validator's findings, from the one pod run of this file. */
async function validator(skip: Parameters<typeof validatorPod>[0]): Promise<ValidatorVerdict> {
  const ev = await validatorPod(skip);
  const output = (name: string): AppOutput => {
    if (ev.refused) return { stdout: '', stderr: `the implementation refused the pod: ${ev.outcome.refusal}`, exitCode: null, signal: null };
    const app: AppOutcome | undefined = ev.outcome.apps.find((a) => a.name === name);
    return app ?? { stdout: '', stderr: `no result for app ${name}`, exitCode: null, signal: null };
  };
  verdict ??= judgeValidator(output(ACE_MAIN), output(ACE_SIDEKICK));
  return verdict;
}

type Ctx = { skip: Parameters<typeof validatorPod>[0]; check: (ids: string | string[], a: () => void) => void };

/** One check per clause: no finding of the validator concerns it. */
async function expectNoFindings({ skip, check }: Ctx, ...ids: string[]): Promise<void> {
  const v = await validator(skip);
  for (const id of ids) {
    const found = findingsFor(v, id).map((f) => (f.how === 'fallback' ? `${f.evidence} (stage failure, not placed more precisely)` : f.evidence));
    // The evidence goes into the message whole: it is what the report shows for the failure.
    check(id, () => expect(found.length === 0, `the ACE validator reported (${id}): ${found.join(' | ')}`).toBe(true));
  }
}

describe('ACE validator: pre-start stage (pre-start handler of ace-validator-main)', () => {
  test('runs the pre-start handler to its end before the main process starts', clauses('ACE-LIFE-001'), ({ skip, check }) =>
    expectNoFindings({ skip, check }, 'ACE-LIFE-001'),
  );

  test('starts the app from a fresh, writable copy of its rootfs', clauses('ACE-FS-010', 'ACE-FS-002'), ({ skip, check }) =>
    expectNoFindings({ skip, check }, 'ACE-FS-010', 'ACE-FS-002'),
  );
});

describe('ACE validator: main stage (ace-validator-main)', () => {
  test('sets PATH to the spec default', clauses('ACE-ENV-001'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-ENV-001'));

  test('starts the app in its workingDirectory', clauses('ACE-WD-001'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-WD-001'));

  test("passes the image's environment entries", clauses('ACE-ENV-007'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-ENV-007'));

  test('sets AC_APP_NAME to the pod app name', clauses('ACE-ENV-002'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-ENV-002'));

  test('mounts the pod volume read-write at the mountPoint path', clauses('ACE-VOL-001'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-VOL-001'));

  test('sets AC_METADATA_URL', clauses('ACE-ENV-003'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-ENV-003'));

  test('serves the reified pod manifest as JSON', clauses('MDS-POD-003', 'POD-REIFY-004', 'MDS-GEN-007'), ({ skip, check }) =>
    expectNoFindings({ skip, check }, 'MDS-POD-003', 'POD-REIFY-004', 'MDS-GEN-007'),
  );

  test('serves the pod UUID as us-ascii text', clauses('ACE-UUID-002', 'MDS-POD-004'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-UUID-002', 'MDS-POD-004'));

  test('serves the pod annotations of the manifest', clauses('MDS-POD-001', 'POD-ANN-002'), ({ skip, check }) => expectNoFindings({ skip, check }, 'MDS-POD-001', 'POD-ANN-002'));

  test("serves each app's image manifest", clauses('MDS-APP-004'), ({ skip, check }) => expectNoFindings({ skip, check }, 'MDS-APP-004'));

  test("serves each app's image ID, equal to the manifest's", clauses('MDS-APP-005', 'MDS-APP-006'), ({ skip, check }) =>
    expectNoFindings({ skip, check }, 'MDS-APP-005', 'MDS-APP-006'),
  );

  test("serves each app's annotations merged with the pod app's", clauses('MDS-APP-002', 'POD-APP-012'), ({ skip, check }) =>
    expectNoFindings({ skip, check }, 'MDS-APP-002', 'POD-APP-012'),
  );

  test('signs with the pod HMAC and verifies its own signature', clauses('MDS-HMAC-001', 'MDS-HMAC-003', 'MDS-HMAC-004', 'MDS-HMAC-007'), ({ skip, check }) =>
    expectNoFindings({ skip, check }, 'MDS-HMAC-001', 'MDS-HMAC-003', 'MDS-HMAC-004', 'MDS-HMAC-007'),
  );
});

describe('ACE validator: sidekick stage (ace-validator-sidekick)', () => {
  test('launches both apps of the pod together', clauses('POD-CTX-008'), ({ skip, check }) => expectNoFindings({ skip, check }, 'POD-CTX-008'));

  test('shares one fresh empty volume between the apps', clauses('POD-VOL-004'), ({ skip, check }) => expectNoFindings({ skip, check }, 'POD-VOL-004'));
});

describe('ACE validator: post-stop stage (post-stop handler of ace-validator-main)', () => {
  test('runs the post-stop handler after the main process has ended', clauses('ACE-LIFE-002'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-LIFE-002'));

  test("runs event handlers in the app's own filesystem", clauses('ACE-LIFE-005'), ({ skip, check }) => expectNoFindings({ skip, check }, 'ACE-LIFE-005'));
});
