// Every Noise_*_25519_ChaChaPoly_SHA256 vector (cacophony) byte for byte: handshake messages, the final
// handshake hash and the transport messages that follow, alternating initiator / responder.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HandshakeState, PATTERNS, isPatternName, keyPairFromPrivate } from '../../ble-gatt/noise/index.ts';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_ephemeral: string;
  init_static?: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_ephemeral: string;
  resp_static?: string;
  resp_remote_static?: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const file = JSON.parse(
  readFileSync(new URL('./vectors/noise-25519-chachapoly-sha256.json', import.meta.url), 'utf8'),
) as {
  vectors: Vector[];
};
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pair = (s: string | undefined) => (s === undefined ? undefined : keyPairFromPrivate(hex(s)));

describe('Noise test vectors', () => {
  it('covers IK and XX and every vector in the file', () => {
    const names = file.vectors.map((v) => v.protocol_name);
    expect(names).toContain('Noise_IK_25519_ChaChaPoly_SHA256');
    expect(names).toContain('Noise_XX_25519_ChaChaPoly_SHA256');
    expect(file.vectors).toHaveLength(7);
  });

  for (const v of file.vectors) {
    it(v.protocol_name, () => {
      const pattern = /^Noise_([A-Z]+)_25519_ChaChaPoly_SHA256$/.exec(v.protocol_name)?.[1] ?? '';
      expect(isPatternName(pattern)).toBe(true);
      if (!isPatternName(pattern)) return;
      const init = new HandshakeState({
        pattern,
        initiator: true,
        prologue: hex(v.init_prologue),
        s: pair(v.init_static),
        e: pair(v.init_ephemeral),
        rs: v.init_remote_static === undefined ? undefined : hex(v.init_remote_static),
      });
      const resp = new HandshakeState({
        pattern,
        initiator: false,
        prologue: hex(v.resp_prologue),
        s: pair(v.resp_static),
        e: pair(v.resp_ephemeral),
        rs: v.resp_remote_static === undefined ? undefined : hex(v.resp_remote_static),
      });
      const handshakeLength = PATTERNS[pattern].messages.length;
      v.messages.forEach((m, i) => {
        const initiatorSends = i % 2 === 0;
        const [sender, receiver] = initiatorSends ? [init, resp] : [resp, init];
        if (i < handshakeLength) {
          const ct = sender.writeMessage(hex(m.payload));
          expect(toHex(ct)).toBe(m.ciphertext);
          expect(toHex(receiver.readMessage(ct))).toBe(m.payload);
          if (i === handshakeLength - 1) {
            expect(toHex(init.result().handshakeHash)).toBe(v.handshake_hash);
            expect(toHex(resp.result().handshakeHash)).toBe(v.handshake_hash);
          }
        } else {
          const ct = sender.result().send.encryptWithAd(new Uint8Array(0), hex(m.payload));
          expect(toHex(ct)).toBe(m.ciphertext);
          expect(toHex(receiver.result().receive.decryptWithAd(new Uint8Array(0), ct))).toBe(m.payload);
        }
      });
    });
  }
});
