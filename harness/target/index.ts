export * from './target.js';
export * from './host-target.js';
export * from './lifecycle.js';
export { abortStarting } from './abort.js';
