/** The admin commands' access to a server's data folder, with or without the server running. */
import type { Command } from 'commander';
import { parseServerConfig } from '../server/config.ts';
import { openServerData, type ServerData } from '../server/start.ts';

export const DATA_HELP = 'data folder (or CUMULUS_DATA_DIR; default ./data)';

/**
 * withData opens the data folder named by --data, runs `work`, and closes it. --data is
 * read with the parent's options too: unless positional options are on, `cumulus server`
 * itself takes a --data written after the subcommand.
 */
export async function withData<T>(command: Command, work: (data: ServerData) => Promise<T>): Promise<T> {
  const data = await openServerData(parseServerConfig({ data: command.optsWithGlobals().data }));
  try {
    return await work(data);
  } finally {
    await data.close();
  }
}
