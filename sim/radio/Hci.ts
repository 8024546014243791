// HCI vocabulary shared by the controller, the trace writer and the trace decoder: packet types,
// opcodes, event codes, status codes and their names (Core spec v5.3, Vol 4, Part E).

export const PKT_COMMAND = 0x01;
export const PKT_ACL = 0x02;
export const PKT_EVENT = 0x04;

export const opcode = (ogf: number, ocf: number): number => (ogf << 10) | ocf;

export const OP = {
  DISCONNECT: opcode(0x01, 0x0006),
  SET_EVENT_MASK: opcode(0x03, 0x0001),
  RESET: opcode(0x03, 0x0003),
  SET_EVENT_MASK_PAGE_2: opcode(0x03, 0x0063),
  READ_LE_HOST_SUPPORTED: opcode(0x03, 0x006c),
  WRITE_LE_HOST_SUPPORTED: opcode(0x03, 0x006d),
  READ_LOCAL_VERSION: opcode(0x04, 0x0001),
  READ_LOCAL_COMMANDS: opcode(0x04, 0x0002),
  READ_LOCAL_FEATURES: opcode(0x04, 0x0003),
  READ_BUFFER_SIZE: opcode(0x04, 0x0005),
  READ_BD_ADDR: opcode(0x04, 0x0009),
  READ_RSSI: opcode(0x05, 0x0005),
  LE_SET_EVENT_MASK: opcode(0x08, 0x0001),
  LE_READ_BUFFER_SIZE: opcode(0x08, 0x0002),
  LE_READ_LOCAL_FEATURES: opcode(0x08, 0x0003),
  LE_SET_RANDOM_ADDRESS: opcode(0x08, 0x0005),
  LE_SET_ADV_PARAMS: opcode(0x08, 0x0006),
  LE_READ_ADV_TX_POWER: opcode(0x08, 0x0007),
  LE_SET_ADV_DATA: opcode(0x08, 0x0008),
  LE_SET_SCAN_RSP_DATA: opcode(0x08, 0x0009),
  LE_SET_ADV_ENABLE: opcode(0x08, 0x000a),
  LE_SET_SCAN_PARAMS: opcode(0x08, 0x000b),
  LE_SET_SCAN_ENABLE: opcode(0x08, 0x000c),
  LE_CREATE_CONN: opcode(0x08, 0x000d),
  LE_CREATE_CONN_CANCEL: opcode(0x08, 0x000e),
  LE_READ_WHITE_LIST_SIZE: opcode(0x08, 0x000f),
  LE_CONN_UPDATE: opcode(0x08, 0x0013),
  LE_ENCRYPT: opcode(0x08, 0x0017),
  LE_RAND: opcode(0x08, 0x0018),
  LE_START_ENCRYPTION: opcode(0x08, 0x0019),
  LE_LTK_REPLY: opcode(0x08, 0x001a),
  LE_LTK_NEG_REPLY: opcode(0x08, 0x001b),
  LE_READ_SUPPORTED_STATES: opcode(0x08, 0x001c),
  LE_SET_DEFAULT_PHY: opcode(0x08, 0x0031),
  LE_SET_EXT_SCAN_PARAMS: opcode(0x08, 0x0041),
  LE_SET_EXT_SCAN_ENABLE: opcode(0x08, 0x0042),
  LE_EXT_CREATE_CONN: opcode(0x08, 0x0043),
} as const;

export const OPCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [OP.DISCONNECT, 'Disconnect'],
  [OP.SET_EVENT_MASK, 'Set Event Mask'],
  [OP.RESET, 'Reset'],
  [OP.SET_EVENT_MASK_PAGE_2, 'Set Event Mask Page 2'],
  [OP.READ_LE_HOST_SUPPORTED, 'Read LE Host Supported'],
  [OP.WRITE_LE_HOST_SUPPORTED, 'Write LE Host Supported'],
  [OP.READ_LOCAL_VERSION, 'Read Local Version Information'],
  [OP.READ_LOCAL_COMMANDS, 'Read Local Supported Commands'],
  [OP.READ_LOCAL_FEATURES, 'Read Local Supported Features'],
  [OP.READ_BUFFER_SIZE, 'Read Buffer Size'],
  [OP.READ_BD_ADDR, 'Read BD_ADDR'],
  [OP.READ_RSSI, 'Read RSSI'],
  [OP.LE_SET_EVENT_MASK, 'LE Set Event Mask'],
  [OP.LE_READ_BUFFER_SIZE, 'LE Read Buffer Size'],
  [OP.LE_READ_LOCAL_FEATURES, 'LE Read Local Supported Features'],
  [OP.LE_SET_RANDOM_ADDRESS, 'LE Set Random Address'],
  [OP.LE_SET_ADV_PARAMS, 'LE Set Advertising Parameters'],
  [OP.LE_READ_ADV_TX_POWER, 'LE Read Advertising Channel Tx Power'],
  [OP.LE_SET_ADV_DATA, 'LE Set Advertising Data'],
  [OP.LE_SET_SCAN_RSP_DATA, 'LE Set Scan Response Data'],
  [OP.LE_SET_ADV_ENABLE, 'LE Set Advertise Enable'],
  [OP.LE_SET_SCAN_PARAMS, 'LE Set Scan Parameters'],
  [OP.LE_SET_SCAN_ENABLE, 'LE Set Scan Enable'],
  [OP.LE_CREATE_CONN, 'LE Create Connection'],
  [OP.LE_CREATE_CONN_CANCEL, 'LE Create Connection Cancel'],
  [OP.LE_READ_WHITE_LIST_SIZE, 'LE Read White List Size'],
  [OP.LE_CONN_UPDATE, 'LE Connection Update'],
  [OP.LE_ENCRYPT, 'LE Encrypt'],
  [OP.LE_RAND, 'LE Rand'],
  [OP.LE_START_ENCRYPTION, 'LE Start Encryption'],
  [OP.LE_LTK_REPLY, 'LE Long Term Key Request Reply'],
  [OP.LE_LTK_NEG_REPLY, 'LE Long Term Key Request Negative Reply'],
  [OP.LE_READ_SUPPORTED_STATES, 'LE Read Supported States'],
  [OP.LE_SET_DEFAULT_PHY, 'LE Set Default PHY'],
  [OP.LE_SET_EXT_SCAN_PARAMS, 'LE Set Extended Scan Parameters'],
  [OP.LE_SET_EXT_SCAN_ENABLE, 'LE Set Extended Scan Enable'],
  [OP.LE_EXT_CREATE_CONN, 'LE Extended Create Connection'],
]);

export const EVT = {
  DISCONN_COMPLETE: 0x05,
  ENCRYPT_CHANGE: 0x08,
  CMD_COMPLETE: 0x0e,
  CMD_STATUS: 0x0f,
  HARDWARE_ERROR: 0x10,
  NUM_COMPLETED_PACKETS: 0x13,
  LE_META: 0x3e,
} as const;

export const EVENT_NAMES: ReadonlyMap<number, string> = new Map([
  [EVT.DISCONN_COMPLETE, 'Disconnection Complete'],
  [EVT.ENCRYPT_CHANGE, 'Encryption Change'],
  [EVT.CMD_COMPLETE, 'Command Complete'],
  [EVT.CMD_STATUS, 'Command Status'],
  [EVT.HARDWARE_ERROR, 'Hardware Error'],
  [EVT.NUM_COMPLETED_PACKETS, 'Number Of Completed Packets'],
  [EVT.LE_META, 'LE Meta'],
]);

export const LE_EVT = {
  CONN_COMPLETE: 0x01,
  ADV_REPORT: 0x02,
  CONN_UPDATE_COMPLETE: 0x03,
  LTK_REQUEST: 0x05,
} as const;

export const LE_EVENT_NAMES: ReadonlyMap<number, string> = new Map([
  [LE_EVT.CONN_COMPLETE, 'LE Connection Complete'],
  [LE_EVT.ADV_REPORT, 'LE Advertising Report'],
  [LE_EVT.CONN_UPDATE_COMPLETE, 'LE Connection Update Complete'],
  [LE_EVT.LTK_REQUEST, 'LE Long Term Key Request'],
]);

/** Event mask bits (Set Event Mask) of the maskable events this controller raises. */
export const EVENT_MASK_BIT: ReadonlyMap<number, number> = new Map([
  [EVT.DISCONN_COMPLETE, 4],
  [EVT.ENCRYPT_CHANGE, 7],
  [EVT.HARDWARE_ERROR, 15],
  [EVT.LE_META, 61],
]);

export const STATUS = {
  SUCCESS: 0x00,
  UNKNOWN_COMMAND: 0x01,
  UNKNOWN_CONNECTION_ID: 0x02,
  PIN_OR_KEY_MISSING: 0x06,
  CONNECTION_TIMEOUT: 0x08,
  CONNECTION_ALREADY_EXISTS: 0x0b,
  COMMAND_DISALLOWED: 0x0c,
  INVALID_PARAMETERS: 0x12,
  REMOTE_USER_TERMINATED: 0x13,
  LOCAL_HOST_TERMINATED: 0x16,
  UNSUPPORTED_REMOTE_FEATURE: 0x1a,
  MIC_FAILURE: 0x3d,
} as const;

export const STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Success'],
  [0x01, 'Unknown HCI Command'],
  [0x02, 'Unknown Connection Identifier'],
  [0x05, 'Authentication Failure'],
  [0x06, 'PIN or Key Missing'],
  [0x08, 'Connection Timeout'],
  [0x0b, 'Connection Already Exists'],
  [0x0c, 'Command Disallowed'],
  [0x12, 'Invalid HCI Command Parameters'],
  [0x13, 'Remote User Terminated Connection'],
  [0x14, 'Remote Device Terminated due to Low Resources'],
  [0x15, 'Remote Device Terminated due to Power Off'],
  [0x16, 'Connection Terminated By Local Host'],
  [0x1a, 'Unsupported Remote Feature'],
  [0x29, 'Pairing With Unit Key Not Supported'],
  [0x3b, 'Unacceptable Connection Parameters'],
  [0x3d, 'Connection Terminated due to MIC Failure'],
  [0x3e, 'Connection Failed to be Established'],
]);

/** Reasons a host may give in HCI Disconnect (Vol 4, Part E, 7.1.6). */
export const DISCONNECT_REASONS: ReadonlySet<number> = new Set([0x05, 0x13, 0x14, 0x15, 0x1a, 0x29, 0x3b]);

export const ADV_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'ADV_IND'],
  [0x01, 'ADV_DIRECT_IND'],
  [0x02, 'ADV_SCAN_IND'],
  [0x03, 'ADV_NONCONN_IND'],
  [0x04, 'SCAN_RSP'],
]);

export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** 'c3:11:22:33:44:55' (most significant byte first, as hosts print it) from 6 little-endian wire bytes. */
export function addressFromWire(b: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--) parts.push((b[offset + i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function addressToWire(address: string): Uint8Array {
  const parts = address.split(':');
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(parts[5 - i] ?? '0', 16);
  return out;
}

export const ADDRESS_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
