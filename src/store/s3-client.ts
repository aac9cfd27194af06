/**
 * Where an S3BlobStore lives and how to reach it: `s3://bucket/prefix` and the standard
 * AWS variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN). The client speaks path-style (http://endpoint/bucket/key) and sends
 * or checks checksums only where S3 requires them, so MinIO-, Garage- and s3rver-style
 * servers work; it retries 5xx, throttling and dropped connections with backoff.
 *
 * The settings hold credentials only inside a function, so printing or serializing them
 * never shows a key.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { CumulusError } from '../core/errors.ts';

/** Attempts per request: the first and four retries. */
const MAX_ATTEMPTS = 5;
/** First backoff of a retry (throttling: SlowDown, 429), doubled per retry, full jitter, capped. */
const RETRY_BASE_MS = 100;
const THROTTLED_BASE_MS = 500;
const MAX_BACKOFF_MS = 20_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** A connection silent for this long is dropped, and the request retried. */
const SOCKET_TIMEOUT_MS = 120_000;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Settings {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  /** http(s)://host:port of an S3-compatible server; absent: AWS S3 of `region`. */
  endpoint?: string;
  region: string;
  /** Absent: the SDK's default chain (shared config files, instance roles). */
  credentials?: () => Promise<S3Credentials>;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_PART = /^[A-Za-z0-9_.-]+$/;

function usage(message: string, hint: string): CumulusError {
  return new CumulusError('usage', message, { hint });
}

/** parseS3Url reads `s3://bucket[/prefix]` into the bucket and a clean prefix. */
export function parseS3Url(text: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  const hint = 'write it as s3://bucket/prefix (the prefix is optional)';
  if (match === null) throw usage(`"${text}" is not an s3:// address`, hint);
  const [, bucket, rest = ''] = match;
  if (!BUCKET.test(bucket)) throw usage(`"${bucket}" is not a valid bucket name`, hint);
  const parts = rest.split('/').filter((part) => part !== '');
  if (parts.some((part) => !PREFIX_PART.test(part) || part === '.' || part === '..'))
    throw usage(`"${rest}" is not a valid key prefix`, 'use letters, digits, "-", "_", "." and "/"');
  return { bucket, prefix: parts.join('/') };
}

/** s3Settings combines an s3:// address with the AWS variables of `env`. */
export function s3Settings(url: string, env: NodeJS.ProcessEnv): S3Settings {
  const { bucket, prefix } = parseS3Url(url);
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw usage(`AWS_ENDPOINT_URL "${endpoint}" is not an address`, 'write it like http://127.0.0.1:9000');
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw usage(
      'S3 credentials need both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      'set both, or neither to use the shared AWS configuration',
    );
  const sessionToken = env.AWS_SESSION_TOKEN;
  return {
    bucket,
    prefix,
    ...(endpoint ? { endpoint: endpoint.replace(/\/$/, '') } : {}),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: async () => ({
            accessKeyId,
            secretAccessKey,
            ...(sessionToken ? { sessionToken } : {}),
          }),
        }
      : {}),
  };
}

/** describeS3 names the bucket, prefix, endpoint and region: what a status line may show. */
export function describeS3(settings: S3Settings): string {
  const where = settings.endpoint ?? 'AWS S3';
  return `s3://${settings.bucket}${settings.prefix ? `/${settings.prefix}` : ''} at ${where} (region ${settings.region})`;
}

/** s3Client makes the client an S3BlobStore sends its requests through. */
export function s3Client(settings: S3Settings, options: { maxAttempts?: number } = {}): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryStrategy: perRequestRetries(options.maxAttempts ?? MAX_ATTEMPTS),
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS },
  });
}

interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

function retryToken(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}

/**
 * perRequestRetries retries each request that failed with a dropped connection, a
 * timeout, a 5xx or throttling up to `maxAttempts` times, with jittered exponential
 * backoff. Unlike the SDK's standard strategy it keeps no retry budget shared by the
 * client: one burst of SlowDown across many parallel uploads would empty it and fail
 * the rest at their first error.
 */
function perRequestRetries(maxAttempts: number) {
  return {
    acquireInitialRetryToken: async () => retryToken(0, 0),
    refreshRetryTokenForRetry: async (previous: RetryToken, error: { errorType: string }) => {
      const count = previous.getRetryCount() + 1;
      const retryable = error.errorType === 'TRANSIENT' || error.errorType === 'THROTTLING';
      if (!retryable || count >= maxAttempts) throw new Error('no retry');
      const base = error.errorType === 'THROTTLING' ? THROTTLED_BASE_MS : RETRY_BASE_MS;
      return retryToken(count, Math.floor(Math.random() * Math.min(MAX_BACKOFF_MS, base * 2 ** count)));
    },
    recordSuccess: () => {},
  };
}
