// The highest GLIBC_ and GLIBCXX_ symbol versions a Linux ELF binary needs, read from its
// version references with objdump (binutils; scripts/ensure-system-deps.sh installs it).
import { execFileSync } from 'node:child_process';

/** VS Code's own floor for remote hosts (Remote-SSH, WSL, dev containers): glibc 2.28, libstdc++ 3.4.25. */
export const VSCODE_GLIBC_FLOOR = '2.28';

function compareVersions(a, b) {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) {
      return (x[i] ?? 0) - (y[i] ?? 0);
    }
  }
  return 0;
}

/** { glibc, glibcxx } (e.g. '2.34', '3.4.29'), each undefined when the binary needs none (musl builds). */
export function glibcNeeds(file) {
  const text = execFileSync('objdump', ['-p', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const highest = (prefix) =>
    [...text.matchAll(new RegExp(`\\b${prefix}_(\\d+(?:\\.\\d+)+)\\b`, 'g'))]
      .map((match) => match[1])
      .sort(compareVersions)
      .at(-1);
  return { glibc: highest('GLIBC'), glibcxx: highest('GLIBCXX') };
}

/** True when version a is newer than b. */
export function isNewer(a, b) {
  return compareVersions(a, b) > 0;
}
