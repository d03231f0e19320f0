import { createLogger, createMongoClient, listen, runService } from '@supergraph/service-kit';
import { loadSigningKeys } from './auth/keys.js';
import { loadUsersConfig } from './config.js';
import { seedUsers } from './db/seed.js';
import { createUsersSubgraph } from './server.js';

await runService(async () => {
  const config = loadUsersConfig();
  const logger = createLogger('users', config.logLevel);
  // The keys before the database, so that a bad JWT_PRIVATE_KEY is reported as the config error it is.
  const keys = await loadSigningKeys({
    alg: config.jwt.alg,
    privateKeyPem: config.jwt.privateKeyPem,
    previousPublicKeyPem: config.jwt.previousPublicKeyPem,
    dataDir: config.dataDir,
  });
  const client = createMongoClient(config.mongodbUri, { appName: 'users' });
  await client.connect();
  const db = client.db(config.database);

  const subgraph = await createUsersSubgraph({
    config,
    db,
    signingKey: keys.current,
    previousKeys: keys.previous,
    logger,
  });
  await seedUsers(db, subgraph.repository, config.seeds, subgraph.passwords, logger);
  const server = await listen(subgraph.listener, { host: config.host, port: config.port });
  logger.info(`users subgraph ready at ${server.url}`, {
    kid: keys.current.kid,
    previousKids: keys.previous.map((key) => key.kid),
  });

  return {
    logger,
    stop: async () => {
      await server.close();
      await subgraph.stop();
      await client.close();
    },
  };
});
