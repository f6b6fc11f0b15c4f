import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js'
import type { Region } from '@meridian/core'
import { TerraformOutput, TerraformStack, TerraformVariable } from 'cdktn'
import type { Construct } from 'constructs'
import { Alarms } from './alarms.ts'
import { DataTier } from './data.ts'
import { tagsFor } from './naming.ts'
import { Network } from './network.ts'
import { Services } from './services.ts'

/** One region of the fleet: network, data tier, services, alarms. Its own state, its own blast radius. */
export class RegionStack extends TerraformStack {
  readonly network: Network
  readonly data: DataTier
  readonly services: Services
  readonly alarms: Alarms

  constructor(
    scope: Construct,
    readonly region: Region,
  ) {
    super(scope, `region-${region.id}`)
    new AwsProvider(this, 'aws', {
      region: region.awsRegion,
      defaultTags: [{ tags: tagsFor(region, 'region') }],
    })
    const variable = (name: string, description: string, sensitive = false) =>
      new TerraformVariable(this, name, { type: 'string', description, sensitive, nullable: false })
        .stringValue
    const inputs = {
      image: variable('image', 'Meridian container image (repository:tag) to run'),
      certificateArn: variable('certificate_arn', `ACM certificate for ${region.origin}`),
      edgeSecret: variable(
        'edge_signing_secret',
        'Shared with the edge worker (same value in every stack)',
        true,
      ),
      processorUrls: variable('processor_urls', 'PROCESSOR_URLS: name=url,… in routing order'),
      processorPinsUrl: variable(
        'processor_pins_url',
        "UPSTASH_REDIS_REST_URL: the fleet's global Redis (the edge's), where regions agree on a payment's processor",
      ),
      processorPinsToken: variable(
        'processor_pins_token',
        'UPSTASH_REDIS_REST_TOKEN for processor_pins_url (same value in every stack)',
        true,
      ),
      webhookSecretKeys: variable(
        'webhook_secret_keys',
        'WEBHOOK_SECRET_KEYS: <id>:<base64 of 32 bytes>[,…], sealing webhook signing secrets (same value in every stack)',
        true,
      ),
    }
    this.network = new Network(this, 'network', region)
    this.data = new DataTier(this, 'data', region, this.network)
    this.services = new Services(this, 'services', region, this.network, this.data, inputs)
    this.alarms = new Alarms(this, 'alarms', region, this.data, this.services)

    new TerraformOutput(this, 'load_balancer_dns', {
      value: this.services.loadBalancer.dnsName,
      description: `Point ${new URL(region.origin).hostname} here (EdgeStack does, through Cloudflare)`,
    })
    new TerraformOutput(this, 'kafka_bootstrap_brokers', {
      value: this.data.kafka.bootstrapBrokersSaslIam,
    })
    new TerraformOutput(this, 'alarm_topic_arn', { value: this.alarms.topic.arn })
  }
}
