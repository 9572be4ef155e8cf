/**
 * Whether a process runs: a signal 0 reaches it, or it exists but belongs to another user
 * (EPERM). A zombie still counts until it is reaped.
 * @param pid the process id
 * @returns whether it is alive
 */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
