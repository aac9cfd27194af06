/**
 * StoragePage, Manage Storage: the plan's bar split by device, then per device and source
 * the logical size, the stored bytes and what deleting it frees (exactly: the server
 * counts bytes no other source or device shares), each Delete confirmed with those exact
 * bytes; and the plan, with the offered plans to switch to. The server knows sources only
 * by opaque IDs: their paths come from the snapshots, decrypted here.
 */
import { useState } from 'react';
import { getForecast, getRetention } from '../../../src/api/lifecycle.ts';
import { changePlan, getPlan, listPlans, type Plan } from '../../../src/api/plans.ts';
import {
  deleteDeviceBackups,
  deleteSource,
  getStorage,
  type StorageReport,
} from '../../../src/api/repository.ts';
import { describeForecast } from '../../../src/core/space-forecast.ts';
import { describePolicy } from '../../../src/core/tiered-retention.ts';
import { type ApiClient, messageOf } from '../api.ts';
import { ConfirmDialog } from '../confirm.tsx';
import { formatBytes } from '../format.ts';
import type { Session } from '../session.ts';
import { useLoad } from '../use-load.ts';
import { Vault } from '../vault.ts';

type DeviceUsage = StorageReport['devices'][number];
type SourceUsage = DeviceUsage['sources'][number];

/** Pending is a delete waiting for its confirmation. */
type Pending =
  | { kind: 'source'; device: DeviceUsage; source: SourceUsage; path: string }
  | { kind: 'device'; device: DeviceUsage };

const SEGMENT_COLORS = 6;

export function StoragePage(props: { session: Session }) {
  const { session } = props;
  const { api } = session;
  const storage = useLoad(async () => {
    const vault = await Vault.open(api, session.accountKey, session.repositoryConfig);
    const [report, snapshots] = await Promise.all([api.call(getStorage, {}), vault.snapshots()]);
    const paths = new Map<string, string>();
    // Oldest first, so the newest snapshot's path of a source wins.
    for (const s of [...snapshots].reverse())
      for (const source of s.info.sources) paths.set(source.id, source.path);
    return { report, paths };
  }, [session]);
  const [pending, setPending] = useState<Pending>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<string>();

  const confirmDelete = async () => {
    if (!pending) return;
    setBusy(true);
    setError(undefined);
    try {
      const result =
        pending.kind === 'source'
          ? await api.call(deleteSource, {
              body: { deviceId: pending.device.deviceId, sourceId: pending.source.id, confirm: true },
            })
          : await api.call(deleteDeviceBackups, {
              body: { deviceId: pending.device.deviceId, confirm: true },
            });
      setDone(`Freed ${formatExact(result.freedBytes)}; now ${formatBytes(result.usedBytes)} used.`);
      storage.reload();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
      setPending(undefined);
    }
  };

  const value = storage.value;
  return (
    <section aria-labelledby="storage-title">
      <h1 id="storage-title">Manage Storage</h1>
      {storage.error && <p role="alert">{storage.error}</p>}
      {error && <p role="alert">{error}</p>}
      {done && (
        <p role="status" data-testid="delete-result">
          {done}
        </p>
      )}
      {value && <UsageBar report={value.report} />}
      <Lifecycle api={api} reload={value} />
      {value && value.report.devices.length === 0 && <p className="card">No backups yet.</p>}
      {value?.report.devices.map((device) => (
        <section
          key={device.deviceId}
          className="card"
          aria-labelledby={`usage-${device.deviceId}`}
          data-usage-device={device.deviceId}
        >
          <h2 id={`usage-${device.deviceId}`}>
            {device.deviceName || '(removed device)'}
            {device.current ? ' (this browser)' : ''}
          </h2>
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Size</th>
                  <th scope="col">Stored</th>
                  <th scope="col">Deleting frees</th>
                  <th scope="col">Snapshots</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {device.sources.map((source) => {
                  const path = value.paths.get(source.id) ?? `(source ${source.id.slice(0, 8)})`;
                  return (
                    <UsageRow
                      key={source.id}
                      label={path}
                      usage={source}
                      data={{ 'data-source': source.id }}
                      action={`Delete ${path}`}
                      onDelete={() => setPending({ kind: 'source', device, source, path })}
                    />
                  );
                })}
              </tbody>
              <tfoot>
                <UsageRow
                  label="Whole device"
                  usage={device}
                  data={{ 'data-device-total': device.deviceId }}
                  action={`Delete every backup of ${device.deviceName || 'this removed device'}`}
                  onDelete={() => setPending({ kind: 'device', device })}
                />
              </tfoot>
            </table>
          </div>
        </section>
      ))}
      <PlanChooser session={session} onChanged={storage.reload} />
      {pending && (
        <ConfirmDialog
          title="Delete?"
          action="Delete"
          busy={busy}
          onConfirm={confirmDelete}
          onCancel={() => setPending(undefined)}
        >
          <p data-testid="confirm-text">
            {pending.kind === 'source'
              ? `Delete ${pending.path} from every backup of ${pending.device.deviceName}?`
              : `Delete every backup of ${pending.device.deviceName} (${pending.device.snapshots} snapshots)?`}{' '}
            This frees{' '}
            {formatExact(
              pending.kind === 'source' ? pending.source.exclusiveBytes : pending.device.exclusiveBytes,
            )}
            .
          </p>
          <p className="muted">Data shared with other sources or devices stays. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/** formatExact names a byte count both ways: "12 kB (12,345 bytes)". */
function formatExact(bytes: number): string {
  return `${formatBytes(bytes)} (${bytes.toLocaleString('en-US')} bytes)`;
}

function UsageRow(props: {
  label: string;
  usage: { logicalSize: number; storedBytes: number; exclusiveBytes: number; snapshots: number };
  data: Record<string, string>;
  action: string;
  onDelete(): void;
}) {
  const u = props.usage;
  return (
    <tr {...props.data}>
      <th scope="row">{props.label}</th>
      <td data-bytes={u.logicalSize} data-field="logical">
        {formatBytes(u.logicalSize)}
      </td>
      <td data-bytes={u.storedBytes} data-field="stored">
        {formatBytes(u.storedBytes)}
      </td>
      <td data-bytes={u.exclusiveBytes} data-field="exclusive">
        {formatBytes(u.exclusiveBytes)}
      </td>
      <td>{u.snapshots}</td>
      <td>
        <button type="button" className="secondary" aria-label={props.action} onClick={props.onDelete}>
          Delete
        </button>
      </td>
    </tr>
  );
}

/** UsageBar is the plan's bar: each device's own bytes, what devices share, and what is free. */
function UsageBar(props: { report: StorageReport }) {
  const { usedBytes, quotaBytes, devices } = props.report;
  const own = devices.reduce((sum, d) => sum + d.exclusiveBytes, 0);
  const segments = [
    ...devices.map((d, i) => ({
      label: d.deviceName || '(removed device)',
      bytes: d.exclusiveBytes,
      color: i % SEGMENT_COLORS,
    })),
    { label: 'Shared between devices', bytes: Math.max(0, usedBytes - own), color: -1 },
  ].filter((s) => s.bytes > 0);
  const scale = Math.max(quotaBytes, usedBytes, 1);
  return (
    <section className="card" aria-labelledby="plan-usage">
      <h2 id="plan-usage" data-testid="used">
        {formatBytes(usedBytes)} of {formatBytes(quotaBytes)} used
      </h2>
      {/* The heading above and the legend below say in words what the bar draws. */}
      <div className="bar" aria-hidden="true">
        {segments.map((s) => (
          <span
            key={s.label}
            className={`segment color-${s.color}`}
            style={{ width: `${(100 * s.bytes) / scale}%` }}
            title={`${s.label}: ${formatBytes(s.bytes)}`}
          />
        ))}
      </div>
      <ul className="legend">
        {segments.map((s) => (
          <li key={s.label}>
            <span className={`swatch color-${s.color}`} aria-hidden="true" /> {s.label}:{' '}
            {formatBytes(s.bytes)}
          </li>
        ))}
        <li>
          <span className="swatch free" aria-hidden="true" /> Free:{' '}
          {formatBytes(Math.max(0, quotaBytes - usedBytes))}
        </li>
      </ul>
    </section>
  );
}

function PlanChooser(props: { session: Session; onChanged(): void }) {
  const { api } = props.session;
  const plan = useLoad(() => api.call(getPlan, {}), [api]);
  const plans = useLoad(() => api.call(listPlans, {}), [api]);
  const [choice, setChoice] = useState<string>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const current = plan.value?.plan;
  const offered: Plan[] = plans.value?.plans ?? [];
  const change = async () => {
    if (!choice) return;
    setMessage(undefined);
    try {
      const status = await api.call(changePlan, { body: { planId: choice } });
      setMessage({
        ok: true,
        text: `Your plan is now ${status.plan.name} (${formatBytes(status.quotaBytes)}).`,
      });
      plan.reload();
      props.onChanged();
    } catch (failure) {
      setMessage({ ok: false, text: messageOf(failure) });
    }
  };
  return (
    <section className="card" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan</h2>
      {(plan.error || plans.error) && <p role="alert">{plan.error ?? plans.error}</p>}
      {current && (
        <p data-testid="current-plan">
          {current.name}: {formatBytes(current.quotaBytes)}
        </p>
      )}
      <div className="buttons">
        <label className="inline">
          Change to
          <select value={choice ?? current?.id ?? ''} onChange={(e) => setChoice(e.target.value)}>
            {offered.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({formatBytes(p.quotaBytes)})
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={change} disabled={!choice || choice === current?.id}>
          Change plan
        </button>
      </div>
      {message && <p role={message.ok ? 'status' : 'alert'}>{message.text}</p>}
    </section>
  );
}

/**
 * Lifecycle is the line under the bar: the retention policy the server applies, and when
 * the plan is full at this rate (a warning under 14 days). `cumulus retention set` edits it.
 */
function Lifecycle(props: { api: ApiClient; reload: unknown }) {
  const { api } = props;
  const lifecycle = useLoad(async () => {
    const [retention, forecast] = await Promise.all([api.call(getRetention, {}), api.call(getForecast, {})]);
    return { retention, forecast };
  }, [api, props.reload]);
  const value = lifecycle.value;
  if (!value) return null;
  const outlook = describeForecast({ ...value.forecast, growthPerDay: value.forecast.growthBytesPerDay });
  return (
    <section className="card" aria-labelledby="lifecycle-title" data-testid="lifecycle">
      <h2 id="lifecycle-title">Kept backups</h2>
      <p data-testid="retention-policy">
        Retention: {describePolicy(value.retention.account)}
        {value.retention.accountIsServerDefault ? " (the server's default)" : ''}.{' '}
        <small>Change it with cumulus retention set.</small>
      </p>
      <p data-testid="forecast" role={value.forecast.warning ? 'alert' : undefined}>
        {value.forecast.warning ? 'Warning: ' : 'Forecast: '}
        {outlook}.
      </p>
    </section>
  );
}
