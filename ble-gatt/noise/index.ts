// Noise Protocol Framework, 25519 / ChaChaPoly / SHA256.
export { CipherState } from './CipherState.ts';
export { SymmetricState } from './SymmetricState.ts';
export {
  HandshakeState,
  NOISE_MAX_MESSAGE,
  type HandshakeOptions,
  type HandshakeResult,
} from './HandshakeState.ts';
export { PATTERNS, isPatternName, protocolName, type PatternName, type Token } from './patterns.ts';
export {
  DHLEN,
  HASHLEN,
  MAX_NONCE,
  TAGLEN,
  dh,
  keyPairFromPrivate,
  type KeyPair,
} from './cryptoFunctions.ts';
