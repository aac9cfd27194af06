/**
 * Device routes: list, rename, remove, the console's backup switch and Back Up Now, the
 * agent's sync, backup report and progress, its sealed doctor result, and the upload
 * measurement. The measurement
 * lives in an encapsulated plugin whose only body parser counts `application/octet-stream`
 * bytes and discards them, so the server never holds more than one network chunk of it,
 * whatever a client sends.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as api from '../../api/devices.ts';
import { CumulusError } from '../../core/errors.ts';
import { done, route } from '../http/route.ts';
import type { Services } from '../services/index.ts';

/**
 * UPLOAD_TEST_LIMIT allows each session a dozen measurements an hour (at most ~100 MiB),
 * plenty for `cumulus doctor` run again and again, too little to burn the server's
 * bandwidth. The access hook runs before the limiter, so the caller is known here.
 */
const UPLOAD_TEST_LIMIT = {
  max: 12,
  timeWindow: 3_600_000,
  keyGenerator: (request: FastifyRequest) => `upload-test:${request.caller?.sessionId ?? request.ip}`,
};

/**
 * DOCTOR_REPORT_LIMIT lets a session send a doctor result a minute on average: each
 * `cumulus doctor` run sends one, the agent at most one every half hour.
 */
const DOCTOR_REPORT_LIMIT = {
  max: 60,
  timeWindow: 3_600_000,
  keyGenerator: (request: FastifyRequest) => `doctor-report:${request.caller?.sessionId ?? request.ip}`,
};

function notRawBytes(): CumulusError {
  return new CumulusError('unsupported_media_type', 'an upload measurement is sent as raw bytes', {
    hint: 'send the bytes with "Content-Type: application/octet-stream"',
  });
}

function tooLarge(): CumulusError {
  return new CumulusError(
    'too_large',
    `an upload measurement is at most ${api.MAX_UPLOAD_TEST_BYTES} bytes (8 MiB)`,
    { hint: 'send a smaller sample: a few MiB measure the rate well enough' },
  );
}

/** countAndDiscard reads a body to its end without keeping it and yields its length; past the limit it fails at once. */
function countAndDiscard(
  request: FastifyRequest,
  payload: IncomingMessage,
  finish: (error: Error | null, bytes?: number) => void,
): void {
  if (Number(request.headers['content-length']) > api.MAX_UPLOAD_TEST_BYTES) {
    finish(tooLarge());
    return;
  }
  let bytes = 0;
  const stop = () => {
    payload.off('data', onData);
    payload.off('end', onEnd);
    payload.off('error', onError);
  };
  // Without a 'data' listener the stream keeps flowing: the rest of an oversized body is dropped unread.
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > api.MAX_UPLOAD_TEST_BYTES) {
      stop();
      finish(tooLarge());
    }
  };
  const onEnd = () => {
    stop();
    finish(null, bytes);
  };
  const onError = (error: Error) => {
    stop();
    finish(error);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
}

export function deviceRoutes(app: FastifyInstance, s: Services): void {
  route(app, api.listDevices, async ({ caller }) => ({ devices: await s.devices.list(caller) }));
  route(app, api.renameDevice, ({ caller, input }) =>
    s.devices.rename(caller, input.params.deviceId, input.body.name),
  );
  route(app, api.removeDevice, ({ caller, input }) =>
    done(s.devices.remove(caller, input.params.deviceId, input.query.deleteBackups ?? false)),
  );
  route(app, api.reportBackup, ({ caller, input }) => s.devices.report(caller, input.body));
  route(app, api.reportProgress, ({ caller, input }) => done(s.devices.progress(caller, input.body)));
  route(app, api.setDeviceBackup, ({ caller, input }) =>
    s.devices.setBackup(caller, input.params.deviceId, input.body.enabled),
  );
  route(app, api.requestBackup, ({ caller, input }) =>
    s.devices.requestBackup(caller, input.params.deviceId),
  );
  route(app, api.syncDevice, ({ caller, input }) => s.devices.sync(caller, input.body));
  route(
    app,
    api.shareDoctorReport,
    ({ caller, input }) => done(s.devices.shareDoctorReport(caller, input.body)),
    { rateLimit: DOCTOR_REPORT_LIMIT },
  );
  route(app, api.getDoctorReport, ({ caller, input }) =>
    s.devices.doctorReport(caller, input.params.deviceId),
  );

  app.register(async (scoped) => {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('application/octet-stream', countAndDiscard);
    scoped.addContentTypeParser('*', (_request, _payload, finish) => finish(notRawBytes()));
    route(
      scoped,
      api.uploadTest,
      async ({ input }) => {
        const bytes: unknown = (input as { body?: unknown }).body;
        if (typeof bytes !== 'number') throw notRawBytes();
        return { bytes };
      },
      { rateLimit: UPLOAD_TEST_LIMIT },
    );
  });
}
