/**
 * enableBackup and disableBackup are `cumulus enable` / `disable`: the switch, plus, on
 * the first enable, the usual folders that exist on this machine as sources.
 */
import type { AgentContext } from './context.ts';
import { defaultSources } from './sources.ts';

export interface SwitchResult {
  enabled: boolean;
  /** Sources chosen by this call (the defaults, on the first enable). */
  sourcesAdded: string[];
  sources: string[];
}

export async function enableBackup(ctx: AgentContext): Promise<SwitchResult> {
  const settings = await ctx.settings.load();
  const sourcesAdded: string[] = [];
  if (settings.sources.length === 0) {
    settings.sources = await defaultSources(ctx.paths.home);
    sourcesAdded.push(...settings.sources.map((s) => s.path));
    await ctx.settings.save(settings);
  }
  await ctx.backupSwitch.write(true, ctx.clock.now());
  return { enabled: true, sourcesAdded, sources: settings.sources.map((s) => s.path) };
}

/** disableBackup switches automatic backups off; backups already made stay. */
export async function disableBackup(ctx: AgentContext): Promise<SwitchResult> {
  await ctx.backupSwitch.write(false, ctx.clock.now());
  const { settings } = await ctx.settings.inspect();
  return { enabled: false, sourcesAdded: [], sources: settings.sources.map((s) => s.path) };
}
