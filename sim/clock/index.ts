export * from './RtcClock.ts';
export * from './SimClock.ts';
export * from './RealClock.ts';
export * from './SeededRandom.ts';
export * from './CryptoRandom.ts';
