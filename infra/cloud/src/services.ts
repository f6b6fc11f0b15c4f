import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy/index.js'
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target/index.js'
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js'
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster/index.js'
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service/index.js'
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition/index.js'
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js'
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js'
import { Lb } from '@cdktf/provider-aws/lib/lb/index.js'
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener/index.js'
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group/index.js'
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js'
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version/index.js'
import { type Region, references } from '@meridian/core'
import { regionSettings } from '@meridian/regions'
import { replicationSettings } from '@meridian/replication'
import { Construct } from 'constructs'
import type { DataTier } from './data.ts'
import { names, tagsFor } from './naming.ts'
import type { Network } from './network.ts'
import { assumedBy, kafkaActions, kafkaArns, policy } from './policies.ts'
import { containerPort, type ServiceName, services, sizing } from './sizing.ts'

/** What an operator supplies per deploy: never written into the synthesized files. */
export interface RegionInputs {
  /** Container image of the Meridian services (one image, the entry point picks the role). */
  readonly image: string
  /** ACM certificate for the region's public origin. */
  readonly certificateArn: string
  /** Shared with the edge worker: requests not signed with it are refused by the region. */
  readonly edgeSecret: string
  /** PROCESSOR_URLS for the workers: name=url,… in routing order. */
  readonly processorUrls: string
  /**
   * The fleet's global Redis (Upstash REST, the edge's own), where the regions that authorize
   * agree once on a payment's processor (regions/src/adapters/pins.ts).
   */
  readonly processorPinsUrl: string
  readonly processorPinsToken: string
  /**
   * WEBHOOK_SECRET_KEYS: the keys that seal webhook signing secrets at rest. The same ring in
   * every region (sealed secrets replicate); rotate by putting a new key first.
   */
  readonly webhookSecretKeys: string
}

/** The image holds the repository at its working directory: entry points are relative to it. */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** The file a service's container runs, from the repository root: region process or replication. */
export function entryPoint(name: ServiceName): string {
  const file = isReplication(name) ? replicationSettings.entryPoint : regionSettings.entryPoint
  return relative(repoRoot, file)
}

function isReplication(name: ServiceName): name is 'replicator' | 'applier' {
  return name === 'replicator' || name === 'applier'
}

/** RDS certificates chain to Amazon's RDS CA, which the image ships; Node does not trust it by default. */
export const rdsCaBundle = '/etc/ssl/certs/rds-global-bundle.pem'

/**
 * The region's compute: one ECS cluster on Fargate with a service per role, the public load
 * balancer in front of the API, autoscaling, logs, and the task roles each role needs (the
 * replicator's role is the one ReplicationStack grants peer-cluster reads to).
 */
export class Services extends Construct {
  readonly cluster: EcsCluster
  readonly loadBalancer: Lb
  readonly targetGroup: LbTargetGroup
  readonly services: Record<ServiceName, EcsService>
  readonly taskRoles: Record<ServiceName, IamRole>
  readonly edgeSecret: SecretsmanagerSecret
  readonly pinsToken: SecretsmanagerSecret
  readonly webhookSecretKeys: SecretsmanagerSecret

  constructor(
    scope: Construct,
    id: string,
    region: Region,
    network: Network,
    data: DataTier,
    inputs: RegionInputs,
  ) {
    super(scope, id)
    const tags = tagsFor(region, 'services')
    this.cluster = new EcsCluster(this, 'cluster', {
      name: names.region(region),
      setting: [{ name: 'containerInsights', value: 'enhanced' }],
      tags,
    })
    this.edgeSecret = new SecretsmanagerSecret(this, 'edge-secret', {
      name: names.edgeSecret(region),
      description: 'EDGE_SECRET: verifies that requests were signed by the Meridian edge',
      kmsKeyId: data.key.arn,
      tags,
    })
    new SecretsmanagerSecretVersion(this, 'edge-secret-value', {
      secretId: this.edgeSecret.id,
      secretString: inputs.edgeSecret,
    })
    this.pinsToken = new SecretsmanagerSecret(this, 'pins-token', {
      name: names.pinsToken(region),
      description: 'UPSTASH_REDIS_REST_TOKEN: the register where regions agree on processors',
      kmsKeyId: data.key.arn,
      tags,
    })
    new SecretsmanagerSecretVersion(this, 'pins-token-value', {
      secretId: this.pinsToken.id,
      secretString: inputs.processorPinsToken,
    })

    this.webhookSecretKeys = new SecretsmanagerSecret(this, 'webhook-secret-keys', {
      name: names.webhookSecretKeys(region),
      description: 'WEBHOOK_SECRET_KEYS: seal webhook signing secrets at rest',
      kmsKeyId: data.key.arn,
      tags,
    })
    new SecretsmanagerSecretVersion(this, 'webhook-secret-keys-value', {
      secretId: this.webhookSecretKeys.id,
      secretString: inputs.webhookSecretKeys,
    })

    ;[this.loadBalancer, this.targetGroup] = this.createLoadBalancer(region, network, inputs)
    const execution = this.createExecutionRole(region, data)
    const taskRoles = {} as Record<ServiceName, IamRole>
    const created = {} as Record<ServiceName, EcsService>
    for (const name of Object.keys(services) as ServiceName[]) {
      taskRoles[name] = this.createTaskRole(region, name, data)
      created[name] = this.createService(
        region,
        name,
        network,
        data,
        inputs,
        execution,
        taskRoles[name],
      )
    }
    this.taskRoles = taskRoles
    this.services = created
  }

  private createLoadBalancer(
    region: Region,
    network: Network,
    inputs: RegionInputs,
  ): [Lb, LbTargetGroup] {
    const tags = tagsFor(region, 'load-balancer')
    const lb = new Lb(this, 'alb', {
      name: `${names.region(region)}-api`,
      loadBalancerType: 'application',
      internal: false,
      subnets: network.publicSubnets.map((s) => s.id),
      securityGroups: [network.albSg.id],
      dropInvalidHeaderFields: true,
      enableDeletionProtection: true,
      idleTimeout: 30,
      tags,
    })
    const tg = new LbTargetGroup(this, 'api-targets', {
      name: `${names.region(region)}-api`,
      port: containerPort,
      protocol: 'HTTP',
      targetType: 'ip',
      vpcId: network.vpc.id,
      deregistrationDelay: '30',
      // /readyz fails while Postgres, Redis or Kafka is unreachable, so the ALB (and the edge's
      // Cloudflare monitor behind it) stop sending payments to a task that cannot take them.
      healthCheck: {
        path: '/readyz',
        matcher: '200',
        interval: 10,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
      tags,
    })
    new LbListener(this, 'https', {
      loadBalancerArn: lb.arn,
      port: 443,
      protocol: 'HTTPS',
      sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      certificateArn: inputs.certificateArn,
      defaultAction: [{ type: 'forward', targetGroupArn: tg.arn }],
      tags,
    })
    return [lb, tg]
  }

  /** Pulls the image, writes logs, and reads exactly the region's four secrets at task start. */
  private createExecutionRole(region: Region, data: DataTier): IamRole {
    const role = new IamRole(this, 'execution-role', {
      name: `${names.region(region)}-task-execution`,
      assumeRolePolicy: assumedBy('ecs-tasks.amazonaws.com'),
      managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy'],
      tags: tagsFor(region, 'iam'),
    })
    new IamRolePolicy(this, 'execution-secrets', {
      role: role.id,
      policy: policy(
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [
            data.postgres.masterUserSecret.get(0).secretArn,
            data.redisAuth.arn,
            this.edgeSecret.arn,
            this.pinsToken.arn,
            this.webhookSecretKeys.arn,
          ],
        },
        {
          Effect: 'Allow',
          Action: 'ssm:GetParameters',
          Resource: `arn:aws:ssm:${region.awsRegion}:${data.accountId}:parameter${names.peerKafkaParameter(region)}`,
        },
        { Effect: 'Allow', Action: 'kms:Decrypt', Resource: data.key.arn },
      ),
    })
    return role
  }

  private createTaskRole(region: Region, name: ServiceName, data: DataTier): IamRole {
    const role = new IamRole(this, `${name}-task-role`, {
      name:
        name === 'replicator'
          ? names.replicatorRole(region)
          : `${names.region(region)}-${name}-task`,
      assumeRolePolicy: assumedBy('ecs-tasks.amazonaws.com'),
      tags: tagsFor(region, 'iam'),
    })
    const kafka = kafkaArns(data.kafka.arn)
    new IamRolePolicy(this, `${name}-kafka`, {
      role: role.id,
      policy: policy({
        Effect: 'Allow',
        Action: kafkaActions.readWrite,
        Resource: [kafka.cluster, kafka.topics, kafka.groups],
      }),
    })
    return role
  }

  /**
   * What a service's container is told: its variables, written by the settings module of the
   * process it runs (regions/src/config.ts, replication/src/config.ts), and its credentials as
   * references to Secrets Manager (or, for PEER_KAFKA, the SSM parameter ReplicationStack writes).
   */
  private containerEnv(
    region: Region,
    name: ServiceName,
    data: DataTier,
    inputs: RegionInputs,
  ): { environment: Record<string, string>; secrets: { name: string; valueFrom: string }[] } {
    // The password comes from PGPASSWORD (a secret), never from this URL.
    const databaseUrl = `postgresql://meridian@${data.postgres.address}:5432/meridian?sslmode=verify-full`
    const databasePassword = `${data.postgres.masterUserSecret.get(0).secretArn}:password::`
    // Read by the MSK IAM signer and by Node, not by Meridian's code; Terraform values as text.
    const texts = {
      awsRegion: region.awsRegion,
      extraCaCerts: rdsCaBundle,
      kafkaBrokers: data.kafka.bootstrapBrokersSaslIam,
    }
    const roles = Object.fromEntries(services[name].roles.map((r) => [r, true]))
    if (isReplication(name))
      return {
        environment: replicationSettings.toEnv(
          { region: region.id, databaseUrl, kafkaAuth: 'aws-msk-iam', roles },
          texts,
        ),
        secrets: references(replicationSettings.variables, {
          databasePassword,
          // Written by ReplicationStack: every other region's bootstrap brokers.
          peers: `arn:aws:ssm:${region.awsRegion}:${data.accountId}:parameter${names.peerKafkaParameter(region)}`,
        }),
      }
    return {
      environment: regionSettings.toEnv(
        {
          region: region.id,
          host: '0.0.0.0',
          port: containerPort,
          databaseUrl,
          poolSizeMax: sizing.postgres.poolSizeMax,
          redisUrl: `rediss://${data.redis.primaryEndpointAddress}:6379`,
          kafkaAuth: 'aws-msk-iam',
          roles,
          processorPins: { url: inputs.processorPinsUrl },
        },
        { ...texts, processorUrls: inputs.processorUrls },
      ),
      secrets: references(regionSettings.variables, {
        databasePassword,
        redisPassword: data.redisAuth.arn,
        edgeSecret: this.edgeSecret.arn,
        processorPinsToken: this.pinsToken.arn,
        webhookSecretKeys: this.webhookSecretKeys.arn,
      }),
    }
  }

  private createService(
    region: Region,
    name: ServiceName,
    network: Network,
    data: DataTier,
    inputs: RegionInputs,
    execution: IamRole,
    taskRole: IamRole,
  ): EcsService {
    const spec = services[name]
    const logs = new CloudwatchLogGroup(this, `${name}-logs`, {
      name: `/meridian/${region.id}/${name}`,
      retentionInDays: sizing.logsRetentionDays,
      kmsKeyId: data.key.arn,
      tags: tagsFor(region, name),
    })
    const { environment, secrets } = this.containerEnv(region, name, data, inputs)
    const task = new EcsTaskDefinition(this, `${name}-task`, {
      family: `${names.region(region)}-${name}`,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: String(spec.cpu),
      memory: String(spec.memoryMb),
      executionRoleArn: execution.arn,
      taskRoleArn: taskRole.arn,
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      // The root filesystem is read-only; tsx's compile cache and the partition map live in /tmp.
      volume: [{ name: 'tmp' }],
      containerDefinitions: JSON.stringify([
        {
          name,
          image: inputs.image,
          essential: true,
          command: ['node', '--import', 'tsx', entryPoint(name)],
          portMappings: name === 'api' ? [{ containerPort, protocol: 'tcp' }] : [],
          environment: Object.entries(environment).map(([k, v]) => ({ name: k, value: v })),
          secrets,
          readonlyRootFilesystem: true,
          mountPoints: [{ sourceVolume: 'tmp', containerPath: '/tmp' }],
          stopTimeout: 30,
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': logs.name,
              'awslogs-region': region.awsRegion,
              'awslogs-stream-prefix': name,
            },
          },
        },
      ]),
      tags: tagsFor(region, name),
    })
    const service = new EcsService(this, `${name}-service`, {
      name,
      cluster: this.cluster.arn,
      taskDefinition: task.arn,
      launchType: 'FARGATE',
      desiredCount: spec.tasksMin,
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      networkConfiguration: {
        subnets: network.appSubnets.map((s) => s.id),
        securityGroups: [network.appSg.id],
        assignPublicIp: false,
      },
      ...(name === 'api'
        ? {
            loadBalancer: [
              { targetGroupArn: this.targetGroup.arn, containerName: name, containerPort },
            ],
            healthCheckGracePeriodSeconds: 30,
          }
        : {}),
      propagateTags: 'SERVICE',
      // Autoscaling owns the count once the service exists.
      lifecycle: { ignoreChanges: ['desired_count'] },
      tags: tagsFor(region, name),
    })
    if (spec.tasksMax > spec.tasksMin) this.autoscale(region, name, service)
    return service
  }

  private autoscale(region: Region, name: ServiceName, service: EcsService): void {
    const spec = services[name]
    const target = new AppautoscalingTarget(this, `${name}-scaling`, {
      serviceNamespace: 'ecs',
      resourceId: `service/${this.cluster.name}/${service.name}`,
      scalableDimension: 'ecs:service:DesiredCount',
      minCapacity: spec.tasksMin,
      maxCapacity: spec.tasksMax,
      tags: tagsFor(region, name),
    })
    const track = (
      key: string,
      targetValue: number,
      metric: { predefinedMetricType: string; resourceLabel?: string },
    ) =>
      new AppautoscalingPolicy(this, `${name}-scale-${key}`, {
        name: `${names.region(region)}-${name}-${key}`,
        policyType: 'TargetTrackingScaling',
        serviceNamespace: target.serviceNamespace,
        resourceId: target.resourceId,
        scalableDimension: target.scalableDimension,
        targetTrackingScalingPolicyConfiguration: {
          targetValue,
          predefinedMetricSpecification: metric,
          scaleOutCooldown: 60,
          scaleInCooldown: 300,
        },
      })
    if ('cpuTargetPercent' in spec)
      track('cpu', spec.cpuTargetPercent, {
        predefinedMetricType: 'ECSServiceAverageCPUUtilization',
      })
    if ('requestsPerTaskTarget' in spec)
      track('requests', spec.requestsPerTaskTarget, {
        predefinedMetricType: 'ALBRequestCountPerTarget',
        resourceLabel: `${this.loadBalancer.arnSuffix}/${this.targetGroup.arnSuffix}`,
      })
  }
}
