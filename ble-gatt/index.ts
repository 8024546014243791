// ble-gatt public API: the pure parts (Noise, framing, secure channel, SPAKE2+, wire protocol, UUIDs).
// The bleno service and the noble client build on these.
export * from './errors.ts';
export * from './uuids.ts';
export * from './Framing.ts';
export * from './SecureChannel.ts';
export * from './SessionProof.ts';
export * from './noise/index.ts';
export * from './pake/index.ts';
export * from './protocol/index.ts';
