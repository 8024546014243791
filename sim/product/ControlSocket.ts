// The control channel of a running `keyway lock`: a Unix socket in its data directory (ctl.sock, mode 0600
// inside the 0700 directory) that takes the same line commands as stdin, so a script can press keys, the
// inside button, open the door or make the claim gesture while the lock's terminal shows its panel.
// Reaching the socket means being able to write the lock's data directory, i.e. physical access to the
// simulated lock; it grants nothing a person at the door could not do.
//
// Wire format: one JSON object per line each way.
//   -> {"id": 1, "line": "keypad 4071#"}
//   <- {"id": 1, "ok": true, "events": [...], "status": {...}}      or {"id": 1, "ok": false, "error": "..."}
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KeywayError } from '../../firmware/index.ts';

export const CONTROL_SOCKET = 'ctl.sock';
/** Unix socket paths are limited (108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 100;
const MAX_LINE = 1024;

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET);
}

export interface ControlReply {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

/** Runs one command line; returns what to send back (an error reply for bad input, never a throw). */
export type ControlHandler = (line: string) => Promise<ControlReply> | ControlReply;

export class ControlServer {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly path: string,
    private readonly server: net.Server,
  ) {}

  /** Listens at <dataDir>/ctl.sock; a stale socket file (no process behind it) is replaced. */
  static async listen(dataDir: string, handler: ControlHandler): Promise<ControlServer> {
    const path = controlSocketPath(dataDir);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new KeywayError(
        'invalid_argument',
        `the control socket path ${path} is too long for a Unix socket; use a shorter --data directory`,
      );
    }
    // The data-directory lock file already guarantees no other lock process uses this directory, so an
    // existing socket file is a leftover of a killed process.
    if (existsSync(path)) unlinkSync(path);
    const server = net.createServer();
    const ctl = new ControlServer(path, server);
    server.on('connection', (s) => ctl.serve(s, handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    return ctl;
  }

  private serve(socket: net.Socket, handler: ControlHandler): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const lines = createInterface({ input: socket, crlfDelay: Infinity });
    // One command at a time per connection, in order.
    let chain = Promise.resolve();
    lines.on('line', (raw) => {
      chain = chain.then(async () => {
        const reply = await answer(raw, handler);
        if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already removed by the server
    }
  }
}

async function answer(raw: string, handler: ControlHandler): Promise<ControlReply & { id: unknown }> {
  if (raw.length > MAX_LINE) return { id: null, ok: false, error: `request longer than ${MAX_LINE} bytes` };
  let req: unknown;
  try {
    req = JSON.parse(raw);
  } catch {
    return { id: null, ok: false, error: 'request is not JSON' };
  }
  if (typeof req !== 'object' || req === null || typeof (req as { line?: unknown }).line !== 'string') {
    return { id: null, ok: false, error: 'request must be {"id": ..., "line": "<command>"}' };
  }
  const { id, line } = req as { id?: unknown; line: string };
  try {
    return { ...(await handler(line)), id: id ?? null };
  } catch (err) {
    return { id: id ?? null, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Sends one command line to the lock whose data directory is dataDir and returns its reply. */
export async function sendControl(dataDir: string, line: string, timeoutMs = 10_000): Promise<ControlReply> {
  const path = controlSocketPath(dataDir);
  if (!existsSync(path)) {
    throw new KeywayError(
      'not_found',
      `no lock is running with data directory ${dataDir} (no ${CONTROL_SOCKET})`,
    );
  }
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new KeywayError('protocol', `the lock did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ECONNREFUSED' || err.code === 'ENOENT'
          ? new KeywayError('not_found', `no lock is running with data directory ${dataDir}`)
          : err,
      );
    });
    const lines = createInterface({ input: socket, crlfDelay: Infinity });
    lines.once('line', (raw) => {
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(raw) as ControlReply);
      } catch {
        reject(new KeywayError('invalid_argument', 'the lock sent a reply that is not JSON'));
      }
    });
    socket.write(`${JSON.stringify({ id: 1, line })}\n`);
  });
}
