import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { bootstrap, type BootstrapResult } from '../core/bootstrap.ts';
import { SecretBox, loadMasterKey } from '../core/crypto.ts';
import { migrate, openDatabase, Store, type DatabaseHandle } from '../store/index.ts';

export interface OpenedStore {
  database: DatabaseHandle;
  store: Store;
  box: SecretBox;
  boot: BootstrapResult;
}

/**
 * The database, migrated, and the instance in it: the master key's secret box and the bootstrap
 * (default workspace, admin key). A failure closes the database before it is thrown.
 */
export async function openStore(config: Config, logger: Logger): Promise<OpenedStore> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    exclusive: true,
  });
  try {
    const applied = await migrate(database);
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations');
  } catch (error) {
    await database.close();
    throw error;
  }
  const store = new Store(database.db);
  try {
    const box = new SecretBox(loadMasterKey(config.masterKeyHex, config.dataDir));
    const boot = await bootstrap(store, { dataDir: config.dataDir, bootstrapKey: config.bootstrapKey, box });
    return { database, store, box, boot };
  } catch (error) {
    await database.close();
    throw error;
  }
}
