/**
 * Where a host's control socket lives, and how a CLI started anywhere in the project finds it.
 *
 *   <root>/.plugvisor/run/            0700, owned by the host's user: the only access control
 *     control.sock                    0600, the Unix socket
 *     host.json                       { pid, socket, root, startedAt, version }
 *
 * A Unix socket path is limited to ~104 bytes; a deep project folder gets its socket in a private
 * folder under the system temp dir instead, and host.json says where.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PlugvisorError } from '../errors.js';

const MAX_SOCKET_PATH = 100;

export interface HostRecord {
  pid: number;
  socket: string;
  root: string;
  startedAt: string;
  version: string;
}

export function runDirOf(root: string): string {
  return join(root, '.plugvisor', 'run');
}

export function hostRecordFile(root: string): string {
  return join(runDirOf(root), 'host.json');
}

/** The socket a host rooted at `root` listens on. */
export function socketPathFor(root: string): string {
  const inRoot = join(runDirOf(root), 'control.sock');
  if (Buffer.byteLength(inRoot) <= MAX_SOCKET_PATH) return inRoot;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `plugvisor-${uid}`, `${createHash('sha256').update(resolve(root)).digest('hex').slice(0, 16)}.sock`);
}

/**
 * Create `dir` (and parents) readable by its owner only. Refuses a folder that is a symlink or
 * belongs to another user: someone else could then reach, or replace, the socket inside.
 */
export function ensurePrivateDir(dir: string): void {
  let stat;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    stat = lstatSync(dir);
  } catch (err) {
    throw new PlugvisorError('PLUGVISOR_CONTROL_UNAVAILABLE', `cannot create the control folder ${dir}: ${(err as Error).message}`, { file: dir, cause: err });
  }
  if (!stat.isDirectory()) {
    throw new PlugvisorError('PLUGVISOR_CONTROL_UNAVAILABLE', `${dir} is not a folder (a symlink?): refusing to open the control socket there`, { file: dir });
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && stat.uid !== uid) {
    throw new PlugvisorError('PLUGVISOR_CONTROL_UNAVAILABLE', `${dir} belongs to another user (uid ${stat.uid}): refusing to open the control socket there`, { file: dir });
  }
  if ((stat.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

export interface FoundHost {
  root: string;
  socket: string;
  record: HostRecord | undefined;
}

/** The host of the project `cwd` is in: the nearest folder upward with a .plugvisor/run/. */
export function findHost(cwd: string): FoundHost | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const run = runDirOf(dir);
    if (existsSync(run)) {
      const record = readHostRecord(dir);
      const socket = record?.socket ?? socketPathFor(dir);
      if (record !== undefined || existsSync(socket)) return { root: dir, socket, record };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

export function readHostRecord(root: string): HostRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(hostRecordFile(root), 'utf8')) as HostRecord;
    return typeof record?.socket === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}
