// `node dist/harness/target/container/build-image.js`: makes (or finds) the image of
// --target=container in the engine (DOCKER_HOST, else a Podman service started and stopped here);
// run by `npm run setup -- --container`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import { HarnessError, UsageError } from '../../run/errors.js';
import { openEngine, type Engine } from './engine.js';
import { ensureImage } from './image.js';

async function main(): Promise<number> {
  const log = (line: string) => console.log(line);
  const dir = await mkdtemp(join(tmpdir(), 'appc-container-'));
  let engine: Engine | undefined;
  try {
    engine = await openEngine(dir, log);
    const name = await ensureImage((await getContainerRuntimeClient()).container.dockerode, dir, log);
    log(`container: image ${name} on ${engine.description}`);
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof HarnessError)) throw err;
    console.error(`container: ${err.message}`);
    return err instanceof UsageError ? 2 : 3;
  } finally {
    await engine?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
