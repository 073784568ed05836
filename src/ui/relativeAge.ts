import * as vscode from 'vscode';
import { ageInLargestUnit } from '../core';

const formats = new Map<string, Intl.RelativeTimeFormat>();

/** Intl's relative time format for VS Code's display language (English when Intl does not know it). */
function formatFor(locale: string, style: Intl.RelativeTimeFormatStyle): Intl.RelativeTimeFormat {
  const key = `${locale}/${style}`;
  let format = formats.get(key);
  if (!format) {
    try {
      format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style });
    } catch {
      format = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style });
    }
    formats.set(key, format);
  }
  return format;
}

/**
 * How long ago `then` was, in VS Code's display language: "5 minutes ago" ("5 min. ago" short,
 * "vor 5 Minuten" in German), "now" under a minute. The CLI keeps the core's English formatAge.
 */
export function relativeAge(
  then: Date,
  now: Date = new Date(),
  style: Intl.RelativeTimeFormatStyle = 'long',
  locale: string = vscode.env.language,
): string {
  const format = formatFor(locale, style);
  const age = ageInLargestUnit(then, now);
  if (age) {
    return format.format(-age.count, age.unit);
  }
  return format.format(0, 'second');
}
