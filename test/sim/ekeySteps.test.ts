// The eKey and offline-PIN scenario steps, in-process against the real Lock (real SQLite in a temp dir, the
// simulated clock): each step's success and denial paths with their exact reasons, the set-up sections, and
// parse errors that name the file, step and field.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fingerprint, OfflinePinKey } from '../../firmware/index.ts';
import { SeededRandom } from '../../sim/clock/index.ts';
import { parseScenario, runScenario, ScenarioError, type ScenarioResult } from '../../sim/scenario/index.ts';
import { scenarioKey, scenarioOfflineSecret } from '../../sim/scenario/steps/ekey.ts';

const HEAD = `name: ekey steps
seed: ekey-tests
lock: { lockId: front-door, timeZone: Europe/Paris, autoRelockSeconds: 5 }
start: '2026-03-02T10:00' # Monday
users:
  - { name: Owner, role: owner, pins: ['918273'] }
  - { name: Max, role: member, permanent: true, pins: ['5317'] }
keys:
  - { name: owner-key, trust: true }
  - admin-key
  - guest-phone
  - other-phone
  - stranger
steps:
`;

const run = (steps: string, head = HEAD): ScenarioResult =>
  runScenario(parseScenario(head + steps, 'ekey.yaml'), { keepGoing: true });

/** [step, granted, reason, text] of each step that made an attempt (null where it made none). */
const outcomes = (r: ScenarioResult) =>
  r.steps.map((s) => [s.n, s.operation?.granted ?? null, s.operation?.reason ?? null, s.text]);

const failures = (r: ScenarioResult) =>
  r.steps.flatMap((s) => s.failures.map((f) => `step ${s.n}: ${f.field}: ${f.expected} / ${f.actual}`));

function errorOf(text: string): string {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    if (err instanceof ScenarioError) return err.message;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

const ADMIN_AND_GUEST = `  - mint_ekey: { name: admin-pass, issuer: owner-key, holder: admin-key, role: admin, may_delegate: 1, from: '2026-03-01T00:00', until: '2026-04-01T00:00' }
  - mint_ekey: { name: guest-pass, issuer: admin-key, holder: guest-phone, chain: admin-pass, from: '2026-03-02T00:00', until: '2026-03-09T00:00', weekly: 'mon,thu 09:00-12:00' }
`;

describe('keys', () => {
  it('are derived from the seed and the name; a trusted key is installed by the first owner at set-up', () => {
    const a = scenarioKey('s', 'owner-key').publicRaw;
    expect(scenarioKey('s', 'owner-key').publicRaw).toEqual(a);
    expect(scenarioKey('s', 'guest-phone').publicRaw).not.toEqual(a);
    expect(scenarioKey('t', 'owner-key').publicRaw).not.toEqual(a);

    const r = run(`  - new_key: late-phone
  - expect:
      audit:
        contains: [{ kind: SettingsChange, action: add_trust_anchor, user: Owner, security: true }]
`);
    expect(failures(r)).toEqual([]);
    expect(r.steps[0]!.description).toBe('new key late-phone');
    expect(r.steps[0]!.text).toBe(
      `fingerprint ${fingerprint(scenarioKey('ekey-tests', 'late-phone').publicRaw)}`,
    );
  });

  it('trust_key and untrust_key go through the lock as a user: owners only', () => {
    const r = run(`${ADMIN_AND_GUEST}  - as: Max
    trust_key: stranger
    expect: { error: not_authorized }
  - as: Owner
    untrust_key: owner-key
    expect: { audit: { last: { kind: SettingsChange, action: remove_trust_anchor, user: Owner } } }
  - ekey: admin-pass
    expect: { result: denied, reason: untrusted_issuer }
  - as: Owner
    trust_key: owner-key
  - ekey: admin-pass
    expect: { result: granted }
`);
    expect(failures(r)).toEqual([]);
    expect(r.steps[2]!.error).toEqual({
      code: 'not_authorized',
      message: 'not_authorized: only an owner may install a trust anchor',
    });
  });
});

describe('mint_ekey and ekey', () => {
  it('mints deterministically (cti from the seed and the name) and presents like a phone: challenge, proof, present', () => {
    const cti = Buffer.from(new SeededRandom('ekey-tests\0ekey\0admin-pass').bytes(16)).toString('hex');
    const r = run(`${ADMIN_AND_GUEST}  - ekey: admin-pass
    expect:
      result: granted
      user: null
      bolt: unlocked
      audit: { last: { kind: LockOperation, action: unlock, source: remote, credential: ekey, data: { ekey: '${cti}', role: admin, chain: 1 } } }
`);
    expect(failures(r)).toEqual([]);
    expect(r.steps.map((s) => s.description)).toEqual([
      'owner-key mints admin eKey admin-pass for admin-key may delegate 1',
      'admin-key mints guest eKey guest-pass for guest-phone (chained to admin-pass)',
      'admin-key presents eKey admin-pass (unlock)',
    ]);
    expect(r.steps[1]!.text).toMatch(
      /^Mon 2026-03-02 00:00:00 CET \.\. Mon 2026-03-09 00:00:00 CET, 2 link\(s\), \d+ bytes$/,
    );
  });

  it('a copied eKey opens nothing: no proof, a proof by another key, a replayed proof', () => {
    const r = run(`${ADMIN_AND_GUEST}  - ekey: guest-pass
    proof: replay
    expect: { error: not_found }
  - ekey: guest-pass
    expect: { result: granted }
  - advance: 10s
  - ekey: guest-pass
    proof: false
  - ekey: guest-pass
    proof: wrong_key
  - ekey: guest-pass
    proof: replay
  - ekey: { name: guest-pass, proof: true }
    expect: { result: granted }
`);
    expect(failures(r)).toEqual([]);
    expect(outcomes(r).slice(2)).toEqual([
      [3, null, null, null],
      [4, true, null, null],
      [5, null, null, expect.stringMatching(/^now /)],
      [6, false, 'proof_of_possession_failed', 'no proof of possession'],
      [7, false, 'proof_of_possession_failed', 'proof signature'],
      [8, false, 'proof_of_possession_failed', 'challenge unknown'],
      [9, true, null, null],
    ]);
    expect(r.steps[2]!.error?.message).toBe(
      'not_found: eKey guest-pass has not been presented with a proof yet',
    );
  });

  it('the lock checks schedule, validity, audience, trust, chain rights and uses', () => {
    const r =
      run(`${ADMIN_AND_GUEST}  - mint_ekey: { name: later, issuer: owner-key, holder: other-phone, from: '2026-03-03T00:00', for: 1d }
  - mint_ekey: { name: elsewhere, issuer: owner-key, holder: other-phone, lock: back-door }
  - mint_ekey: { name: self-signed, issuer: stranger, holder: stranger }
  - mint_ekey: { name: widened, issuer: admin-key, holder: other-phone, chain: admin-pass, from: '2026-03-01T00:00', until: '2026-05-01T00:00' }
  - mint_ekey: { name: once, issuer: owner-key, holder: other-phone, uses: 1 }
  - ekey: later
  - ekey: elsewhere
  - ekey: self-signed
  - ekey: widened
  - ekey: once
    command: lock
  - ekey: once
  - advance: 10s
  - ekey: once
  - ekey: guest-pass
  - set_time: '2026-03-03T10:00'
  - ekey: guest-pass
  - set_time: '2026-04-02T10:00'
  - ekey: admin-pass
`);
    expect(failures(r)).toEqual([]);
    expect(outcomes(r).filter((o) => o[1] !== null)).toEqual([
      [8, false, 'not_yet_valid', expect.any(String)],
      [9, false, 'wrong_lock', expect.any(String)],
      [10, false, 'untrusted_issuer', expect.stringMatching(/is not a trust anchor of this lock$/)],
      [11, false, 'chain_widens_rights', expect.stringMatching(/ends after the parent/)],
      [12, true, null, null], // locking spends no use
      [13, true, null, null],
      [15, false, 'uses_exhausted', expect.any(String)],
      [16, true, null, null], // Monday 10:00, inside mon,thu 09:00-12:00
      [18, false, 'outside_schedule', 'eKey schedule'], // Tuesday
      [20, false, 'expired', expect.any(String)],
    ]);
  });

  it('lock, unlock_with_timeout and management commands (checkEkey: the role decides)', () => {
    const r = run(`${ADMIN_AND_GUEST}  - ekey: admin-pass
    command: unlock_with_timeout
    timeout: 60s
    expect: { result: granted, bolt: unlocked }
  - advance: 30s
    expect: { bolt: unlocked }
  - ekey: admin-pass
    command: lock
    expect: { result: granted, bolt: locked, audit: { last: { action: lock, credential: ekey } } }
  - ekey: admin-pass
    command: add_user
    expect: { result: granted }
  - ekey: admin-pass
    command: settings
    expect: { result: denied, reason: not_authorized }
  - set_time: '2026-03-02T10:30'
  - ekey: guest-pass
    command: status
    expect: { result: granted }
`);
    expect(failures(r)).toEqual([]);
    expect(r.steps[5]!.text).toBe('add_user allowed');
    expect(r.steps[6]!.text).toBe('an admin eKey may not use settings');
  });

  it('minting without from: while the clock is unknown is a step error', () => {
    const r = run(`  - power_cycle: { lose_time: true }
  - mint_ekey: { name: p, issuer: owner-key, holder: guest-phone }
    expect: { error: time_unknown }
  - mint_ekey: { name: q, issuer: owner-key, holder: guest-phone, from: '2026-03-02T00:00', for: 2d }
  - ekey: q
    expect: { result: denied, reason: time_unknown }
  - ekey: p
    expect: { error: not_found }
`);
    expect(failures(r)).toEqual([]);
    expect(r.steps[4]!.error?.message).toBe(
      'not_found: eKey "p" was not minted (did its mint_ekey step fail?)',
    );
  });

  it('requirePinForRemote: an eKey alone cannot satisfy it (refused, audited, not a wrong code, no use spent)', () => {
    const head = HEAD.replace('autoRelockSeconds: 5', 'autoRelockSeconds: 5, requirePinForRemote: true');
    const r = run(
      `  - mint_ekey: { name: once, issuer: owner-key, holder: guest-phone, uses: 1 }
  - ekey: once
    expect:
      result: denied
      reason: invalid_credential
      bolt: locked
      wrong_attempts: 0
      audit: { last: { kind: LockOperationError, reason: invalid_credential, credential: ekey, data: { detail: PIN required for remote operation } } }
  - ekey: once
    command: lock
    expect: { result: denied, reason: invalid_credential }
  - as: Owner
    set_settings: { requirePinForRemote: false }
  - ekey: once
    expect: { result: granted }
`,
      head,
    );
    expect(failures(r)).toEqual([]);
  });
});

describe('revoke', () => {
  it('a delegate revokes what it issued (its eKey as chain, the revoked one as evidence); not what it did not', () => {
    const r =
      run(`${ADMIN_AND_GUEST}  - mint_ekey: { name: other-pass, issuer: owner-key, holder: other-phone }
  - revoke: { by: guest-phone, ekey: other-pass }
  - revoke: { by: stranger, ekey: other-pass }
  - revoke: { by: admin-key, ekey: other-pass }
  - revoke: { by: admin-key, ekey: guest-pass }
    expect: { audit: { last: { kind: LockUserChange, action: revoke, source: remote, data: { kind: cti } } } }
  - set_time: '2026-03-02T10:30'
  - ekey: guest-pass
  - ekey: other-pass
    expect: { result: granted }
`);
    expect(failures(r)).toEqual([]);
    expect(outcomes(r).slice(3)).toEqual([
      [4, false, 'not_authorized', 'refused: the revoker did not issue the revoked eKey'],
      [
        5,
        false,
        'untrusted_issuer',
        expect.stringMatching(/^refused: revoker [0-9a-f]{16} is not a trust anchor$/),
      ],
      [6, false, 'not_authorized', 'refused: the revoker did not issue the revoked eKey'],
      [7, true, null, 'revoked eKey guest-pass'],
      [8, null, null, null],
      [9, false, 'revoked', 'eKey id revoked'],
      [10, true, null, null],
    ]);
  });

  it('the owner key revokes by issuer (cascading) and by holder; a lock user revokes as: NAME', () => {
    const r =
      run(`${ADMIN_AND_GUEST}  - mint_ekey: { name: other-pass, issuer: owner-key, holder: other-phone }
  - set_time: '2026-03-02T10:30'
  - revoke: { by: owner-key, issuer: admin-key }
  - ekey: guest-pass
    expect: { result: denied, reason: revoked }
  - ekey: admin-pass
    expect: { result: granted }
  - revoke: { by: owner-key, holder: admin-key }
  - ekey: admin-pass
    expect: { result: denied, reason: revoked }
  - as: Max
    revoke: { ekey: other-pass }
    expect: { error: not_authorized }
  - as: Owner
    revoke: { ekey: other-pass }
    expect: { audit: { last: { kind: LockUserChange, action: revoke, user: Owner, data: { kind: cti } } } }
  - ekey: other-pass
    expect: { result: denied, reason: revoked }
`);
    expect(failures(r)).toEqual([]);
    expect(r.steps[4]!.text).toBe('revoked everything issued by admin-key');
    expect(r.steps[5]!.text).toBe('issuer revoked');
    expect(r.steps[7]!.text).toBe('revoked every eKey held by admin-key');
    expect(r.steps[9]!.error?.message).toBe('not_authorized: a member cannot revoke eKeys');
  });
});

describe('offline PINs', () => {
  const head = `${HEAD.replace('steps:\n', '')}offline_secret: true\nsteps:\n`;

  it('hourly inside its window only; a one-time PIN once, also across a power cycle; daily; revoked', () => {
    const r = run(
      `  - offline_pin: { name: walker, variant: hourly, from: '2026-03-02T10:00', hours: 2 }
  - advance: 1h59m
  - offline_pin: walker
  - advance: 1m
  - offline_pin: walker
    expect: { wrong_attempts: 1 }
  - offline_pin: { name: fixer, variant: once }
  - advance: 10s
  - offline_pin: fixer
  - power_cycle
  - offline_pin: fixer
  - offline_pin: { name: week, variant: daily, from: '2026-03-02', until: '2026-03-08' }
  - advance: 10s
  - revoke: { by: owner-key, offline_pin: week }
  - offline_pin: week
  - expect: { wrong_attempts: 0, audit_verifies: true }
`,
      head,
    );
    expect(failures(r)).toEqual([]);
    expect(outcomes(r).filter((o) => o[1] !== null)).toEqual([
      [1, true, null, 'hourly, Mon 2026-03-02 10:00:00 CET .. Mon 2026-03-02 12:00:00 CET'],
      [3, true, null, 'hourly, Mon 2026-03-02 10:00:00 CET .. Mon 2026-03-02 12:00:00 CET'],
      [5, false, 'invalid_credential', 'hourly, Mon 2026-03-02 10:00:00 CET .. Mon 2026-03-02 12:00:00 CET'],
      [6, true, null, 'once, Mon 2026-03-02 12:00:00 CET .. Tue 2026-03-03 12:00:00 CET'],
      [8, false, 'uses_exhausted', 'once, Mon 2026-03-02 12:00:00 CET .. Tue 2026-03-03 12:00:00 CET'],
      [10, false, 'uses_exhausted', 'once, Mon 2026-03-02 12:00:00 CET .. Tue 2026-03-03 12:00:00 CET'],
      [11, true, null, 'daily, Mon 2026-03-02 00:00:00 CET .. Mon 2026-03-09 00:00:00 CET'],
      [13, true, null, 'revoked offline PIN week'],
      [14, false, 'revoked', 'daily, Mon 2026-03-02 00:00:00 CET .. Mon 2026-03-09 00:00:00 CET'],
    ]);
    // PINs never appear in the report.
    expect(r.steps.map((s) => s.description)).toContain(
      'offline PIN walker (hourly, 2 h from Mon 2026-03-02 10:00:00 CET)',
    );
    const key = new OfflinePinKey(scenarioOfflineSecret('ekey-tests'), 'front-door');
    const walker = key.mint(
      { variant: 'hourly', from: Date.UTC(2026, 2, 2, 9), hours: 2 },
      'Europe/Paris',
    ).pin;
    expect(walker).toMatch(/^\d{10}$/);
    expect(JSON.stringify(r)).not.toContain(walker);
  });

  it('the secret is set by an owner; a PIN from a secret the lock does not have is a wrong code', () => {
    const r = run(`  - as: Max
    offline_secret: true
    expect: { error: not_authorized }
  - offline_pin: { variant: once }
    expect: { result: denied, reason: invalid_credential, wrong_attempts: 1 }
  - as: Owner
    offline_secret: true
    expect: { audit: { last: { kind: SettingsChange, action: set_offline_pin_secret, user: Owner } } }
  - offline_pin: { variant: once }
    expect: { result: granted }
`);
    expect(failures(r)).toEqual([]);
  });
});

describe('sections', () => {
  it('ekeys: minted before the first step; a refused set-up names the section', () => {
    const r = run(
      `  - ekey: pass
    expect: { result: granted }
`,
      HEAD.replace(
        'steps:\n',
        'ekeys:\n  - { name: pass, issuer: owner-key, holder: guest-phone }\nsteps:\n',
      ),
    );
    expect(failures(r)).toEqual([]);
    const bad = HEAD.replace('{ name: owner-key, trust: true }', '{ name: owner-key, trust: Max }');
    expect(() => run('  - button\n', bad)).toThrow(
      'ekey.yaml:9: field keys: setting up keys failed: not_authorized: only an owner may install a trust anchor',
    );
  });

  it('offline_secret needs an owner; unknown top-level keys still suggest the new ones', () => {
    expect(() =>
      runScenario(parseScenario('name: n\noffline_secret: true\nsteps: [button]\n', 'x.yaml')),
    ).toThrow(
      'x.yaml:2: field offline_secret: setting up offline_secret failed: invalid_argument: the offline-PIN secret is set by the owner: declare one in users:',
    );
    expect(errorOf('name: n\nkeyz: [a]\nsteps: [button]\n')).toBe(
      'bad.yaml:2: field keyz: unknown field "keyz" (did you mean keys?); allowed: name, description, lock, board, start, seed, users, holidays, steps, keys, offline_secret, ekeys',
    );
  });
});

describe('parse errors name the file, step and field', () => {
  const bad = (steps: string): string => errorOf(HEAD + steps);

  it('keys', () => {
    expect(errorOf(HEAD.replace('  - stranger\n', '  - guest-phone\n') + '  - button\n')).toBe(
      'bad.yaml:13: field keys[4]: key "guest-phone" is declared twice',
    );
    expect(bad('  - new_key: "my phone"\n')).toBe(
      'bad.yaml:15: step 1: field new_key: key names are 1..32 letters, digits, "-", "_" or "." (starting with a letter or digit); got "my phone"',
    );
    expect(bad('  - trust_key: owner-key\n')).toBe(
      'bad.yaml:15: step 1: step "trust_key" is a management action and needs as: NAME (the user performing it)',
    );
  });

  it('mint_ekey', () => {
    expect(bad('  - mint_ekey: { name: p, issuer: owner-key, holder: guest-fone }\n')).toBe(
      'bad.yaml:15: step 1: field mint_ekey.holder: unknown key "guest-fone" (did you mean guest-phone?); declared so far: owner-key, admin-key, guest-phone, other-phone, stranger',
    );
    expect(bad('  - mint_ekey: { name: p, issuer: owner-key }\n')).toBe(
      'bad.yaml:15: step 1: field mint_ekey.holder: is required',
    );
    expect(
      bad(
        `${ADMIN_AND_GUEST}  - mint_ekey: { name: g2, issuer: guest-phone, holder: other-phone, chain: admin-pass }\n`,
      ),
    ).toBe(
      'bad.yaml:17: step 3: field mint_ekey.chain: eKey "admin-pass" is held by admin-key, not by the issuer guest-phone (an issuer chains the eKey it holds)',
    );
    expect(
      bad(`${ADMIN_AND_GUEST}  - mint_ekey: { name: guest-pass, issuer: owner-key, holder: other-phone }\n`),
    ).toBe(
      'bad.yaml:17: step 3: field mint_ekey.name: eKey "guest-pass" is minted twice (give each eKey its own name)',
    );
    expect(
      bad("  - mint_ekey: { name: p, issuer: owner-key, holder: guest-phone, weekly: 'mon 25:00-26:00' }\n"),
    ).toBe(
      'bad.yaml:15: step 1: field mint_ekey.weekly: start: hour 25 is not 00-23 (use 23:59 for end of day)',
    );
    expect(
      bad(
        "  - mint_ekey: { name: p, issuer: owner-key, holder: guest-phone, from: '2026-03-03T00:00', until: '2026-03-02T00:00' }\n",
      ),
    ).toBe('bad.yaml:15: step 1: field mint_ekey.until: until must be after from');
    expect(bad('  - mint_ekey: { name: p, issuer: owner-key, holder: guest-phone, role: boss }\n')).toBe(
      'bad.yaml:15: step 1: field mint_ekey.role: expected one of owner, admin, member, guest; got "boss"',
    );
    expect(bad('  - mint_ekey: { name: p, issuer: owner-key, holder: guest-phone, may_delegate: 9 }\n')).toBe(
      'bad.yaml:15: step 1: field mint_ekey.may_delegate: must be at most 8, got 9',
    );
    expect(bad('  - mint_ekey: { name: p, issuer: owner-key, holder: guest-phone, uses: 0 }\n')).toBe(
      'bad.yaml:15: step 1: field mint_ekey.uses: must be at least 1, got 0',
    );
  });

  it('ekey', () => {
    expect(bad(`${ADMIN_AND_GUEST}  - ekey: gust-pass\n`)).toBe(
      'bad.yaml:17: step 3: field ekey: unknown eKey "gust-pass" (did you mean guest-pass?); minted before this step: admin-pass, guest-pass',
    );
    expect(bad(`${ADMIN_AND_GUEST}  - ekey: guest-pass\n    proof: maybe\n`)).toBe(
      'bad.yaml:18: step 3: field proof: proof is true, false, wrong_key or replay; got "maybe"',
    );
    expect(bad(`${ADMIN_AND_GUEST}  - ekey: guest-pass\n    command: open\n`)).toMatch(
      /^bad\.yaml:18: step 3: field command: expected one of unlock, lock, unlock_with_timeout, status, add_user, .*; got "open"$/,
    );
    expect(bad(`${ADMIN_AND_GUEST}  - ekey: guest-pass\n    command: unlock_with_timeout\n`)).toBe(
      'bad.yaml:17: step 3: field ekey: command unlock_with_timeout needs timeout: (e.g. "30s")',
    );
    expect(bad(`${ADMIN_AND_GUEST}  - ekey: guest-pass\n    timeout: 30s\n`)).toBe(
      'bad.yaml:18: step 3: field timeout: timeout goes with command: unlock_with_timeout only',
    );
    expect(bad(`${ADMIN_AND_GUEST}  - ekey: guest-pass\n    proff: false\n`)).toBe(
      'bad.yaml:18: step 3: field proff: unknown step field "proff" (did you mean proof?)',
    );
  });

  it('revoke', () => {
    expect(bad(`${ADMIN_AND_GUEST}  - revoke: { ekey: guest-pass }\n`)).toBe(
      'bad.yaml:17: step 3: field revoke: who revokes? give by: KEY (a signed revocation from that phone) or as: NAME (a lock user)',
    );
    expect(bad(`${ADMIN_AND_GUEST}  - as: Owner\n    revoke: { by: owner-key, ekey: guest-pass }\n`)).toBe(
      'bad.yaml:18: step 3: field revoke: give as: NAME (a lock user revokes) or by: KEY (a signed revocation from a phone), not both',
    );
    expect(
      bad(`${ADMIN_AND_GUEST}  - revoke: { by: owner-key, ekey: guest-pass, holder: guest-phone }\n`),
    ).toBe(
      'bad.yaml:17: step 3: field revoke: what is revoked: give exactly one of ekey, issuer, holder, offline_pin (got ekey and holder)',
    );
    expect(bad(`  - revoke: { by: owner-key, offline_pin: week }\n`)).toBe(
      'bad.yaml:15: step 1: field revoke.offline_pin: unknown offline PIN "week"; named so far: none',
    );
  });

  it('offline_pin', () => {
    expect(bad('  - offline_pin: { variant: hourly, hours: 3 }\n')).toBe(
      'bad.yaml:15: step 1: field offline_pin: no offline-PIN secret yet: add offline_secret: true at the top (or an offline_secret step)',
    );
    const withSecret = (steps: string): string =>
      errorOf(`${HEAD.replace('steps:\n', '')}offline_secret: true\nsteps:\n${steps}`);
    expect(withSecret('  - offline_pin: { variant: hourly, hours: 73 }\n')).toBe(
      'bad.yaml:16: step 1: field offline_pin.hours: must be at most 72, got 73',
    );
    expect(withSecret('  - offline_pin: { variant: hourly }\n')).toBe(
      'bad.yaml:16: step 1: field offline_pin.hours: is required',
    );
    expect(withSecret("  - offline_pin: { variant: daily, from: '2026-03-02', until: '2026-05-02' }\n")).toBe(
      'bad.yaml:16: step 1: field offline_pin: a daily-bound PIN covers 1..31 days',
    );
    expect(withSecret('  - offline_pin: { variant: once, hours: 3 }\n')).toBe(
      'bad.yaml:16: step 1: field offline_pin.hours: once offline PINs take from',
    );
    expect(withSecret('  - offline_pin: walker\n')).toBe(
      'bad.yaml:16: step 1: field offline_pin: unknown offline PIN "walker"; named so far: none',
    );
    expect(errorOf(`${HEAD.replace('steps:\n', '')}offline_secret: 'abc'\nsteps: [button]\n`)).toBe(
      'bad.yaml:14: field offline_secret: an offline-PIN secret is true or 64 hex digits (32 bytes)',
    );
  });
});

describe('docs/scenarios.md', () => {
  it('the eKey example runs as documented', () => {
    const doc = readFileSync(new URL('../../docs/scenarios.md', import.meta.url), 'utf8');
    const from = doc.indexOf('## eKeys and offline PINs');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc.slice(from))![1]!;
    const r = runScenario(parseScenario(yaml, 'docs/scenarios.md'));
    expect(failures(r)).toEqual([]);
    expect(r.steps.map((s) => [s.kind, s.operation?.granted ?? null, s.operation?.reason ?? null])).toEqual([
      ['mint_ekey', null, null],
      ['mint_ekey', null, null],
      ['ekey', true, null],
      ['revoke', true, null],
      ['ekey', false, 'revoked'],
    ]);
  });
});
