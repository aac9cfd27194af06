/**
 * MIGRATIONS is the server schema, one step per version (append only: a released step
 * never changes). Times are milliseconds since the epoch.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    quota_bytes INTEGER NOT NULL,
    offered INTEGER NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans(id),
    disabled_at INTEGER,
    kdf TEXT NOT NULL,
    auth_hash TEXT NOT NULL,
    repository_config TEXT,
    wrapped_key TEXT,
    recovery_hash TEXT,
    recovery_wrapped_key TEXT,
    totp_secret TEXT,
    totp_pending_secret TEXT,
    totp_last_step INTEGER,
    warning_level INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER,
    removed_at INTEGER,
    last_backup_at INTEGER,
    last_attempt_at INTEGER,
    last_outcome TEXT,
    last_reason TEXT
  );
  CREATE INDEX devices_by_account ON devices(account_id);

  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    device_id TEXT NOT NULL REFERENCES devices(id),
    secret_hash TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
  );
  CREATE INDEX sessions_by_account ON sessions(account_id);

  CREATE TABLE sign_ins (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    secret_hash TEXT NOT NULL,
    code TEXT NOT NULL,
    device_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL
  );
  CREATE INDEX sign_ins_by_account ON sign_ins(account_id, state);

  CREATE TABLE usage_warnings (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    level INTEGER NOT NULL,
    used_bytes INTEGER NOT NULL,
    quota_bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX usage_warnings_by_account ON usage_warnings(account_id, created_at);

  CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    severity TEXT NOT NULL,
    components TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER,
    resolved_at INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
  );

  CREATE TABLE releases (
    version TEXT PRIMARY KEY,
    notes TEXT NOT NULL,
    minimum_version TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    published_by TEXT NOT NULL
  );

  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    account_id TEXT,
    actor TEXT NOT NULL,
    ip TEXT NOT NULL,
    details TEXT NOT NULL
  );
  CREATE INDEX audit_by_account ON audit_log(account_id, id);

  CREATE TABLE probes (id INTEGER PRIMARY KEY, checked_at INTEGER NOT NULL);
  `,
  // A running backup's last progress (JSON), when the agent measured it and when the server received it.
  `
  ALTER TABLE devices ADD COLUMN progress TEXT;
  ALTER TABLE devices ADD COLUMN progress_at INTEGER;
  ALTER TABLE devices ADD COLUMN progress_received_at INTEGER;
  `,
  // Reasons are codes and numbers (JSON) now; the free-text ones before could quote a file's path.
  `
  UPDATE devices SET last_reason = NULL;
  `,
  // One-time invites: the admin names the email, the new user chooses the password.
  `
  CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans(id),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );
  CREATE INDEX invites_by_email ON invites(email);
  `,
  // The larger default plans were self-service; they are the admin's to give unless an admin saved them since.
  `
  UPDATE plans SET offered = 0 WHERE id IN ('50gb', '200gb', '2tb')
    AND id NOT IN (SELECT json_extract(details, '$.planId') FROM audit_log WHERE event = 'plan_saved');
  `,
  // Server processes sharing one database: their heartbeats, and the leases (the leader's) one of them holds.
  `
  CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  `,
  // Lifecycle (docs/lifecycle.md): the maintenance scheduler's runs (an outcome is a code and
  // numbers, never a path), pinned snapshots and devices, retention policies (device '' is the
  // account's default) and each commit's growth, which the space forecast reads.
  `
  CREATE TABLE maintenance_runs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    outcome TEXT NOT NULL,
    code TEXT,
    numbers TEXT NOT NULL
  );
  CREATE INDEX maintenance_runs_by_job ON maintenance_runs(job, started_at);

  CREATE TABLE pins (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    pinned_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, target_id)
  );

  CREATE TABLE retention_policies (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    device_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, device_id)
  );

  CREATE TABLE growth_samples (
    account_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    added_bytes INTEGER NOT NULL,
    logical_bytes INTEGER NOT NULL
  );
  CREATE INDEX growth_samples_by_device ON growth_samples(account_id, device_id, at);
  `,
  // Failed secret attempts, counted in the database so every replica sees the same count.
  `
  CREATE TABLE attempt_failures (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX attempt_failures_by_age ON attempt_failures(scope, last_failure_at);
  `,
  // The console's side of a device: its backup switch, a Back Up Now waiting for the agent,
  // what the agent last said at its sync (next due, when), and the last failure kept apart.
  `
  ALTER TABLE devices ADD COLUMN backup_enabled INTEGER;
  ALTER TABLE devices ADD COLUMN backup_changed_at INTEGER;
  ALTER TABLE devices ADD COLUMN backup_requested_at INTEGER;
  ALTER TABLE devices ADD COLUMN next_due_at INTEGER;
  ALTER TABLE devices ADD COLUMN synced_at INTEGER;
  ALTER TABLE devices ADD COLUMN last_failure_at INTEGER;
  ALTER TABLE devices ADD COLUMN last_failure_reason TEXT;
  `,
  // Notices about silent devices and expiring backups: per-account settings, webhooks, and each device's notice state.
  `
  CREATE TABLE notification_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    silence_days INTEGER NOT NULL,
    reminder_days INTEGER NOT NULL,
    expiry_days INTEGER NOT NULL,
    email_enabled INTEGER NOT NULL,
    email_attempt_at INTEGER,
    email_ok INTEGER,
    email_error TEXT
  );

  CREATE TABLE notification_webhooks (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    preset TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempt_at INTEGER,
    ok INTEGER,
    error TEXT
  );
  CREATE INDEX notification_webhooks_by_account ON notification_webhooks(account_id);

  CREATE TABLE device_lifecycle (
    device_id TEXT PRIMARY KEY REFERENCES devices(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    backups TEXT NOT NULL,
    silent_since INTEGER,
    silence_noticed_at INTEGER,
    expiry_base INTEGER,
    expiry_first_at INTEGER,
    expiry_last_at INTEGER,
    expired_at INTEGER
  );
  `,
  // Each device's latest doctor result, sealed under the account key: opaque to the server.
  `
  CREATE TABLE doctor_reports (
    device_id TEXT PRIMARY KEY REFERENCES devices(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    blob_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    received_at INTEGER NOT NULL
  );
  `,
  // Per-request rate limits, counted in the database so every replica spends one budget. A key
  // is a limit's scope and a session ID or an address (never a token); expired rows are swept.
  `
  CREATE TABLE request_counts (
    key TEXT PRIMARY KEY,
    hits INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
  );
  CREATE INDEX request_counts_by_reset ON request_counts(reset_at);
  `,
  // Quota claimed by uploads in progress (services/upload-claims.ts), seen by every replica; a
  // claim expires, so one a killed replica left behind does not hold the account's quota.
  `
  CREATE TABLE upload_claims (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX upload_claims_by_account ON upload_claims(account_id);
  CREATE INDEX upload_claims_by_expiry ON upload_claims(expires_at);
  `,
];
