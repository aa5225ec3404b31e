export * from './implementation.js';
export * from './registry.js';
