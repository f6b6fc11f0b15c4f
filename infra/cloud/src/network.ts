import { Eip } from '@cdktf/provider-aws/lib/eip/index.js'
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway/index.js'
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway/index.js'
import { RouteTable } from '@cdktf/provider-aws/lib/route-table/index.js'
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association/index.js'
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js'
import { Subnet } from '@cdktf/provider-aws/lib/subnet/index.js'
import { Vpc } from '@cdktf/provider-aws/lib/vpc/index.js'
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js'
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js'
import type { Region } from '@meridian/core'
import { Construct } from 'constructs'
import { cloudflareIpv4, names, subnetCidr, tagsFor, zones } from './naming.ts'

/** Ports the security groups open, and nothing else. */
export const ports = { https: 443, app: 8080, postgres: 5432, redis: 6379, kafkaIam: 9098 } as const

/**
 * The region's network: a VPC over three availability zones with public subnets (load balancer,
 * NAT), private app subnets (ECS tasks) and data subnets (Postgres, Redis, Kafka), and security
 * groups that let each tier talk only to the one that needs it.
 */
export class Network extends Construct {
  readonly vpc: Vpc
  readonly publicSubnets: Subnet[]
  readonly appSubnets: Subnet[]
  readonly dataSubnets: Subnet[]
  readonly albSg: SecurityGroup
  readonly appSg: SecurityGroup
  readonly dbSg: SecurityGroup
  readonly redisSg: SecurityGroup
  readonly kafkaSg: SecurityGroup

  constructor(scope: Construct, id: string, region: Region) {
    super(scope, id)
    const tags = (name: string) => ({ ...tagsFor(region, 'network'), Name: name })
    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: region.cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: tags(names.vpc(region)),
    })
    const azs = zones(region)
    const subnet = (tier: 'public' | 'app' | 'data', i: number, az: string) =>
      new Subnet(this, `${tier}-${i}`, {
        vpcId: this.vpc.id,
        cidrBlock: subnetCidr(region, tier, i),
        availabilityZone: az,
        mapPublicIpOnLaunch: false,
        tags: tags(`${names.region(region)}-${tier}-${az}`),
      })
    this.publicSubnets = azs.map((az, i) => subnet('public', i, az))
    this.appSubnets = azs.map((az, i) => subnet('app', i, az))
    this.dataSubnets = azs.map((az, i) => subnet('data', i, az))

    const igw = new InternetGateway(this, 'igw', {
      vpcId: this.vpc.id,
      tags: tags(`${names.region(region)}-igw`),
    })
    const publicRoutes = new RouteTable(this, 'public-routes', {
      vpcId: this.vpc.id,
      route: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
      tags: tags(`${names.region(region)}-public`),
    })
    for (const [i, s] of this.publicSubnets.entries())
      new RouteTableAssociation(this, `public-assoc-${i}`, {
        subnetId: s.id,
        routeTableId: publicRoutes.id,
      })
    // One NAT gateway per zone: losing a zone does not cut the others off from the processors.
    azs.forEach((_, i) => {
      const eip = new Eip(this, `nat-eip-${i}`, {
        domain: 'vpc',
        tags: tags(`${names.region(region)}-nat-${i}`),
      })
      const nat = new NatGateway(this, `nat-${i}`, {
        allocationId: eip.id,
        subnetId: this.publicSubnets[i]?.id ?? '',
        tags: tags(`${names.region(region)}-nat-${i}`),
      })
      const routes = new RouteTable(this, `private-routes-${i}`, {
        vpcId: this.vpc.id,
        route: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }],
        tags: tags(names.privateRouteTable(region, i)),
      })
      new RouteTableAssociation(this, `app-assoc-${i}`, {
        subnetId: this.appSubnets[i]?.id ?? '',
        routeTableId: routes.id,
      })
      new RouteTableAssociation(this, `data-assoc-${i}`, {
        subnetId: this.dataSubnets[i]?.id ?? '',
        routeTableId: routes.id,
      })
    })

    const group = (key: string, name: string, description: string) =>
      new SecurityGroup(this, key, { name, description, vpcId: this.vpc.id, tags: tags(name) })
    this.albSg = group(
      'alb-sg',
      `${names.region(region)}-alb`,
      'Region load balancer: HTTPS from Cloudflare only',
    )
    this.appSg = group(
      'app-sg',
      names.appSecurityGroup(region),
      'ECS tasks: from the load balancer only',
    )
    this.dbSg = group(
      'db-sg',
      `${names.region(region)}-postgres`,
      'Postgres: from the app tier only',
    )
    this.redisSg = group(
      'redis-sg',
      `${names.region(region)}-redis`,
      'Redis: from the app tier only',
    )
    this.kafkaSg = group(
      'kafka-sg',
      names.kafkaSecurityGroup(region),
      'Kafka: from the app tier (and peer replicators, see ReplicationStack)',
    )

    for (const [i, cidr] of cloudflareIpv4.entries())
      new VpcSecurityGroupIngressRule(this, `alb-from-cloudflare-${i}`, {
        securityGroupId: this.albSg.id,
        cidrIpv4: cidr,
        ipProtocol: 'tcp',
        fromPort: ports.https,
        toPort: ports.https,
        description: 'HTTPS from the Meridian edge (Cloudflare)',
      })
    const fromGroup = (
      key: string,
      target: SecurityGroup,
      source: SecurityGroup,
      port: number,
      description: string,
    ) =>
      new VpcSecurityGroupIngressRule(this, key, {
        securityGroupId: target.id,
        referencedSecurityGroupId: source.id,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        description,
      })
    fromGroup(
      'app-from-alb',
      this.appSg,
      this.albSg,
      ports.app,
      'region API from its load balancer',
    )
    fromGroup('db-from-app', this.dbSg, this.appSg, ports.postgres, 'Postgres from the app tier')
    fromGroup('redis-from-app', this.redisSg, this.appSg, ports.redis, 'Redis from the app tier')
    fromGroup(
      'kafka-from-app',
      this.kafkaSg,
      this.appSg,
      ports.kafkaIam,
      'Kafka (IAM, TLS) from the app tier',
    )
    // Outbound: the load balancer only to the tasks; the tasks anywhere (processors, peers, AWS APIs).
    new VpcSecurityGroupEgressRule(this, 'alb-to-app', {
      securityGroupId: this.albSg.id,
      referencedSecurityGroupId: this.appSg.id,
      ipProtocol: 'tcp',
      fromPort: ports.app,
      toPort: ports.app,
    })
    new VpcSecurityGroupEgressRule(this, 'app-out', {
      securityGroupId: this.appSg.id,
      cidrIpv4: '0.0.0.0/0',
      ipProtocol: '-1',
    })
  }
}
