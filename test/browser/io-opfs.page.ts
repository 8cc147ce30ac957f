/** Runs as a page module script: OPFS sync access handles do not exist on the main thread. */
import { HearthError, OpfsFileSystem } from '@hearth/io';
import { emit, main } from './worker-kit.js';

main(async () => {
  emit({ available: OpfsFileSystem.isAvailable() });
  try {
    await OpfsFileSystem.open('hearth-test-page');
    emit({ error: null });
  } catch (e) {
    emit({ error: e instanceof HearthError ? e.code : String(e), message: (e as Error).message });
  }
});
