export * from './domain/types.js';
export * from './domain/geometry.js';
export * from './domain/query.js';
export * from './errors.js';
