// The core's one front door: what the faces (src/ui, the VS Code extension; src/cli, the
// command-line tool) may use. Nothing here imports vscode; each name is defined in the concept
// folder it comes from (see README.md, "Development").

// Operations, and the workflows both faces run (the same from the extension and the CLI)
export { hotcopy } from './backup/hotcopy';
export type { HotcopyOptions, HotcopyResult } from './backup/hotcopy';
export { HOTCOPY_PHASES } from './backup/backupProgress';
export type { HotcopyPhase, HotcopyProgress } from './backup/backupProgress';
export { environmentChangedSince } from './backup/changedSinceBackup';
export { backUpEnvironment, chooseLinkBase, namedLinkBase } from './workflows/backUpEnvironment';
export type { BackUpEnvironmentOptions, EnvironmentBackup, LinkBase } from './workflows/backUpEnvironment';
export { restore } from './restore/restore';
export type { RestoreOptions, RestorePhase, RestoreProgress, RestoreResult } from './restore/restore';
export { describeRestore } from './restore/restorePlan';
export type { RestorePlan } from './restore/restorePlan';
export { serverRestoreLines } from './restore/serverRestore';
export type { ServerRestorePlan } from './restore/serverRestore';
export { parseDatabaseUrl, isServerLocation } from './trac/databaseUrl';
export { restoreFromArchive } from './workflows/restoreFromArchive';
export { verifyBackup } from './verify/verify';
export type { VerifyPhase, VerifyProgress, VerifyResult } from './verify/verify';
export { exportArchive } from './archive/exportArchive';
export type { ArchivePhase, ArchiveProgress, ExportArchiveResult } from './archive/exportArchive';
export { isArchivePath } from './archive/extractArchive';
export { deleteBackup, pruneBackups } from './catalog/prune';
export type { PruneBackup, PruneResult } from './catalog/prune';
export { sendToOffsite } from './workflows/sendToOffsite';
export type { SendToOffsiteOptions, SendToOffsiteResult } from './workflows/sendToOffsite';
export { restoreFromOffsite } from './workflows/restoreFromOffsite';
export type { RestoreFromOffsiteOptions, RestoreFromOffsiteResult } from './workflows/restoreFromOffsite';
export { BackupScheduler, isOverdue, overrideScheduleInterval } from './schedule/scheduler';
export type { BackupSchedule, SchedulerEvent } from './schedule/scheduler';

// The catalog: backups of an environment, their names, metadata, retention, verifications
export { environmentBackups, isBackupOf, listBackups, newestBackupFor } from './catalog/backupCatalog';
export type { BackupInfo } from './catalog/backupCatalog';
export { defaultBackupFolder, isKeptBeforeRestore, keptBeforeRestorePrefix } from './catalog/backupNames';
export { DiskUsageCache } from './catalog/diskUsage';
export { databaseInsideNote } from './restore/databasePlacement';
export { hasRetentionRule, readRetentionSetting } from './catalog/retention';
export type { RetentionDecision, RetentionPolicy } from './catalog/retention';
export { passedSinceMade, readVerifications, recordVerification, verificationOf, verificationStoreFile } from './catalog/verificationStore';
export type { VerificationRecord } from './catalog/verificationStore';

// Offsite: restic repositories (send, list, fetch, prune, check, init, unlock)
export type { OffsiteRepository } from './offsite/resticRepository';
export { PASSWORD_VARIABLES, shownLocation } from './offsite/resticRepository';
export { RESTIC_INSTALL, RESTIC_MINIMUM, findRestic } from './offsite/resticProgram';
export { OffsiteLockedError } from './offsite/resticErrors';
export type { ResticLockHolder } from './offsite/resticErrors';
export type { SendPhase, SendProgress, SendResult } from './offsite/sendBackup';
export { describeSnapshot, findOffsiteSnapshot, listOffsiteSnapshots } from './offsite/offsiteSnapshots';
export type { OffsiteSnapshot } from './offsite/offsiteSnapshots';
export { planOffsitePrune, pruneOffsite } from './offsite/offsitePrune';
export type { OffsitePruneCandidate, OffsitePrunePlan, OffsitePruneResult } from './offsite/offsitePrune';
export { checkRepository, initRepository, unlockStaleLocks, whileLocked } from './offsite/repositoryMaintenance';
export type { RepositoryCheck } from './offsite/repositoryMaintenance';

// Trac environments
export { discoverEnvironments, isSearchedFolderName } from './trac/discovery';
export type { FoundEnvironment } from './trac/discovery';
export { readEnvironment, whyNotAnEnvironment } from './trac/environment';
export type { TracEnvironment } from './trac/environment';
export { readEnvironmentDetails } from './trac/environmentDetails';
export type { EnvironmentDetails } from './trac/environmentDetails';
export { busyWithOthersError, detectLiveTrac } from './trac/liveTrac';
export type { LiveTracReport } from './trac/liveTrac';
export { runtimeDescription, sqliteRuntime } from './sqlite/sqlite';

// Work in progress: leftovers of killed runs, and what other windows and processes are doing
export { sweepEnvironmentLeftovers } from './work/environmentSweep';
export type { SweptLeftover } from './work/environmentSweep';
export { describeHolder, setLeaseHolderName } from './work/lease';
export { isRestoreJournalName } from './work/restoreJournal';
export { describeSwept, isWorkName, sweepDeadWork } from './work/workFolder';
export type { SweptWork } from './work/workFolder';
export { FolderWatcher, interestIn, interestsInFiles } from './fs/fileWatch';
export type { FolderInterest } from './fs/fileWatch';
export { expandHome, pathKey, samePathKey } from './fs/paths';

// Shared: errors, progress, formatting, what the tool is
export { CancelledError, TracBackupError, describeError, errnoCode, isCancelled } from './shared/errors';
export type { TracBackupErrorCode } from './shared/errors';
export type { Progress } from './shared/progress';
export { ageInLargestUnit, fileStamp, formatAge, formatBytes, formatDuration, localDateTime, plural } from './shared/format';
export { TOOL_NAME, TOOL_VERSION } from './shared/toolInfo';
