export { RegionClient } from './client.ts'
export { eventually } from './eventually.ts'
export { uniqueName } from './names.ts'
export { createTestDb, prepareTestDatabase, type TestDb, testDatabaseUrl } from './pg.ts'
