export * from './clause.js';
