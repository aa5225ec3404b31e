export * from './report.js';
export * from './parse.js';
export * from './cgroup.js';
