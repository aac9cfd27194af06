import { blobStoreContract } from './blob-store.contract.ts';
import { MemoryBlobStore } from './memory-blob-store.ts';

blobStoreContract('memory', async () => new MemoryBlobStore());
