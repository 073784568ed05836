/**
 * Whether copies can keep the owners of what they copy: only root may give a file to another
 * user (POSIX), and a Trac environment often belongs to the web server's user (www-data), which
 * a backup or restore run with sudo must not take from it. Elsewhere copies belong to whoever
 * makes them, as with `cp -a` run by a user.
 */
export function canKeepOwners(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
