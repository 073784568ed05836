import { version } from '../../../package.json';

/** Written into every backup's metadata, so a backup says which tool made it. */
export const TOOL_NAME = 'trac-backup';
export const TOOL_VERSION: string = version;
