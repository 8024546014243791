// Fixed 128-bit UUIDs of the keyway GATT service (random v4 UUIDs chosen once; never change them).
// bleno and noble take them as 32 hex digits without dashes: use uuidNoDashes().

/** The one primary service. Advertised (in the scan response), so phones can filter scans by it. */
export const SERVICE_UUID = '8e2a0001-4f7c-4b8e-9d3a-6b1c52e0a7f4';
/** Status: read / notify, CBOR {v, setup, ch}. No secrets, no identity. */
export const STATUS_CHAR_UUID = '8e2a0002-4f7c-4b8e-9d3a-6b1c52e0a7f4';
/** Client -> lock: write / write without response, framed messages. */
export const RX_CHAR_UUID = '8e2a0003-4f7c-4b8e-9d3a-6b1c52e0a7f4';
/** Lock -> client: notify, framed messages. */
export const TX_CHAR_UUID = '8e2a0004-4f7c-4b8e-9d3a-6b1c52e0a7f4';

export function uuidNoDashes(uuid: string): string {
  return uuid.replace(/-/g, '').toLowerCase();
}
