import { Fn } from 'cdktn'

/** IAM policy documents as plain data; tokens inside strings resolve when the stack is synthesized. */
export interface Statement {
  readonly Sid?: string
  readonly Effect: 'Allow' | 'Deny'
  readonly Action: string | readonly string[]
  readonly Resource?: string | readonly string[]
  readonly Principal?: Record<string, string | readonly string[]>
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>
}

export function policy(...statements: readonly Statement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements })
}

export function assumedBy(service: string): string {
  return policy({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: service } })
}

/** MSK IAM resources of one cluster: `…:cluster/<name>/<uuid>` → its topics' and groups' ARNs. */
export function kafkaArns(clusterArn: string): { cluster: string; topics: string; groups: string } {
  // The ARN is only known to Terraform, so the rewrite happens there.
  const as = (kind: string) => `${Fn.replace(clusterArn, ':cluster/', `:${kind}/`)}/*`
  return { cluster: clusterArn, topics: as('topic'), groups: as('group') }
}

export const kafkaActions = {
  /** What a region process needs on its own cluster: produce, consume, create its topics. */
  readWrite: [
    'kafka-cluster:Connect',
    'kafka-cluster:DescribeCluster',
    'kafka-cluster:CreateTopic',
    'kafka-cluster:DescribeTopic',
    'kafka-cluster:ReadData',
    'kafka-cluster:WriteData',
    'kafka-cluster:DescribeGroup',
    'kafka-cluster:AlterGroup',
  ],
  /** What a peer's replicator needs on this cluster: read the origin topics, nothing more. */
  read: [
    'kafka-cluster:Connect',
    'kafka-cluster:DescribeCluster',
    'kafka-cluster:DescribeTopic',
    'kafka-cluster:ReadData',
    'kafka-cluster:DescribeGroup',
    'kafka-cluster:AlterGroup',
  ],
} as const
