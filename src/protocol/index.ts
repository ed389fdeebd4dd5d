/**
 * groundstream wire protocol v1 (docs/protocol.md): message types, JSON Schemas, decoders and
 * encoders, and the binary frame header. Shared by the server and the client SDK.
 * Note for browser code: decode.ts and validator.ts bring in ajv; the client imports the other
 * modules directly so its bundles stay free of it.
 */
export * from './version.js';
export * from './limits.js';
export * from './messages.js';
export * from './schemas.js';
export * from './protocol-error.js';
export * from './validator.js';
export * from './decode.js';
export * from './parse-server.js';
export * from './encode.js';
export * from './frame-header.js';
export * from './auth.js';
export * from './close-codes.js';
