// Handshake patterns (Noise spec section 7). keyway uses IK and XX; the others are here because the
// test vectors exercise them and the engine is table-driven, so they cost nothing extra.

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';

export interface HandshakePattern {
  /** Pre-message keys known in advance: the initiator's and the responder's static keys. */
  readonly preInitiator: readonly 's'[];
  readonly preResponder: readonly 's'[];
  /** Message i is sent by the initiator when i is even. */
  readonly messages: readonly (readonly Token[])[];
}

export const PATTERNS = {
  NN: { preInitiator: [], preResponder: [], messages: [['e'], ['e', 'ee']] },
  NK: {
    preInitiator: [],
    preResponder: ['s'],
    messages: [
      ['e', 'es'],
      ['e', 'ee'],
    ],
  },
  KK: {
    preInitiator: ['s'],
    preResponder: ['s'],
    messages: [
      ['e', 'es', 'ss'],
      ['e', 'ee', 'se'],
    ],
  },
  XK: {
    preInitiator: [],
    preResponder: ['s'],
    messages: [
      ['e', 'es'],
      ['e', 'ee'],
      ['s', 'se'],
    ],
  },
  IK: {
    preInitiator: [],
    preResponder: ['s'],
    messages: [
      ['e', 'es', 's', 'ss'],
      ['e', 'ee', 'se'],
    ],
  },
  XX: { preInitiator: [], preResponder: [], messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']] },
  IX: {
    preInitiator: [],
    preResponder: [],
    messages: [
      ['e', 's'],
      ['e', 'ee', 'se', 's', 'es'],
    ],
  },
} as const satisfies Record<string, HandshakePattern>;

export type PatternName = keyof typeof PATTERNS;

export function protocolName(pattern: PatternName): string {
  return `Noise_${pattern}_25519_ChaChaPoly_SHA256`;
}

export function isPatternName(name: string): name is PatternName {
  return Object.hasOwn(PATTERNS, name);
}
