import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js'
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js'
import type { Region } from '@meridian/core'
import { Construct } from 'constructs'
import type { DataTier } from './data.ts'
import { names, tagsFor } from './naming.ts'
import type { Services } from './services.ts'
import { alarms, type ServiceName, services } from './sizing.ts'

interface AlarmSpec {
  readonly key: string
  readonly description: string
  readonly namespace: string
  readonly metricName: string
  readonly dimensions: Record<string, string>
  readonly statistic?: string
  readonly extendedStatistic?: string
  readonly comparisonOperator: 'GreaterThanThreshold' | 'LessThanThreshold'
  readonly threshold: number
  /** Missing data means the thing stopped reporting: for liveness alarms that is the alarm. */
  readonly missingIsBreaching?: boolean
}

/**
 * What pages the on-call engineer for a region: the API failing or slow, the data tier running
 * hot or out of room, a service with fewer tasks than its floor. All alarms notify one topic,
 * which the on-call tool subscribes to.
 */
export class Alarms extends Construct {
  readonly topic: SnsTopic
  readonly alarms: CloudwatchMetricAlarm[] = []

  constructor(scope: Construct, id: string, region: Region, data: DataTier, compute: Services) {
    super(scope, id)
    this.topic = new SnsTopic(this, 'topic', {
      name: `${names.region(region)}-alarms`,
      kmsMasterKeyId: 'alias/aws/sns',
      tags: tagsFor(region, 'alarms'),
    })
    const lb = {
      LoadBalancer: compute.loadBalancer.arnSuffix,
      TargetGroup: compute.targetGroup.arnSuffix,
    }
    const specs: AlarmSpec[] = [
      {
        key: 'api-5xx',
        description: 'Region API answers 5xx',
        namespace: 'AWS/ApplicationELB',
        metricName: 'HTTPCode_Target_5XX_Count',
        dimensions: lb,
        statistic: 'Sum',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: alarms.api5xxPerMinuteMax,
      },
      {
        key: 'api-p99',
        description: 'Region API p99 latency',
        namespace: 'AWS/ApplicationELB',
        metricName: 'TargetResponseTime',
        dimensions: lb,
        extendedStatistic: 'p99',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: alarms.apiP99LatencySecondsMax,
      },
      {
        key: 'api-unhealthy',
        description: 'API tasks failing /readyz',
        namespace: 'AWS/ApplicationELB',
        metricName: 'UnHealthyHostCount',
        dimensions: lb,
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
      },
      {
        key: 'postgres-cpu',
        description: 'Ledger database CPU',
        namespace: 'AWS/RDS',
        metricName: 'CPUUtilization',
        dimensions: { DBInstanceIdentifier: data.postgres.identifier },
        statistic: 'Average',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: alarms.postgresCpuPercentMax,
      },
      {
        key: 'postgres-storage',
        description: 'Ledger database free storage',
        namespace: 'AWS/RDS',
        metricName: 'FreeStorageSpace',
        dimensions: { DBInstanceIdentifier: data.postgres.identifier },
        statistic: 'Minimum',
        comparisonOperator: 'LessThanThreshold',
        threshold: alarms.postgresFreeStorageBytesMin,
      },
      {
        key: 'redis-cpu',
        description: 'Fast-path gate Redis engine CPU',
        namespace: 'AWS/ElastiCache',
        metricName: 'EngineCPUUtilization',
        dimensions: { ReplicationGroupId: data.redis.replicationGroupId },
        statistic: 'Average',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: alarms.redisCpuPercentMax,
      },
      {
        key: 'kafka-disk',
        description: 'Kafka data disk used',
        namespace: 'AWS/Kafka',
        metricName: 'KafkaDataLogsDiskUsed',
        dimensions: { 'Cluster Name': data.kafka.clusterName },
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: alarms.kafkaDiskUsedPercentMax,
      },
      ...(Object.keys(services) as ServiceName[]).map(
        (name): AlarmSpec => ({
          key: `${name}-tasks`,
          description: `${name} running fewer tasks than its floor`,
          namespace: 'ECS/ContainerInsights',
          metricName: 'RunningTaskCount',
          dimensions: { ClusterName: compute.cluster.name, ServiceName: name },
          statistic: 'Minimum',
          comparisonOperator: 'LessThanThreshold',
          threshold: services[name].tasksMin,
          missingIsBreaching: true,
        }),
      ),
    ]
    for (const spec of specs) this.alarms.push(this.alarm(region, spec))
  }

  private alarm(region: Region, spec: AlarmSpec): CloudwatchMetricAlarm {
    return new CloudwatchMetricAlarm(this, spec.key, {
      alarmName: `${names.region(region)}-${spec.key}`,
      alarmDescription: `${spec.description} (${region.displayName})`,
      namespace: spec.namespace,
      metricName: spec.metricName,
      dimensions: spec.dimensions,
      ...(spec.statistic ? { statistic: spec.statistic } : {}),
      ...(spec.extendedStatistic ? { extendedStatistic: spec.extendedStatistic } : {}),
      comparisonOperator: spec.comparisonOperator,
      threshold: spec.threshold,
      period: 60,
      evaluationPeriods: alarms.evaluationPeriodsMinutes,
      treatMissingData: spec.missingIsBreaching ? 'breaching' : 'notBreaching',
      alarmActions: [this.topic.arn],
      okActions: [this.topic.arn],
      tags: tagsFor(region, 'alarms'),
    })
  }
}
