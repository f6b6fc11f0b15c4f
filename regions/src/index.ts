export * from './adapters/kafka.ts'
export * from './adapters/postgres.ts'
export * from './adapters/redis.ts'
export * from './log.ts'
