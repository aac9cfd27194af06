/**
 * RemoteRepository is the Repository port over the Cumulus server's repository API
 * (src/api/repository.ts; "Wire format" in docs/format.md), acting as one signed-in
 * device on its account's repository. Idempotent requests are retried with exponential
 * backoff when the connection drops or the server fails (CumulusError 'network'): a pack
 * upload is simply sent again (packs are ≤ ~16 MiB, so resuming = re-sending the packs not
 * yet stored), and a commit is idempotent by snapshot ID. It implements no Maintenance
 * and no IndexRebuild: the server collects garbage and checks packs itself.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AGENT_VERSION_HEADER } from '../api/common.ts';
import type { Endpoint, EndpointInput, EndpointOutput } from '../api/endpoint.ts';
import * as api from '../api/repository.ts';
import { CumulusError, isCumulusError } from '../core/errors.ts';
import type { BlobRead, IndexDelta, SnapshotCommit, SnapshotRecord, UsageReport } from '../store/types.ts';
import { AccountClient, CLIENT_VERSION, errorFromResponse } from './account-client.ts';
import type { Repository, RepositoryConfig, WriteSession } from './repository.ts';

/** Blob IDs per missing-blobs request, and per read-blobs request (responses stay a few MiB to tens of MiB). */
const MISSING_BATCH = api.MAX_IDS;
const READ_BATCH = 1000;

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the second try; it doubles each time, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * DEFAULT_RETRY rides out about 45 s of failures per request: long enough for a load
 * balancer to notice a dead replica and for a restarted server to come back, short
 * enough that a server that is really gone fails the command within a minute.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 10, baseDelayMs: 250, maxDelayMs: 10_000 };

export interface RemoteRepositoryOptions {
  serverUrl: string;
  token: string;
  config: RepositoryConfig;
  agentVersion?: string;
  retry?: RetryPolicy;
  /** Give up on one request after this long (default 120 s: a pack over a slow link). */
  timeoutMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * rateLimitWaitMs is how long to wait after a 429: the server's Retry-After (from the
 * error's details), plus up to a second of jitter so that devices limited together do not
 * come back in the same instant.
 */
export function rateLimitWaitMs(error: CumulusError, random: () => number = Math.random): number {
  const seconds = error.details?.retryAfterSeconds;
  const base = typeof seconds === 'number' && seconds >= 0 ? seconds * 1000 : 1000;
  return base + Math.floor(random() * 1000);
}

export class RemoteRepository implements Repository {
  readonly location: string;
  readonly #client: AccountClient;
  readonly #token: string;
  readonly #agentVersion: string;
  readonly #config: RepositoryConfig;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #heartbeats = new Set<NodeJS.Timeout>();
  /** Connections kept open between pack uploads and blob reads (closed by close()). */
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true });
  /** Device names of the account by device ID, as of the last listSnapshots. */
  deviceNames = new Map<string, string>();

  constructor(options: RemoteRepositoryOptions) {
    this.#agentVersion = options.agentVersion ?? CLIENT_VERSION;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#client = new AccountClient({
      serverUrl: options.serverUrl,
      token: options.token,
      agentVersion: this.#agentVersion,
      timeoutMs: this.#timeoutMs,
    });
    this.location = this.#client.serverUrl;
    this.#token = options.token;
    this.#config = options.config;
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  /**
   * #retrying runs a request, again after a backoff while it fails with 'network' (only
   * an idempotent one) and as often as the server answers 429: a rate limit is waited out
   * for as long as the server's Retry-After says, never turned into a failed backup.
   */
  async #retrying<T>(request: () => Promise<T>, idempotent = true): Promise<T> {
    let delay = this.#retry.baseDelayMs;
    for (let attempt = 1; ; ) {
      try {
        return await request();
      } catch (error) {
        if (isCumulusError(error, 'rate_limited')) {
          await sleep(rateLimitWaitMs(error));
          continue;
        }
        if (!idempotent || !isCumulusError(error, 'network') || attempt >= this.#retry.attempts) throw error;
        await sleep(delay);
        delay = Math.min(delay * 2, this.#retry.maxDelayMs);
        attempt++;
      }
    }
  }

  #call<E extends Endpoint>(endpoint: E, input: EndpointInput<E>): Promise<EndpointOutput<E>> {
    return this.#retrying(() => this.#client.call(endpoint, input));
  }

  /**
   * #raw sends one request whose body or answer is bytes, and returns the answer's bytes.
   * It goes through node:http rather than fetch: a pack is written to the socket as it is,
   * where fetch would copy it and push it through a web stream in small pieces.
   */
  async #raw(method: string, path: string, body: Uint8Array | string, contentType: string): Promise<Buffer> {
    const url = new URL(this.location + path);
    const { status, bytes } = await new Promise<{ status: number; bytes: Buffer }>((resolve, reject) => {
      const dropped = (error: unknown) =>
        reject(
          new CumulusError('network', `the connection to ${this.location} dropped`, {
            hint: 'check the network; the backup resumes where it stopped',
            cause: error,
          }),
        );
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method,
        agent: url.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent,
        headers: {
          authorization: `Bearer ${this.#token}`,
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          [AGENT_VERSION_HEADER]: this.#agentVersion,
        },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      request.on('error', dropped);
      request.on('response', (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('error', dropped);
        response.on('end', () => {
          if (!response.complete) dropped(new Error('the answer was cut short'));
          else resolve({ status: response.statusCode ?? 0, bytes: Buffer.concat(parts) });
        });
      });
      request.end(body);
    });
    if (status < 200 || status > 299) throw errorFromResponse(status, bytes.toString('utf8'), this.location);
    return bytes;
  }

  /**
   * #send posts the JSON body of an endpoint on the hot path of a backup (missing blobs,
   * commit) through #raw, retried like #call; other calls go through the AccountClient.
   * A body longer than `limit` (ASCII JSON: characters are bytes) is 'too_large', unsent.
   */
  async #send<E extends Endpoint>(
    endpoint: E,
    body: EndpointInput<E>['body'],
    limit = Number.POSITIVE_INFINITY,
  ): Promise<EndpointOutput<E>> {
    const text = JSON.stringify(body);
    if (text.length > limit) {
      throw new CumulusError('too_large', `the request is larger than the server takes (${limit} bytes)`, {
        hint: 'back up the folders in several smaller backups (fewer sources or files each)',
      });
    }
    const answer = await this.#retrying(() =>
      this.#raw(endpoint.method, endpoint.url, text, 'application/json'),
    );
    return JSON.parse(answer.toString('utf8')) as EndpointOutput<E>;
  }

  async config(): Promise<RepositoryConfig> {
    return this.#config;
  }

  async beginWrite(): Promise<WriteSession> {
    const { sessionId, heartbeatSeconds } = await this.#retrying(
      () => this.#client.call(api.beginWrite, {}),
      false,
    );
    const params = { sessionId };
    const timer = setInterval(() => {
      // A missed heartbeat only shortens the session's life; the next one tries again.
      this.#client.call(api.heartbeatWrite, { params }).catch(() => {});
    }, heartbeatSeconds * 1000);
    timer.unref();
    this.#heartbeats.add(timer);
    return {
      release: async () => {
        clearInterval(timer);
        this.#heartbeats.delete(timer);
        await this.#call(api.releaseWrite, { params }).catch(() => {});
      },
    };
  }

  async blobsSince(cursor: number): Promise<IndexDelta> {
    const page = await this.#call(api.blobIndex, { query: { since: cursor } });
    return { ...page, ids: api.decodeIds(page.ids) };
  }

  async missingBlobs(ids: string[]): Promise<Set<string>> {
    const missing = new Set<string>();
    for (let i = 0; i < ids.length; i += MISSING_BATCH) {
      const body = { ids: ids.slice(i, i + MISSING_BATCH) };
      for (const id of (await this.#send(api.missingBlobs, body)).missing) missing.add(id);
    }
    return missing;
  }

  async putPack(pack: Uint8Array, packId: string): Promise<void> {
    const path = api.uploadPack.url.replace(':packId', packId);
    await this.#retrying(() => this.#raw('PUT', path, pack, 'application/octet-stream'));
  }

  /** readBlobs asks in batches and asks again for the IDs an answer left out (it is bounded in bytes). */
  async readBlobs(ids: readonly string[]): Promise<Map<string, BlobRead>> {
    const blobs = new Map<string, BlobRead>();
    let pending = [...new Set(ids)];
    while (pending.length > 0) {
      const body = JSON.stringify({ ids: pending.slice(0, READ_BATCH) });
      const framed = await this.#retrying(() =>
        this.#raw('POST', api.readBlobs.url, body, 'application/json'),
      );
      const answered = api.unframeBlobs(framed);
      if (answered.size === 0) throw new Error('the server answered a blob read with no blob');
      for (const [id, read] of answered) blobs.set(id, read);
      pending = pending.filter((id) => !blobs.has(id));
    }
    return blobs;
  }

  async listSnapshots(): Promise<SnapshotRecord[]> {
    const { snapshots } = await this.#call(api.listSnapshots, { query: { device: 'all' } });
    this.deviceNames = new Map(snapshots.map((s) => [s.device, s.deviceName]));
    return snapshots.map(({ deviceName: _name, ...record }) => record);
  }

  /** commitSnapshot refuses ('too_large') a commit larger than the server takes, before sending it. */
  async commitSnapshot(commit: SnapshotCommit): Promise<void> {
    const body = {
      id: commit.id,
      time: commit.time,
      sources: commit.sources.map((s) => ({
        id: s.id,
        tree: s.tree,
        logicalSize: s.logicalSize,
        refs: api.encodeIds(s.refs),
      })),
    };
    await this.#send(api.commitSnapshot, body, api.MAX_COMMIT_BYTES);
  }

  async forgetSnapshots(ids: string[]): Promise<void> {
    // Not retried on a dropped connection: a forget that landed would answer 404 the second time.
    for (let i = 0; i < ids.length; i += api.MAX_IDS) {
      const body = { ids: ids.slice(i, i + api.MAX_IDS) };
      await this.#retrying(() => this.#client.call(api.forgetSnapshots, { body }), false);
    }
  }

  usage(): Promise<UsageReport> {
    return this.#call(api.getUsage, {});
  }

  async close(): Promise<void> {
    for (const timer of this.#heartbeats) clearInterval(timer);
    this.#heartbeats.clear();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }
}
