// Setup file of the conformance suites (vitest.config.ts): runs before each suite file, also when
// the files of a worker share one module cache, and registers the harness's hooks for that file.
import { fileHooks } from './conformance.js';

fileHooks();
