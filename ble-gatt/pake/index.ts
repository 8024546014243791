export * from './Spake2Plus.ts';
export * from './setupCode.ts';
