import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { ServerDatabaseLocation } from '../trac/databaseUrl';

/** COM_QUERY in the MySQL client/server protocol. */
const COM_QUERY = 0x03;

/**
 * A pass-through between the dump tool and the server, on a private unix socket, that holds the
 * dump's `START TRANSACTION … WITH CONSISTENT SNAPSHOT` until open() is called and says when the
 * server has answered it: so the dump tool can start (and pay for its start) before the
 * attachments are locked, and the lock lasts only from then until its snapshot has begun. It
 * reads only the packets' framing and command byte; a connection it cannot read (TLS) is said so
 * (`opaque`), and the caller falls back to the slower way.
 */
export class DumpGate {
  private server?: net.Server;
  private dir?: string;
  private heldPacket?: Buffer;
  private client?: net.Socket;
  private upstream?: net.Socket;
  private markReady!: (state: 'held' | 'opaque' | 'ended') => void;
  private markBegun!: () => void;
  /** Resolves when the dump's START TRANSACTION is held ('held'), or the gate cannot tell ('opaque', 'ended'). */
  readonly ready = new Promise<'held' | 'opaque' | 'ended'>((resolve) => (this.markReady = resolve));
  /** Resolves once the server answered the released START TRANSACTION: the dump's snapshot has begun. */
  readonly begun = new Promise<void>((resolve) => (this.markBegun = resolve));
  private released = false;

  /** The socket the dump tool connects to. */
  socketPath = '';

  constructor(private readonly target: ServerDatabaseLocation) {}

  async listen(): Promise<string> {
    this.dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trac-backup-gate-'));
    this.socketPath = path.join(this.dir, 'sock');
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
    return this.socketPath;
  }

  private accept(client: net.Socket): void {
    if (this.client) {
      client.destroy();
      return;
    }
    this.client = client;
    const upstream = (this.upstream = this.target.socket
      ? net.connect(this.target.socket)
      : net.connect(this.target.port ?? 3306, this.target.host ?? 'localhost'));
    let pending = Buffer.alloc(0);
    let watching = true;
    client.on('data', (chunk: Buffer) => {
      if (!watching || this.heldPacket) {
        if (this.heldPacket && !this.released) {
          this.heldPacket = Buffer.concat([this.heldPacket, chunk]);
        } else {
          upstream.write(chunk);
        }
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending[0] | (pending[1] << 8) | (pending[2] << 16);
        if (pending.length < 4 + length) break;
        const packet = pending.subarray(0, 4 + length);
        const rest = pending.subarray(4 + length);
        const sequence = pending[3];
        // An SSL request (32 bytes, CLIENT_SSL set) turns the stream into TLS: nothing more to read.
        if (sequence === 1 && length === 32 && (packet[5] & 0x08) !== 0) {
          watching = false;
          upstream.write(pending);
          pending = Buffer.alloc(0);
          this.markReady('opaque');
          return;
        }
        if (sequence === 0 && packet[4] === COM_QUERY && /^\s*START\s+TRANSACTION/i.test(packet.subarray(5, 5 + 64).toString('latin1'))) {
          watching = false;
          this.heldPacket = Buffer.concat([packet, rest]);
          pending = Buffer.alloc(0);
          this.markReady('held');
          return;
        }
        upstream.write(packet);
        pending = Buffer.from(rest);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.released) this.markBegun();
      client.write(chunk);
    });
    const end = () => {
      this.markReady('ended');
      this.markBegun();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }

  /** Lets the held START TRANSACTION go to the server. */
  open(): void {
    if (this.released) return;
    this.released = true;
    if (this.heldPacket && this.upstream) {
      this.upstream.write(this.heldPacket);
    } else {
      this.markBegun();
    }
  }

  /** Ends both connections (a dump still held fails: it never began) and removes the socket. */
  async close(): Promise<void> {
    this.markBegun();
    this.client?.destroy();
    this.upstream?.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (this.dir) await fs.rm(this.dir, { recursive: true, force: true });
  }
}
