/**
 * When the main worker process exits, whatever it forked must go with it. The framework's
 * inference process ignores SIGINT/SIGTERM and only notices its orphaning after 15 s, and a
 * worker that fails to register exits with idle job processes still starting: without this they
 * outlive the worker. Linux only (/proc); elsewhere a no-op.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** Live child processes of `parent` (zombies excluded: they are dead already). */
export function childProcesses(parent = process.pid): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === parent && state !== 'Z') children.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return children;
}

/** On exit, SIGKILLs every child still alive except those `keep` names (stopped their own way). */
export function reapChildrenOnExit(keep: () => readonly number[] = () => []): void {
  process.once('exit', () => {
    const kept = new Set(keep());
    for (const pid of childProcesses()) {
      if (kept.has(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}
