export * from './manifest.js';
export * from './builder.js';
export * from './validate.js';
