/**
 * Repository and Manage Storage routes. Pack uploads (raw bytes) and commits (large JSON)
 * live in an encapsulated plugin that adds an `application/octet-stream` parser and larger
 * body limits; every other route keeps the app's JSON-only, 1 MiB default.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as api from '../../api/repository.ts';
import { CumulusError } from '../../core/errors.ts';
import { done, route } from '../http/route.ts';
import type { Services } from '../services/index.ts';
import { HEARTBEAT_SECONDS, RepositoryService } from '../services/repository.ts';

function tooLarge(limit: number): CumulusError {
  return new CumulusError('too_large', `the request body is larger than ${limit} bytes`, {
    hint: 'packs are about 16 MiB; send a smaller one',
  });
}

/**
 * receiveBytes reads a request body of at most `limit` bytes into one Buffer. With a
 * Content-Length (what clients send) the Buffer is allocated once and each piece is copied
 * straight into it, instead of keeping every piece and concatenating them at the end.
 */
export async function receiveBytes(
  contentLength: string | undefined,
  payload: AsyncIterable<Buffer>,
  limit: number,
): Promise<Buffer> {
  const declared = contentLength === undefined ? undefined : Number(contentLength);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  const body = Buffer.allocUnsafe(declared ?? 0);
  const pieces: Buffer[] = [];
  let received = 0;
  for await (const piece of payload) {
    if (declared === undefined) {
      if (received + piece.length > limit) throw tooLarge(limit);
      pieces.push(piece);
    } else if (received + piece.length <= declared) piece.copy(body, received);
    received += piece.length;
  }
  if (declared === undefined) return Buffer.concat(pieces, received);
  if (received !== declared) {
    throw new CumulusError(
      'invalid_input',
      `the body has ${received} bytes, its Content-Length says ${declared}`,
    );
  }
  return body;
}

export async function repositoryRoutes(app: FastifyInstance, s: Services): Promise<void> {
  const repo = new RepositoryService(s);
  route(app, api.getConfig, ({ caller }) => repo.config(caller));
  route(app, api.missingBlobs, async ({ caller, input }) => ({
    missing: await repo.missingBlobs(caller, input.body.ids),
  }));
  route(app, api.blobIndex, ({ caller, input }) => repo.blobIndex(caller, input.query.since));
  // A stream is sent as it is (application/octet-stream), never through the JSON serializer.
  route(app, api.readBlobs, async ({ caller, input }) =>
    Readable.from(repo.readBlobs(caller, input.body.ids)),
  );
  route(app, api.listSnapshots, async ({ caller, input }) => ({
    snapshots: await repo.listSnapshots(caller, input.query.device ?? 'all'),
  }));
  route(app, api.forgetSnapshots, async ({ caller, input }) => ({
    ok: true as const,
    freedBytes: await repo.forget(caller, input.body.ids),
  }));
  route(app, api.getUsage, ({ caller }) => repo.usage(caller));
  route(app, api.beginWrite, async ({ caller }) => ({
    sessionId: await repo.beginWrite(caller),
    heartbeatSeconds: HEARTBEAT_SECONDS,
  }));
  route(app, api.heartbeatWrite, ({ caller, input }) =>
    done(repo.heartbeatWrite(caller, input.params.sessionId)),
  );
  route(app, api.releaseWrite, ({ caller, input }) =>
    done(repo.releaseWrite(caller, input.params.sessionId)),
  );
  route(app, api.getStorage, ({ caller }) => repo.storage(caller));
  route(app, api.deleteSource, ({ caller, input }) =>
    repo.deleteSource(caller, input.body.deviceId, input.body.sourceId),
  );
  route(app, api.deleteDeviceBackups, ({ caller, input }) => repo.deleteDevice(caller, input.body.deviceId));

  await app.register(async (scoped) => {
    scoped.addContentTypeParser(
      'application/octet-stream',
      (request: FastifyRequest, payload: AsyncIterable<Buffer>) =>
        receiveBytes(request.headers['content-length'], payload, api.MAX_PACK_BYTES),
    );
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: api.MAX_COMMIT_BYTES },
      scoped.getDefaultJsonParser('error', 'error'),
    );
    route(scoped, api.uploadPack, async ({ caller, input }) => {
      const pack: unknown = (input as { body?: unknown }).body;
      if (!Buffer.isBuffer(pack)) {
        throw new CumulusError('unsupported_media_type', 'a pack is sent as raw bytes', {
          hint: 'send the pack with "Content-Type: application/octet-stream"',
        });
      }
      return { ok: true as const, storedBytes: await repo.uploadPack(caller, input.params.packId, pack) };
    });
    route(scoped, api.commitSnapshot, async ({ caller, input }) => ({
      ok: true as const,
      usedBytes: await repo.commit(caller, input.body),
    }));
  });
}
