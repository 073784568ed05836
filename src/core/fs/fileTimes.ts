/**
 * Seconds to give utimes for a time in milliseconds, such that the time read back has the same
 * whole millisecond. utimes truncates to nanoseconds, and a double near 1.8e9 seconds is only
 * exact to about 0.2 µs: X.100 s can come back as X.0999999 s, one millisecond early. Keeping the
 * fraction between 1 µs and 999 µs puts it out of reach of that error.
 */
export function utimesSeconds(ms: number): number {
  const whole = Math.floor(ms);
  const fraction = Math.min(Math.max(ms - whole, 0.001), 0.999);
  return (whole + fraction) / 1000;
}
