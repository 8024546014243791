// Audit log: hash-chained entries in SQLite, signed checkpoints, exports and an offline verifier.
export { AuditLog, createAuditSchema, type AuditLogOptions, type AuditStats } from './AuditLog.ts';
export { verifyAuditExport, parseAuditJsonl } from './verify.ts';
export type { AuditExport, AuditProblem, AuditVerdict, EvictedRange, VerifyOptions } from './verify.ts';
export type { AuditCheckpoint } from './checkpoint.ts';
export { GENESIS_HASH, canonicalJson } from './canonical.ts';
