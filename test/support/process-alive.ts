/** Whether a process runs (a signal 0 reaches it); a zombie still counts until it is reaped. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
