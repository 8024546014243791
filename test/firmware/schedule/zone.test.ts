import { describe, expect, it } from 'vitest';
import { epochToLocal, isValidTimeZone, localToEpoch } from '../../../firmware/schedule/index.ts';
import { isKeywayError } from '../../../firmware/errors.ts';

const Z = (iso: string): number => Date.parse(iso);
const BER = 'Europe/Berlin';
const NY = 'America/New_York';

describe('localToEpoch', () => {
  it('converts ordinary local times with the zone offset', () => {
    expect(localToEpoch('2026-07-01T12:00', BER)).toBe(Z('2026-07-01T10:00:00Z'));
    expect(localToEpoch('2026-01-15T12:00', BER)).toBe(Z('2026-01-15T11:00:00Z'));
    expect(localToEpoch('2026-07-01T12:00', NY)).toBe(Z('2026-07-01T16:00:00Z'));
    expect(localToEpoch('2026-07-01T12:00:30', NY)).toBe(Z('2026-07-01T16:00:30Z'));
    expect(localToEpoch('2026-07-01T12:00:30.250', NY)).toBe(Z('2026-07-01T16:00:30.250Z'));
    expect(localToEpoch('2026-07-01T12:00', 'UTC')).toBe(Z('2026-07-01T12:00:00Z'));
  });

  it('shifts a time in the spring-forward gap forward by the gap (Berlin 2026-03-29)', () => {
    // 02:00 CET does not exist: clocks go from 01:59:59 CET (00:59:59Z) to 03:00 CEST (01:00Z).
    expect(localToEpoch('2026-03-29T01:59', BER)).toBe(Z('2026-03-29T00:59:00Z'));
    expect(localToEpoch('2026-03-29T02:00', BER)).toBe(Z('2026-03-29T01:00:00Z')); // = 03:00 CEST
    expect(localToEpoch('2026-03-29T02:30', BER)).toBe(Z('2026-03-29T01:30:00Z')); // = 03:30 CEST
    expect(localToEpoch('2026-03-29T03:30', BER)).toBe(Z('2026-03-29T01:30:00Z')); // the same instant
    expect(epochToLocal(localToEpoch('2026-03-29T02:30', BER), BER)).toMatchObject({ hour: 3, minute: 30 });
  });

  it('shifts a time in the spring-forward gap forward by the gap (New York 2026-03-08)', () => {
    expect(localToEpoch('2026-03-08T01:59', NY)).toBe(Z('2026-03-08T06:59:00Z'));
    expect(localToEpoch('2026-03-08T02:30', NY)).toBe(Z('2026-03-08T07:30:00Z')); // = 03:30 EDT
    expect(localToEpoch('2026-03-08T03:00', NY)).toBe(Z('2026-03-08T07:00:00Z'));
  });

  it('maps a repeated fall-back time to its first occurrence', () => {
    // Berlin 2026-10-25: 02:00-02:59 happens in CEST (00:xxZ) and again in CET (01:xxZ).
    expect(localToEpoch('2026-10-25T02:30', BER)).toBe(Z('2026-10-25T00:30:00Z'));
    expect(localToEpoch('2026-10-25T03:00', BER)).toBe(Z('2026-10-25T02:00:00Z'));
    expect(localToEpoch('2026-10-25T01:59', BER)).toBe(Z('2026-10-24T23:59:00Z'));
    // New York 2026-11-01: 01:00-01:59 in EDT (05:xxZ) and again in EST (06:xxZ).
    expect(localToEpoch('2026-11-01T01:30', NY)).toBe(Z('2026-11-01T05:30:00Z'));
    expect(localToEpoch('2026-11-01T02:00', NY)).toBe(Z('2026-11-01T07:00:00Z'));
  });

  it('handles the leap day and refuses impossible dates', () => {
    expect(localToEpoch('2028-02-29T12:00', BER)).toBe(Z('2028-02-29T11:00:00Z'));
    expect(() => localToEpoch('2027-02-29T12:00', BER)).toThrow(/has no day 29 \(it has 28 days\)/);
    expect(() => localToEpoch('2026-04-31T12:00', BER)).toThrow(/has no day 31/);
    expect(() => localToEpoch('2026-13-01T12:00', BER)).toThrow(/month 13/);
    expect(() => localToEpoch('2026-01-01T24:00', BER)).toThrow(/hour 24/);
    expect(() => localToEpoch('2026-01-01 12:00', BER)).toThrow(/not of the form/);
    try {
      localToEpoch('2027-02-29T12:00', BER);
    } catch (err) {
      expect(isKeywayError(err, 'invalid_argument')).toBe(true);
    }
  });

  it('refuses unknown time zones with a specific error', () => {
    expect(() => localToEpoch('2026-01-01T00:00', 'Mars/Olympus')).toThrow(
      /invalid_argument: unknown time zone "Mars\/Olympus"/,
    );
    expect(() => epochToLocal(0, 'Nowhere')).toThrow(/unknown time zone/);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('epochToLocal', () => {
  it('gives fields and weekday', () => {
    expect(epochToLocal(Z('2026-03-29T00:59:59.999Z'), BER)).toEqual({
      year: 2026,
      month: 3,
      day: 29,
      hour: 1,
      minute: 59,
      second: 59,
      weekday: 'sun',
    });
    expect(epochToLocal(Z('2026-03-29T01:00:00Z'), BER)).toMatchObject({
      hour: 3,
      minute: 0,
      weekday: 'sun',
    });
    expect(epochToLocal(Z('2028-02-29T12:00:00Z'), 'UTC')).toMatchObject({
      month: 2,
      day: 29,
      weekday: 'tue',
    });
    // New Year in Berlin while still the old year in UTC.
    expect(epochToLocal(Z('2026-12-31T23:30:00Z'), BER)).toMatchObject({
      year: 2027,
      month: 1,
      day: 1,
      weekday: 'fri',
    });
  });

  it('reads both occurrences of the repeated hour as the same wall clock', () => {
    expect(epochToLocal(Z('2026-11-01T05:30:00Z'), NY)).toMatchObject({ hour: 1, minute: 30 });
    expect(epochToLocal(Z('2026-11-01T06:30:00Z'), NY)).toMatchObject({ hour: 1, minute: 30 });
    expect(epochToLocal(Z('2026-10-25T00:30:00Z'), BER)).toMatchObject({ hour: 2, minute: 30 });
    expect(epochToLocal(Z('2026-10-25T01:30:00Z'), BER)).toMatchObject({ hour: 2, minute: 30 });
  });

  it('handles zones with half-hour DST and odd offsets', () => {
    // Lord Howe Island moves by 30 minutes (+10:30 / +11); Kathmandu is +05:45.
    expect(epochToLocal(Z('2026-01-01T00:00:00Z'), 'Australia/Lord_Howe')).toMatchObject({
      hour: 11,
      minute: 0,
    });
    expect(epochToLocal(Z('2026-07-01T00:00:00Z'), 'Australia/Lord_Howe')).toMatchObject({
      hour: 10,
      minute: 30,
    });
    expect(epochToLocal(Z('2026-07-01T00:00:00Z'), 'Asia/Kathmandu')).toMatchObject({ hour: 5, minute: 45 });
  });

  it('refuses non-finite times', () => {
    expect(() => epochToLocal(Number.NaN, BER)).toThrow(/invalid_argument: lock time NaN/);
    expect(() => epochToLocal(Infinity, BER)).toThrow(/lock time Infinity/);
  });
});
