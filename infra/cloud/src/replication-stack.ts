import { DataAwsMskCluster } from '@cdktf/provider-aws/lib/data-aws-msk-cluster/index.js'
import { DataAwsRouteTable } from '@cdktf/provider-aws/lib/data-aws-route-table/index.js'
import { DataAwsSecurityGroup } from '@cdktf/provider-aws/lib/data-aws-security-group/index.js'
import { DataAwsVpc } from '@cdktf/provider-aws/lib/data-aws-vpc/index.js'
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js'
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js'
import { Route } from '@cdktf/provider-aws/lib/route/index.js'
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter/index.js'
import { VpcPeeringConnection } from '@cdktf/provider-aws/lib/vpc-peering-connection/index.js'
import { VpcPeeringConnectionAccepterA as VpcPeeringConnectionAccepter } from '@cdktf/provider-aws/lib/vpc-peering-connection-accepter/index.js'
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js'
import type { Region, RegionRegistry } from '@meridian/core'
import { Fn, TerraformStack } from 'cdktn'
import type { Construct } from 'constructs'
import { names, subnetCidr, tagsFor, zones } from './naming.ts'
import { ports } from './network.ts'
import { kafkaActions, kafkaArns, policy } from './policies.ts'

/** What one region stack left behind that replication needs, looked up by name in that region. */
interface RegionHandles {
  readonly region: Region
  readonly provider: AwsProvider
  readonly vpc: DataAwsVpc
  readonly routeTables: DataAwsRouteTable[]
  readonly kafkaSg: DataAwsSecurityGroup
  readonly kafka: DataAwsMskCluster
}

/** Unordered pairs: one peering connection each. */
export function regionPairs<T>(items: readonly T[]): [T, T][] {
  return items.flatMap((a, i) => items.slice(i + 1).map((b): [T, T] => [a, b]))
}

/** Directed links origin → destination: the destination's replicator reads the origin's cluster. */
export function replicationLinks<T>(items: readonly T[]): { origin: T; destination: T }[] {
  return items.flatMap((origin) =>
    items.filter((d) => d !== origin).map((destination) => ({ origin, destination })),
  )
}

/**
 * The cross-region path the replicators need, applied after the region stacks: a VPC peering per
 * pair of regions with routes both ways, and per directed link the origin's Kafka admitting the
 * destination's app subnets on the IAM/TLS port, the destination's replicator role allowed to read
 * the origin's topics, and PEER_KAFKA (every origin's brokers) in the destination's SSM.
 */
export class ReplicationStack extends TerraformStack {
  readonly peerings: VpcPeeringConnection[] = []
  readonly links: { origin: string; destination: string }[] = []

  constructor(scope: Construct, registry: RegionRegistry) {
    super(scope, 'replication')
    const handles = registry.regions.map((r) => this.lookup(r))

    for (const [a, b] of regionPairs(handles)) this.peer(a, b)
    for (const { origin, destination } of replicationLinks(handles)) this.link(origin, destination)
    for (const destination of handles) {
      const peers = handles.filter((h) => h !== destination)
      new SsmParameter(this, `peer-kafka-${destination.region.id}`, {
        provider: destination.provider,
        name: names.peerKafkaParameter(destination.region),
        description: `PEER_KAFKA for ${destination.region.id}'s replicators`,
        type: 'String',
        // "us-east=b-1…:9098,us-east=b-2…:9098,ap-south=…": the format replication/config.ts reads.
        value: Fn.join(
          ',',
          peers.map((p) =>
            Fn.join(
              ',',
              Fn.formatlist(`${p.region.id}=%s`, [Fn.split(',', p.kafka.bootstrapBrokersSaslIam)]),
            ),
          ),
        ),
        tags: tagsFor(destination.region, 'replication'),
      })
    }
  }

  private lookup(region: Region): RegionHandles {
    const id = region.id
    const provider = new AwsProvider(this, `aws-${id}`, {
      alias: id,
      region: region.awsRegion,
      defaultTags: [{ tags: tagsFor(region, 'replication') }],
    })
    const vpc = new DataAwsVpc(this, `vpc-${id}`, { provider, tags: { Name: names.vpc(region) } })
    const routeTables = zones(region).map(
      (_, i) =>
        new DataAwsRouteTable(this, `routes-${id}-${i}`, {
          provider,
          vpcId: vpc.id,
          tags: { Name: names.privateRouteTable(region, i) },
        }),
    )
    const kafkaSg = new DataAwsSecurityGroup(this, `kafka-sg-${id}`, {
      provider,
      vpcId: vpc.id,
      name: names.kafkaSecurityGroup(region),
    })
    const kafka = new DataAwsMskCluster(this, `kafka-${id}`, {
      provider,
      clusterName: names.kafka(region),
    })
    return { region, provider, vpc, routeTables, kafkaSg, kafka }
  }

  private peer(a: RegionHandles, b: RegionHandles): void {
    const key = `${a.region.id}-${b.region.id}`
    const peering = new VpcPeeringConnection(this, `peering-${key}`, {
      provider: a.provider,
      vpcId: a.vpc.id,
      peerVpcId: b.vpc.id,
      peerRegion: b.region.awsRegion,
      tags: { Name: `meridian-${key}` },
    })
    new VpcPeeringConnectionAccepter(this, `peering-${key}-accept`, {
      provider: b.provider,
      vpcPeeringConnectionId: peering.id,
      autoAccept: true,
      tags: { Name: `meridian-${key}` },
    })
    const routes = (from: RegionHandles, to: RegionHandles) => {
      for (const [i, table] of from.routeTables.entries())
        new Route(this, `route-${from.region.id}-to-${to.region.id}-${i}`, {
          provider: from.provider,
          routeTableId: table.id,
          destinationCidrBlock: to.region.cidr,
          vpcPeeringConnectionId: peering.id,
        })
    }
    routes(a, b)
    routes(b, a)
    this.peerings.push(peering)
  }

  private link(origin: RegionHandles, destination: RegionHandles): void {
    const key = `${origin.region.id}-to-${destination.region.id}`
    // Only the destination's app subnets (where its replicator tasks run), only the IAM/TLS port.
    for (const i of zones(destination.region).keys())
      new VpcSecurityGroupIngressRule(this, `kafka-${key}-${i}`, {
        provider: origin.provider,
        securityGroupId: origin.kafkaSg.id,
        cidrIpv4: subnetCidr(destination.region, 'app', i),
        ipProtocol: 'tcp',
        fromPort: ports.kafkaIam,
        toPort: ports.kafkaIam,
        description: `${destination.region.id} replicators read ${origin.region.id} events`,
      })
    const arns = kafkaArns(origin.kafka.arn)
    new IamRolePolicy(this, `replicator-${key}`, {
      provider: destination.provider,
      name: `read-${origin.region.id}-kafka`,
      role: names.replicatorRole(destination.region),
      policy: policy({
        Effect: 'Allow',
        Action: kafkaActions.read,
        Resource: [arns.cluster, arns.topics, arns.groups],
      }),
    })
    this.links.push({ origin: origin.region.id, destination: destination.region.id })
  }
}
