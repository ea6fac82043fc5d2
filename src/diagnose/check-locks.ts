/**
 * Is something holding a plugin's files while the host wants to reload it? Without fuser, from
 * what can be read directly:
 *
 *   - plugvisor's own writers: the compile cache and state backups are written to `<file>.<pid>.tmp`
 *     then renamed; such a file whose pid is alive is a write in progress, one whose pid is gone is
 *     a leftover of a killed process (harmless; safe to delete);
 *   - editors: swap and lock files next to the sources (vim `.x.swp`, emacs `.#x`, LibreOffice
 *     `.~lock.x#`) mean the file is open in an editor, maybe with unsaved changes;
 *   - other processes (Linux): /proc/<pid>/fd links that point into the plugin folder, and from
 *     /proc/<pid>/fdinfo whether they are open for writing. A writer mid-write means a reload may
 *     read a half-written file (the watcher's cooldown and retries cover that for saves). Only
 *     processes the host may inspect are seen (its own user's, or all as root).
 */
import { pluginFiles } from './plugin-files.js';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, sep } from 'node:path';
import type { Finding } from './finding.js';

const TMP_FILE = /\.(\d+)\.tmp$/;
const EDITOR_FILES: Array<[RegExp, string]> = [
  [/^\..+\.sw[a-p]$/, 'a vim swap file'],
  [/^\.#.+/, 'an emacs lock file'],
  [/^\.~lock\..+#$/, 'a LibreOffice lock file'],
  [/^4913$/, "vim's write test file"],
];
/** At most this long reading /proc: a diagnosis must answer promptly on a busy machine. */
const PROC_BUDGET_MS = 1500;

export interface LockTargets {
  dir: string;
  /** plugvisor's own folders written with temp files (compile cache, state backups). */
  writeDirs: string[];
  /** Processes not to report (the host itself). */
  ignorePids: number[];
}

export function checkLocks(t: LockTargets): Finding[] {
  const findings: Finding[] = [
    ...tempFiles(t.writeDirs),
    ...editorFiles(t.dir),
    ...openFiles(t.dir, new Set(t.ignorePids)),
  ];
  if (!findings.some((f) => f.level !== 'ok' && f.level !== 'info')) {
    findings.push({ check: 'locks', level: 'ok', message: 'no process, editor or plugvisor write holds the plugin\'s files' });
  }
  return findings;
}

function tempFiles(dirs: string[]): Finding[] {
  const findings: Finding[] = [];
  for (const dir of dirs) {
    for (const file of pluginFiles(dir)) {
      const pid = Number(TMP_FILE.exec(file)?.[1]);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      findings.push(isAlive(pid)
        ? { check: 'locks', level: 'warn', message: `process ${pid} is writing ${file} (a compile or state backup in progress)`, file }
        : { check: 'locks', level: 'info', message: `leftover ${file} of process ${pid}, which is gone (harmless; safe to delete)`, file });
    }
  }
  return findings;
}

function editorFiles(dir: string): Finding[] {
  const findings: Finding[] = [];
  for (const file of pluginFiles(dir)) {
    const name = basename(file);
    const match = EDITOR_FILES.find(([pattern]) => pattern.test(name));
    if (match !== undefined) {
      findings.push({ check: 'locks', level: 'warn', message: `${match[1]} ${file}: a file of the plugin is open in an editor (unsaved changes are not what a reload reads)`, file });
    }
  }
  return findings;
}

function openFiles(dir: string, ignore: Set<number>): Finding[] {
  if (process.platform !== 'linux' || !existsSync('/proc/self/fd')) return [];
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  const deadline = performance.now() + PROC_BUDGET_MS;
  const findings: Finding[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  for (const pidText of pids) {
    if (performance.now() > deadline) {
      findings.push({ check: 'locks', level: 'info', message: `stopped reading /proc after ${PROC_BUDGET_MS} ms: other processes were not inspected` });
      break;
    }
    const pid = Number(pidText);
    if (ignore.has(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!target.startsWith(prefix) || target.includes(`${sep}node_modules${sep}`)) continue;
      const writing = openForWriting(pid, fd);
      const who = `process ${pid} (${command(pid)})`;
      findings.push(writing
        ? { check: 'locks', level: 'warn', message: `${who} has ${target} open for writing: a reload now may read it half-written`, file: target }
        : { check: 'locks', level: 'info', message: `${who} has ${target} open for reading`, file: target });
    }
  }
  return findings;
}

function openForWriting(pid: number, fd: string): boolean {
  try {
    const flags = /flags:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
    // octal open(2) flags: O_WRONLY 01, O_RDWR 02
    return flags !== undefined && (parseInt(flags, 8) & 0o3) !== 0;
  } catch {
    return false;
  }
}

function command(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

