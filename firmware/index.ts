// The firmware's public entry. Other layers import from here only.
export * from './types.ts';
export * from './errors.ts';
