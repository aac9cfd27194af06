/**
 * A report a device writes for its owner only — its latest `cumulus doctor` result, for
 * the console's troubleshooter — sealed under the account key exactly as a blob is
 * (docs/format.md, "Blob IDs and blobs"): named by the keyed hash of its JSON, compressed,
 * sealed with AES-256-GCM bound to that name. The server keeps it opaque; the owner's
 * browser opens it with the same key (web/src/vault.ts), as it opens snapshots.
 */
import type { SealedDoctorReport } from '../api/devices.ts';
import { deriveSubkeys, type Subkeys } from '../core/keys.ts';
import { blobId, openBlob, sealBlob } from '../core/seal.ts';
import type { DeviceState } from './device-state.ts';

function keysOf(state: DeviceState): Subkeys {
  return deriveSubkeys(Buffer.from(state.accountKey, 'base64'), state.repositoryConfig.id);
}

/** sealForOwner seals a JSON value under the account key of a signed-in device. */
export function sealForOwner(state: DeviceState, value: unknown): SealedDoctorReport {
  const keys = keysOf(state);
  const plaintext = Buffer.from(JSON.stringify(value));
  const id = blobId(keys.blobId, plaintext);
  return { id, sealed: sealBlob(keys, id, plaintext).toString('base64') };
}

/** openFromDevice opens what sealForOwner sealed; a wrong key or a changed byte is CumulusError 'corrupt'. */
export function openFromDevice(state: DeviceState, report: SealedDoctorReport): unknown {
  const plaintext = openBlob(keysOf(state), report.id, Buffer.from(report.sealed, 'base64'));
  return JSON.parse(plaintext.toString('utf8'));
}
