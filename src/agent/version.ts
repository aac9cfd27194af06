/** The agent's own version (package.json); versions compare with compareVersions of src/api/releases.ts. */
import pkg from '../../package.json' with { type: 'json' };

export const agentVersion: string = pkg.version;
