/**
 * Troubleshooter: a device's latest `cumulus doctor` result — every check with its status,
 * the evidence it measured and the steps to fix it. The server holds it sealed under the
 * account key; this browser fetches it and opens it with the key in its memory, as it
 * opens snapshots (web/src/vault.ts). Fetched again only when the device sends a new one.
 */
import { useEffect, useState } from 'react';
import { type Device, type DoctorResult, getDoctorReport } from '../../../src/api/devices.ts';
import { messageOf } from '../api.ts';
import { formatTime } from '../format.ts';
import { fromBase64 } from '../keys.ts';
import type { Session } from '../session.ts';
import { deriveBlobKeys, openBlob } from '../vault.ts';

const LABEL = { ok: 'OK', warn: 'Warning', fail: 'Failed', skip: 'Skipped' } as const;
const LIGHT = { ok: 'light-green', warn: 'light-amber', fail: 'light-red', skip: '' } as const;

/** openDoctorResult fetches and opens a device's sealed result; it must name that device. */
async function openDoctorResult(session: Session, device: Device): Promise<DoctorResult> {
  const { report } = await session.api.call(getDoctorReport, { params: { deviceId: device.id } });
  const keys = await deriveBlobKeys(session.accountKey, session.repositoryConfig.id);
  const plaintext = await openBlob(keys, report.id, fromBase64(report.sealed));
  const result = JSON.parse(new TextDecoder().decode(plaintext)) as DoctorResult;
  if (result.version !== 1 || result.deviceId !== device.id || !Array.isArray(result.checks)) {
    throw new Error(`the doctor result the server sent is not ${device.name}'s`);
  }
  return result;
}

export function Troubleshooter(props: { device: Device; session: Session }) {
  const { device, session } = props;
  const [result, setResult] = useState<DoctorResult>();
  const [error, setError] = useState<string>();
  const sentAt = device.doctorReportAt;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new result is known by its time; the device object changes at every poll
  useEffect(() => {
    if (sentAt === null) return;
    let live = true;
    openDoctorResult(session, device).then(
      (opened) => {
        if (!live) return;
        setResult(opened);
        setError(undefined);
      },
      (failure: unknown) => live && setError(messageOf(failure)),
    );
    return () => {
      live = false;
    };
  }, [sentAt, session, device.id]);

  const count = (status: 'fail' | 'warn') => result?.checks.filter((c) => c.status === status).length ?? 0;
  const counts = result ? `${count('fail')} failed, ${count('warn')} with a warning` : undefined;
  return (
    <details className="troubleshooter" data-field="troubleshooter">
      <summary>
        Troubleshooter
        {sentAt === null
          ? ': no check yet (run cumulus doctor on the device)'
          : result
            ? `: ${counts}, checked ${formatTime(result.at)}`
            : ''}
      </summary>
      {error && <p role="alert">{error}</p>}
      {result && (
        <ul className="plain checks">
          {result.checks.map((check) => (
            <li key={check.id} className="check" data-check={check.id}>
              <strong className={LIGHT[check.status]}>{LABEL[check.status]}</strong> {check.title}
              {check.blockedBy && <small> (not checked: see {check.blockedBy})</small>}
              <ul>
                {check.evidence.map((line, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: evidence lines are fixed text in their order
                  <li key={i}>{line}</li>
                ))}
              </ul>
              {check.fix && (check.status === 'fail' || check.status === 'warn') && (
                <>
                  <p className="check-steps">To fix:</p>
                  <ol>
                    {check.fix.map((step, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: the steps are numbered in their order
                      <li key={i}>{step}</li>
                    ))}
                  </ol>
                  {check.autoFix && (
                    <p className="check-steps">
                      <small>
                        On the device, <code>cumulus doctor --fix</code> can {check.autoFix}.
                      </small>
                    </p>
                  )}
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}
