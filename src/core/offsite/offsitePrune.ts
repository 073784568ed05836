import { RetentionDecision, RetentionPolicy, planRetention } from '../catalog/retention';
import { OffsiteRepository, shownLocation } from './resticRepository';
import { runRestic } from './resticProcess';
import { OffsiteSnapshot, listOffsiteSnapshots } from './offsiteSnapshots';

/** A snapshot as retention weighs it: dated when its backup was made, named by its backup. */
export interface OffsitePruneCandidate {
  path: string;
  createdAt: Date;
  snapshot: OffsiteSnapshot;
}

export interface OffsitePrunePlan {
  repository: string;
  /** Each environment's snapshots, counted on their own (as prune counts each environment's backups). */
  environments: Array<{
    environmentTag: string;
    projectName?: string;
    keep: Array<RetentionDecision<OffsitePruneCandidate>>;
    remove: Array<RetentionDecision<OffsitePruneCandidate>>;
  }>;
}

export interface OffsitePruneResult extends OffsitePrunePlan {
  /** The ids of the snapshots forgotten (their data pruned), none for a dry run. */
  forgotten: string[];
  dryRun: boolean;
  durationMs: number;
}

/**
 * What the retention policy (tracBackup.retention, prune's --keep-*: the same rules, by the same
 * code as for backup folders) keeps and removes of this tool's snapshots in the repository, per
 * environment (its identity tag); with `environment`, of that one only.
 */
export async function planOffsitePrune(
  repository: OffsiteRepository,
  policy: RetentionPolicy,
  options: { environment?: string; signal?: AbortSignal; now?: Date } = {},
): Promise<OffsitePrunePlan> {
  const snapshots = await listOffsiteSnapshots(repository, { environment: options.environment, signal: options.signal });
  const groups = new Map<string, OffsiteSnapshot[]>();
  for (const snapshot of snapshots) {
    const key = snapshot.environmentTag ?? '';
    groups.set(key, [...(groups.get(key) ?? []), snapshot]);
  }
  const environments = [...groups].map(([environmentTag, group]) => {
    const candidates = group.map((snapshot) => ({
      path: snapshot.backupName ?? snapshot.id,
      createdAt: new Date(snapshot.time),
      snapshot,
    }));
    const plan = planRetention(candidates, policy, options.now);
    return { environmentTag, ...(group[0].projectName && { projectName: group[0].projectName }), ...plan };
  });
  return { repository: shownLocation(repository.location), environments };
}

/**
 * Forgets the snapshots the plan removes and prunes the data only they used (`restic forget
 * --prune`, one run, under restic's exclusive lock): give it the plan the user was shown, so
 * that what goes is what was listed.
 */
export async function pruneOffsite(
  repository: OffsiteRepository,
  plan: OffsitePrunePlan,
  options: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<OffsitePruneResult> {
  const started = performance.now();
  const ids = plan.environments.flatMap((environment) => environment.remove.map((decision) => decision.backup.snapshot.id));
  if (ids.length > 0 && !options.dryRun) {
    await runRestic(repository, { args: ['forget', '--prune', ...ids], signal: options.signal, what: 'The offsite prune' });
  }
  return {
    ...plan,
    forgotten: options.dryRun ? [] : ids,
    dryRun: options.dryRun ?? false,
    durationMs: Math.round(performance.now() - started),
  };
}
