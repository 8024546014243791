// The hub's wire format: length-prefixed frames over a Unix socket (or loopback TCP).
//
//   u32 BE  length of what follows
//   u16 BE  length J of the JSON header
//   J bytes UTF-8 JSON: the message, with its `data` field (if a Uint8Array) moved to the tail and
//           other byte fields written as {"$hex": "..."}
//   rest    the `data` bytes (ACL payloads travel without any encoding)
import { KeywayError } from '../../firmware/errors.ts';

export const MAX_FRAME = 1 << 20;
export const PROTOCOL_VERSION = 1;

export type Wire = { t: string; [k: string]: unknown };

function replacer(this: unknown, key: string, value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { $hex: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$hex' in value) {
    const h = value.$hex;
    if (typeof h !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(h))
      throw new KeywayError('protocol', 'hub frame: bad $hex');
    return new Uint8Array(Buffer.from(h, 'hex'));
  }
  return value;
}

export function encodeFrame(msg: Wire): Buffer {
  let tail: Uint8Array | null = null;
  let head: Wire = msg;
  if (msg.data instanceof Uint8Array) {
    tail = msg.data;
    head = { ...msg, data: null, $tail: 1 };
  }
  const json = Buffer.from(JSON.stringify(head, replacer), 'utf8');
  const tailLen = tail ? tail.length : 0;
  if (json.length > 0xffff || 2 + json.length + tailLen > MAX_FRAME)
    throw new KeywayError('protocol', `hub frame too large (${json.length + tailLen} bytes)`);
  const out = Buffer.allocUnsafe(6 + json.length + tailLen);
  out.writeUInt32BE(2 + json.length + tailLen, 0);
  out.writeUInt16BE(json.length, 4);
  json.copy(out, 6);
  if (tail) out.set(tail, 6 + json.length);
  return out;
}

/** Accumulates bytes from a stream and yields complete messages; throws KeywayError on a bad frame. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Wire[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Wire[] = [];
    for (;;) {
      if (this.buf.length < 4) break;
      const len = this.buf.readUInt32BE(0);
      if (len < 2 || len > MAX_FRAME) throw new KeywayError('protocol', `hub frame: bad length ${len}`);
      if (this.buf.length < 4 + len) break;
      const frame = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      const jlen = frame.readUInt16BE(0);
      if (2 + jlen > frame.length) throw new KeywayError('protocol', 'hub frame: header longer than frame');
      const text = frame.toString('utf8', 2, 2 + jlen);
      let msg: unknown;
      try {
        msg = text.includes('"$hex"') ? JSON.parse(text, reviver) : JSON.parse(text);
      } catch (err) {
        if (err instanceof KeywayError) throw err;
        throw new KeywayError('protocol', 'hub frame: header is not JSON');
      }
      if (msg === null || typeof msg !== 'object' || typeof (msg as Wire).t !== 'string')
        throw new KeywayError('protocol', 'hub frame: message without a type');
      const m = msg as Wire;
      if (m.$tail === 1) {
        m.data = new Uint8Array(frame.subarray(2 + jlen));
        delete m.$tail;
      }
      out.push(m);
    }
    return out;
  }
}
