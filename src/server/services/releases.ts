/**
 * ReleasesService: the agent update channel. An admin publishes versions with notes and
 * the minimum version still accepted; the newest release's minimum is the one enforced.
 */
import type { NewRelease } from '../../api/admin.ts';
import { compareVersions, isVersion, type Release } from '../../api/releases.ts';
import { CumulusError } from '../../core/errors.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { AuditLog } from './audit.ts';
import type { Actor } from './caller.ts';

interface ReleaseRow {
  version: string;
  notes: string;
  minimum_version: string;
  published_at: number;
}

export class ReleasesService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(db: Database, clock: Clock, audit: AuditLog) {
    this.#db = db;
    this.#clock = clock;
    this.#audit = audit;
  }

  async publish(actor: Actor, input: NewRelease): Promise<Release> {
    if (compareVersions(input.minimumVersion, input.version) > 0) {
      throw new CumulusError(
        'invalid_input',
        `the minimum version ${input.minimumVersion} is newer than the release ${input.version}`,
        {
          hint: 'the minimum must be at most the version being published',
        },
      );
    }
    await this.#db.transaction(async (tx) => {
      if (await tx.get('SELECT 1 FROM releases WHERE version = ?', [input.version])) {
        throw new CumulusError('conflict', `version ${input.version} is published already`, {
          hint: 'publish a newer version',
        });
      }
      await tx.run(
        'INSERT INTO releases (version, notes, minimum_version, published_at, published_by) VALUES (?, ?, ?, ?, ?)',
        [input.version, input.notes, input.minimumVersion, this.#clock.now(), actor.actor],
      );
      await this.#audit.record(
        {
          event: 'release_published',
          ...actor,
          details: { version: input.version, minimumVersion: input.minimumVersion },
        },
        tx,
      );
    });
    return (await this.list()).find((release) => release.version === input.version)!;
  }

  /** list returns every release, newest version first. */
  async list(): Promise<Release[]> {
    const rows = await this.#db.all<ReleaseRow>('SELECT * FROM releases');
    return rows
      .map((row) => ({
        version: row.version,
        notes: row.notes,
        minimumVersion: row.minimum_version,
        publishedAt: iso(row.published_at),
      }))
      .sort((a, b) => compareVersions(b.version, a.version));
  }

  /** latestFor answers an agent: the newest release and whether this agent may or must update. */
  async latestFor(
    agentVersion: string | undefined,
  ): Promise<{ latest: Release | null; updateAvailable: boolean; updateRequired: boolean }> {
    const latest = (await this.list())[0] ?? null;
    const known = agentVersion !== undefined && isVersion(agentVersion);
    return {
      latest,
      updateAvailable: latest !== null && known && compareVersions(agentVersion, latest.version) < 0,
      updateRequired: latest !== null && known && compareVersions(agentVersion, latest.minimumVersion) < 0,
    };
  }

  /**
   * requireSupported throws 'update_required' when an agent older than the minimum asks
   * for a backup route. A request without a version (the console, curl) passes.
   */
  async requireSupported(agentVersion: string | undefined): Promise<void> {
    if (agentVersion === undefined) return;
    const { latest, updateRequired } = await this.latestFor(agentVersion);
    if (latest && updateRequired) {
      throw new CumulusError(
        'update_required',
        `this agent (${agentVersion}) is too old for the server, which needs ${latest.minimumVersion} or newer`,
        {
          hint: `update to ${latest.version} with \`cumulus update\`, then back up again`,
          details: { agentVersion, minimumVersion: latest.minimumVersion, latestVersion: latest.version },
        },
      );
    }
  }
}
