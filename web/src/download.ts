/**
 * saveFile restores one file from a snapshot into the person's downloads: every chunk is
 * fetched sealed, opened and verified in this page (Vault.readFile), and the total is
 * checked against the size the tree records. Where the browser can write a chosen file as
 * a stream (the File System Access API, `stream: true`), chunks go to disk as they are
 * opened; otherwise they become a Blob, which Chromium keeps on disk past its memory
 * budget, handed to the browser's download.
 */
import type { FileEntry } from '../../src/core/tree.ts';
import type { Vault } from './vault.ts';

export interface DownloadProgress {
  bytesDone: number;
  bytesTotal: number;
  startedAt: number;
}

interface SaveFilePicker {
  showSaveFilePicker(options: { suggestedName: string }): Promise<{
    createWritable(): Promise<{
      write(data: Uint8Array<ArrayBuffer>): Promise<void>;
      close(): Promise<void>;
      abort(): Promise<void>;
    }>;
  }>;
}

/** canStream says whether this browser can write a download to disk as it arrives. */
export function canStream(): boolean {
  return 'showSaveFilePicker' in window;
}

export async function saveFile(
  vault: Vault,
  file: FileEntry,
  options: { stream: boolean; onProgress(progress: DownloadProgress): void },
): Promise<void> {
  const progress = { bytesDone: 0, bytesTotal: file.size, startedAt: Date.now() };
  options.onProgress(progress);
  const chunks = async function* () {
    for await (const chunk of vault.readFile(file)) {
      progress.bytesDone += chunk.length;
      if (progress.bytesDone > file.size) break;
      options.onProgress({ ...progress });
      yield new Uint8Array(chunk);
    }
    if (progress.bytesDone !== file.size) {
      throw new Error(
        `${file.name} restored to ${progress.bytesDone} bytes instead of ${file.size}: its backup is damaged`,
      );
    }
  };
  if (options.stream) {
    const handle = await (window as unknown as SaveFilePicker).showSaveFilePicker({
      suggestedName: file.name,
    });
    const writable = await handle.createWritable();
    try {
      for await (const chunk of chunks()) await writable.write(chunk);
      await writable.close();
    } catch (error) {
      await writable.abort();
      throw error;
    }
    return;
  }
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for await (const chunk of chunks()) parts.push(chunk);
  const url = URL.createObjectURL(new Blob(parts, { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = file.name;
  link.click();
  // Revoked later, not now: the browser reads the Blob after this click returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
