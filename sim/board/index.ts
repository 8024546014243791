export * from './VirtualBoard.ts';
