/** Costs of scrypt, the password stretch, without the crypto: the browser's console uses them too. */

/** KdfParams are scrypt's cost parameters. */
export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

/**
 * DEFAULT_KDF costs 128 MiB and about 0.25 s per password try on this machine: N = 2^17,
 * the common guidance for interactive logins, since a server that holds the auth hashes
 * can guess offline. (2^16 was the default before; accounts made then keep it until their
 * password changes.)
 */
export const DEFAULT_KDF: KdfParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** TEST_KDF is cheap (about 1.5 ms): for tests only, never for a real password. */
export const TEST_KDF: KdfParams = Object.freeze({ N: 2 ** 10, r: 8, p: 1 });
