import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js'
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js'
import { DataAwsSecretsmanagerRandomPassword } from '@cdktf/provider-aws/lib/data-aws-secretsmanager-random-password/index.js'
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js'
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group/index.js'
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group/index.js'
import { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group/index.js'
import { ElasticacheSubnetGroup } from '@cdktf/provider-aws/lib/elasticache-subnet-group/index.js'
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js'
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js'
import { MskCluster } from '@cdktf/provider-aws/lib/msk-cluster/index.js'
import { MskConfiguration } from '@cdktf/provider-aws/lib/msk-configuration/index.js'
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js'
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version/index.js'
import type { Region } from '@meridian/core'
import { Construct } from 'constructs'
import { names, tagsFor } from './naming.ts'
import type { Network } from './network.ts'
import { policy } from './policies.ts'
import { sizing } from './sizing.ts'

/**
 * The region's stateful services: Postgres (ledger, payments, outbox), Redis (fast-path gate) and
 * Kafka (events). All three are private, encrypted at rest with the region's key and in transit,
 * and spread over three zones; the credentials live in Secrets Manager only.
 */
export class DataTier extends Construct {
  readonly key: KmsKey
  readonly accountId: string
  readonly postgres: DbInstance
  readonly redis: ElasticacheReplicationGroup
  readonly redisAuth: SecretsmanagerSecret
  readonly kafka: MskCluster

  constructor(scope: Construct, id: string, region: Region, network: Network) {
    super(scope, id)
    const tags = (component: string) => tagsFor(region, component)
    const account = new DataAwsCallerIdentity(this, 'account')
    this.accountId = account.accountId
    this.key = new KmsKey(this, 'key', {
      description: `Meridian ${region.id}: data at rest (Postgres, Redis, Kafka, secrets, logs)`,
      enableKeyRotation: true,
      deletionWindowInDays: sizing.kmsDeletionWindowDays,
      policy: keyPolicy(region, account.accountId),
      tags: tags('kms'),
    })
    new KmsAlias(this, 'key-alias', {
      name: `alias/${names.region(region)}-data`,
      targetKeyId: this.key.keyId,
    })

    this.postgres = this.createPostgres(region, network)
    ;[this.redis, this.redisAuth] = this.createRedis(region, network)
    this.kafka = this.createKafka(region, network)
  }

  private createPostgres(region: Region, network: Network): DbInstance {
    const pg = sizing.postgres
    const subnets = new DbSubnetGroup(this, 'pg-subnets', {
      name: `${names.region(region)}-postgres`,
      subnetIds: network.dataSubnets.map((s) => s.id),
      tags: tagsFor(region, 'postgres'),
    })
    const parameters = new DbParameterGroup(this, 'pg-parameters', {
      name: `${names.region(region)}-postgres`,
      family: pg.parameterFamily,
      parameter: [
        // Clients must use TLS; plaintext connections are refused by the server itself.
        { name: 'rds.force_ssl', value: '1' },
        { name: 'log_min_duration_statement', value: '250' },
      ],
      tags: tagsFor(region, 'postgres'),
    })
    return new DbInstance(this, 'postgres', {
      identifier: `${names.region(region)}-ledger`,
      engine: 'postgres',
      engineVersion: pg.engineVersion,
      instanceClass: pg.instanceClass,
      dbName: 'meridian',
      username: 'meridian',
      // RDS generates and rotates the password into Secrets Manager; it never passes through here.
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: this.key.arn,
      allocatedStorage: pg.storageGbMin,
      maxAllocatedStorage: pg.storageGbMax,
      storageType: 'gp3',
      storageEncrypted: true,
      kmsKeyId: this.key.arn,
      multiAz: true,
      publiclyAccessible: false,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [network.dbSg.id],
      parameterGroupName: parameters.name,
      backupRetentionPeriod: pg.backupRetentionDays,
      copyTagsToSnapshot: true,
      deleteAutomatedBackups: false,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${names.region(region)}-ledger-final`,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: this.key.arn,
      enabledCloudwatchLogsExports: ['postgresql'],
      autoMinorVersionUpgrade: true,
      tags: tagsFor(region, 'postgres'),
    })
  }

  private createRedis(
    region: Region,
    network: Network,
  ): [ElasticacheReplicationGroup, SecretsmanagerSecret] {
    const r = sizing.redis
    const secret = new SecretsmanagerSecret(this, 'redis-auth', {
      name: `meridian/${region.id}/redis-auth-token`,
      description: 'ElastiCache AUTH token for the region processes (REDIS_PASSWORD)',
      kmsKeyId: this.key.arn,
      tags: tagsFor(region, 'redis'),
    })
    // Secrets Manager draws the token; ignore_changes keeps later plans from drawing a new one.
    const drawn = new DataAwsSecretsmanagerRandomPassword(this, 'redis-auth-draw', {
      passwordLength: r.authTokenLength,
      excludePunctuation: true,
    })
    new SecretsmanagerSecretVersion(this, 'redis-auth-value', {
      secretId: secret.id,
      secretString: drawn.randomPassword,
      lifecycle: { ignoreChanges: ['secret_string'] },
    })
    const subnets = new ElasticacheSubnetGroup(this, 'redis-subnets', {
      name: `${names.region(region)}-redis`,
      subnetIds: network.dataSubnets.map((s) => s.id),
      tags: tagsFor(region, 'redis'),
    })
    const group = new ElasticacheReplicationGroup(this, 'redis', {
      replicationGroupId: `${names.region(region)}-gate`,
      description: `Meridian ${region.id} fast-path gate (idempotency, rate limits)`,
      engine: 'redis',
      engineVersion: r.engineVersion,
      nodeType: r.nodeType,
      // Cluster mode off: the gate's Lua scripts touch several keys of one payment at once.
      numCacheClusters: r.nodes,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: 'true', // typed as a string by this provider version
      kmsKeyId: this.key.arn,
      authToken: drawn.randomPassword,
      subnetGroupName: subnets.name,
      securityGroupIds: [network.redisSg.id],
      port: 6379,
      snapshotRetentionLimit: r.snapshotRetentionDays,
      lifecycle: { ignoreChanges: ['auth_token'] },
      tags: tagsFor(region, 'redis'),
    })
    return [group, secret]
  }

  private createKafka(region: Region, network: Network): MskCluster {
    const k = sizing.kafka
    const configuration = new MskConfiguration(this, 'kafka-config', {
      name: `${names.region(region)}-kafka`,
      kafkaVersions: [k.version],
      serverProperties: [
        // Topics are created by the services with explicit partition counts, never by accident.
        'auto.create.topics.enable=false',
        `default.replication.factor=${k.replicationFactor}`,
        `min.insync.replicas=${k.minInsyncReplicas}`,
        'unclean.leader.election.enable=false',
        `log.retention.hours=${k.retentionHours}`,
      ].join('\n'),
    })
    const logs = new CloudwatchLogGroup(this, 'kafka-logs', {
      name: `/meridian/${region.id}/kafka`,
      retentionInDays: sizing.logsRetentionDays,
      kmsKeyId: this.key.arn,
      tags: tagsFor(region, 'kafka'),
    })
    return new MskCluster(this, 'kafka', {
      clusterName: names.kafka(region),
      kafkaVersion: k.version,
      numberOfBrokerNodes: k.brokers,
      brokerNodeGroupInfo: {
        instanceType: k.brokerInstanceType,
        clientSubnets: network.dataSubnets.map((s) => s.id),
        securityGroups: [network.kafkaSg.id],
        storageInfo: { ebsStorageInfo: { volumeSize: k.brokerVolumeGb } },
      },
      // IAM over TLS only: no plaintext listener, no anonymous clients, no shared passwords.
      clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
      encryptionInfo: {
        encryptionAtRestKmsKeyArn: this.key.arn,
        encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
      },
      configurationInfo: { arn: configuration.arn, revision: configuration.latestRevision },
      loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: logs.name } } },
      tags: tagsFor(region, 'kafka'),
    })
  }
}

/**
 * The account administers the key through IAM (RDS, ElastiCache, MSK and Secrets Manager use it
 * through grants that way); CloudWatch Logs is a service principal and must be named here.
 */
function keyPolicy(region: Region, accountId: string): string {
  return policy(
    {
      Sid: 'AccountAdministers',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${accountId}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
    {
      Sid: 'LogsEncrypt',
      Effect: 'Allow',
      Principal: { Service: `logs.${region.awsRegion}.amazonaws.com` },
      Action: [
        'kms:Encrypt*',
        'kms:Decrypt*',
        'kms:ReEncrypt*',
        'kms:GenerateDataKey*',
        'kms:Describe*',
      ],
      Resource: '*',
      Condition: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${region.awsRegion}:${accountId}:*`,
        },
      },
    },
  )
}
