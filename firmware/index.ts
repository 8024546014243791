// The firmware's public entry. Other layers import from here only.
export * from './types.ts';
export * from './errors.ts';
export * from './schedule/index.ts';
export * from './pin/PinPolicy.ts';
export * from './keypad/KeypadEntry.ts';
export * from './crypto/constantTime.ts';
export * from './audit/index.ts';
export * from './Lock.ts';
export * from './decide/decide.ts';
export { defaultSettings, validateSettings, mergeSettings, OPERATING_MODES } from './defaults.ts';
export { ROLES, USER_TYPES } from './users/userSpec.ts';
export { SCHEMA_VERSION, KEYWAY_APPLICATION_ID } from './store/migrations.ts';
