/**
 * Every size, count and retention the stacks use, named with its unit. One place to read what a
 * region costs and how far it stretches; a region that needs different numbers overrides these.
 */
export const sizing = {
  postgres: {
    engineVersion: '16.4',
    parameterFamily: 'postgres16',
    instanceClass: 'db.r6g.large',
    storageGbMin: 100,
    storageGbMax: 2000,
    backupRetentionDays: 14,
    /** The region's processes open at most this many connections each (PG_POOL_SIZE_MAX). */
    poolSizeMax: 20,
  },
  redis: {
    engineVersion: '7.1',
    nodeType: 'cache.r7g.large',
    /** Primary plus replicas in other zones; failover promotes a replica. */
    nodes: 3,
    snapshotRetentionDays: 7,
    authTokenLength: 64,
  },
  kafka: {
    version: '3.9.x',
    brokerInstanceType: 'kafka.m7g.large',
    brokers: 3,
    brokerVolumeGb: 500,
    /** Topic defaults: three copies, two must acknowledge, never elect an out-of-sync leader. */
    replicationFactor: 3,
    minInsyncReplicas: 2,
    retentionHours: 168,
  },
  logsRetentionDays: 30,
  kmsDeletionWindowDays: 30,
} as const

/** The region's ECS services: what runs, on how much, and how far each scales. */
export const services = {
  api: {
    roles: ['api'],
    cpu: 1024,
    memoryMb: 2048,
    tasksMin: 3,
    tasksMax: 30,
    cpuTargetPercent: 60,
    requestsPerTaskTarget: 1500,
  },
  workers: {
    roles: ['workers', 'webhooks'],
    cpu: 1024,
    memoryMb: 2048,
    tasksMin: 2,
    tasksMax: 20,
    cpuTargetPercent: 60,
  },
  // Both roles hold a Postgres advisory lock, so the second task is a hot standby, not a duplicate.
  relay: { roles: ['relay', 'reconciler'], cpu: 512, memoryMb: 1024, tasksMin: 2, tasksMax: 2 },
  // One replicator consumer group per origin region; partitions spread over the tasks.
  replicator: {
    roles: ['replicator'],
    cpu: 512,
    memoryMb: 1024,
    tasksMin: 2,
    tasksMax: 6,
    cpuTargetPercent: 60,
  },
  // Positions commit in the same transaction as the merge, so a second task is safe.
  applier: {
    roles: ['applier'],
    cpu: 512,
    memoryMb: 1024,
    tasksMin: 2,
    tasksMax: 6,
    cpuTargetPercent: 60,
  },
} as const
export type ServiceName = keyof typeof services

export const containerPort = 8080
export const replicationStatusPort = 8081

/** Alarm thresholds, with units. */
export const alarms = {
  api5xxPerMinuteMax: 25,
  apiP99LatencySecondsMax: 0.25,
  postgresCpuPercentMax: 80,
  postgresFreeStorageBytesMin: 20 * 1024 ** 3,
  redisCpuPercentMax: 75,
  kafkaDiskUsedPercentMax: 70,
  evaluationPeriodsMinutes: 3,
} as const
