// `npm run vagrant-box`: builds the box of --target=vagrant (once per change of its inputs) and adds
// it to Vagrant offline; also run by `npm run setup -- --vagrant`.
import { HarnessError, UsageError } from '../../run/errors.js';
import { abortStarting } from '../abort.js';
import { BOX_NAME, ensureBox } from './box.js';

async function main(): Promise<number> {
  try {
    const { key, built } = await ensureBox((line) => console.log(line));
    console.log(`box: ${BOX_NAME} ${built ? 'built and added' : 'is current'} (key ${key})`);
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof HarnessError)) throw err;
    console.error(`box: ${err.message}`);
    return err instanceof UsageError ? 2 : 3;
  }
}

// Ctrl-C: the build runs in its own process group; end it and remove its files.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void abortStarting().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)));
}
process.exitCode = await main();
