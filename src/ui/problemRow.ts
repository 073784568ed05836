// The words of a broken environment's Problem row. A tree row cannot wrap, and the reason, with
// its path, is a sentence: the row says what is wrong in a few words, which fit the default
// sidebar width; the sentence is its tooltip, and a click on the row shows it whole.
// Kept free of `vscode` so that unit tests can read exactly what a person sees.

/** The known reasons (core/trac/environment.ts, discovery.ts, environmentRegistry.ts), most specific first. */
const HEADLINES: Array<[RegExp, string]> = [
  [/^Not a Trac environment: the folder does not exist/, 'Folder not found'],
  [/^Not a Trac environment: it cannot be read/, 'Folder cannot be read'],
  [/^Not a Trac environment: it is not a folder/, 'Not a folder'],
  [/^Not a Trac environment: it has no VERSION file/, 'Not Trac: no VERSION file'],
  [/^Not a Trac environment: its VERSION file cannot be read/, 'VERSION cannot be read'],
  [/^Not a Trac environment: its VERSION file says/, 'Not Trac: odd VERSION file'],
  [/^Not a Trac environment: it has no conf\/trac\.ini/, 'Not Trac: no trac.ini'],
  [/^Not a Trac environment/, 'Not a Trac environment'],
  [/^trac\.ini: .* is not valid/, 'trac.ini is not valid'],
  [/^trac\.ini: /, 'trac.ini cannot be read'],
  [/^\[trac\] database: /, 'Database URL not understood'],
  [/^The database .* is not a file/, 'Database is not a file'],
  [/^The database file .* is missing/, 'Database file missing'],
  [/^The database file .* cannot be read/, 'Database cannot be read'],
  [/^This environment parent folder cannot be read/, 'Parent folder cannot be read'],
  [/^Its files could not be measured/, 'Files cannot be measured'],
];

/** The row's label: a few words for `problem`, or the sentence itself for a reason not known here. */
export function problemHeadline(problem: string): string {
  return HEADLINES.find(([pattern]) => pattern.test(problem))?.[1] ?? problem;
}
