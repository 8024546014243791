import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from '../../../firmware/crypto/constantTime.ts';

describe('constantTimeEqual', () => {
  const a = new Uint8Array([1, 2, 3, 4]);
  it('compares contents', () => {
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 3, 4]))).toBe(true);
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 3, 5]))).toBe(false);
    expect(constantTimeEqual(a, new Uint8Array([0, 2, 3, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('returns false (without throwing) for different lengths', () => {
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 3]))).toBe(false);
    expect(constantTimeEqual(a, new Uint8Array([1, 2, 3, 4, 5]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), a)).toBe(false);
  });

  it('accepts Buffers and subarray views', () => {
    const big = new Uint8Array([9, 1, 2, 3, 4, 9]);
    expect(constantTimeEqual(a, big.subarray(1, 5))).toBe(true);
    expect(constantTimeEqual(Buffer.from([1, 2, 3, 4]), a)).toBe(true);
  });
});
