/** 1536 → "1.5 KB": binary multiples with the short names people read in file managers. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** 1234 → "1.2 s", 45 → "45 ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const AGE_UNITS: Array<[number, 'year' | 'month' | 'week' | 'day' | 'hour' | 'minute']> = [
  [60 * 60 * 24 * 365, 'year'],
  [60 * 60 * 24 * 30, 'month'],
  [60 * 60 * 24 * 7, 'week'],
  [60 * 60 * 24, 'day'],
  [60 * 60, 'hour'],
  [60, 'minute'],
];

/** How long ago `then` was as a count of its largest whole unit; undefined under a minute. */
export function ageInLargestUnit(then: Date, now: Date = new Date()): { count: number; unit: (typeof AGE_UNITS)[number][1] } | undefined {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  const found = AGE_UNITS.find(([size]) => seconds >= size);
  return found && { count: Math.floor(seconds / found[0]), unit: found[1] };
}

/** How long ago `then` was, in the largest sensible unit: "just now", "5 minutes ago", "3 days ago". */
export function formatAge(then: Date, now: Date = new Date()): string {
  const age = ageInLargestUnit(then, now);
  return age ? `${age.count} ${age.unit}${age.count === 1 ? '' : 's'} ago` : 'just now';
}

/** Two digits: 7 → "07". */
export function pad2(value: number): string {
  return String(value).padStart(2, '0');
}

/** YYYYMMDD-HHMMSS in local time: what backup names and kept-aside names carry. */
export function fileStamp(date: Date): string {
  return (
    `${date.getFullYear()}${pad2(date.getMonth() + 1)}${pad2(date.getDate())}-` +
    `${pad2(date.getHours())}${pad2(date.getMinutes())}${pad2(date.getSeconds())}`
  );
}

/** YYYY-MM-DD in local time. */
export function localDay(date: Date): string {
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

/** "2026-11-26 11:40:03" (or without the seconds), in local time: sortable and unambiguous. */
export function localDateTime(date: Date, { seconds = true }: { seconds?: boolean } = {}): string {
  const time = `${pad2(date.getHours())}:${pad2(date.getMinutes())}${seconds ? `:${pad2(date.getSeconds())}` : ''}`;
  return `${localDay(date)} ${time}`;
}

/** "1 backup", "3 backups"; `many` for words that do not take an s. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
