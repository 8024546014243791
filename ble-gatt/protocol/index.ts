// The keyway BLE wire protocol: one module per message group.
export * from './cbor.ts';
export * as schema from './schema.ts';
export type { Codec, MapOf } from './schema.ts';
export * from './status.ts';
export * from './handshake.ts';
export * from './claim.ts';
export * from './commands.ts';
export * from './envelope.ts';
export * from './errorCodes.ts';
export * from './diagnostic.ts';
