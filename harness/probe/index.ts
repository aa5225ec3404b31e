export * from './report.js';
export * from './parse.js';
