// Export formats. JSON Lines: one canonical JSON object per line (entries, evicted ranges, checkpoints in
// seq order), readable back with parseAuditJsonl. CSV: RFC 4180 with a header row, for spreadsheets.
import type { AuditEntry } from '../types.ts';
import { canonicalJson } from './canonical.ts';
import type { AuditCheckpoint } from './checkpoint.ts';
import type { EvictedRange } from './verify.ts';

export type ExportItem =
  | { type: 'entry'; entry: AuditEntry }
  | { type: 'evicted'; range: EvictedRange }
  | { type: 'checkpoint'; checkpoint: AuditCheckpoint };

export function jsonlLine(item: ExportItem): string {
  switch (item.type) {
    case 'entry':
      return canonicalJson(item.entry);
    case 'evicted':
      return canonicalJson({ evicted: item.range });
    case 'checkpoint':
      return canonicalJson({ checkpoint: item.checkpoint });
  }
}

export const CSV_HEADER = [
  'seq',
  'time',
  'time_utc',
  'boot',
  'kind',
  'action',
  'source',
  'user_index',
  'target_user_index',
  'credential_type',
  'credential_index',
  'result',
  'reason',
  'security',
  'data',
  'hash',
  'prev_hash',
] as const;

export function csvRow(e: AuditEntry): string {
  const cells: Array<string | number | null | undefined> = [
    e.seq,
    e.time,
    e.time === null ? '' : new Date(e.time).toISOString(),
    e.boot,
    e.kind,
    e.action,
    e.source,
    e.userIndex,
    e.targetUserIndex,
    e.credential?.type,
    e.credential?.index,
    e.result,
    e.reason,
    e.security === true ? 'true' : 'false',
    e.data === undefined ? '' : canonicalJson(e.data),
    e.hash,
    e.prevHash,
  ];
  return cells.map(csvCell).join(',');
}

/** RFC 4180 quoting; text that a spreadsheet would run as a formula gets a leading apostrophe. */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
