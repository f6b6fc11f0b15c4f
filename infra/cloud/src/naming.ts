import type { Region } from '@meridian/core'

/** Every name derives from the region id, so stacks can find each other's resources by name. */
export const names = {
  region: (r: Region) => `meridian-${r.id}`,
  vpc: (r: Region) => `meridian-${r.id}-vpc`,
  kafka: (r: Region) => `meridian-${r.id}-kafka`,
  kafkaSecurityGroup: (r: Region) => `meridian-${r.id}-kafka`,
  appSecurityGroup: (r: Region) => `meridian-${r.id}-app`,
  privateRouteTable: (r: Region, az: number) => `meridian-${r.id}-private-${az}`,
  replicatorRole: (r: Region) => `meridian-${r.id}-replication-task`,
  edgeSecret: (r: Region) => `meridian/${r.id}/edge-signing-secret`,
  pinsToken: (r: Region) => `meridian/${r.id}/processor-pins-token`,
  webhookSecretKeys: (r: Region) => `meridian/${r.id}/webhook-secret-keys`,
  /** PEER_KAFKA of the region's replicators: every other region's brokers, written by ReplicationStack. */
  peerKafkaParameter: (r: Region) => `/meridian/${r.id}/replication/peer-kafka`,
}

export function tagsFor(r: Region | undefined, component: string): Record<string, string> {
  return { app: 'meridian', component, managed_by: 'cdktf', ...(r ? { region: r.id } : {}) }
}

/** Three availability zones per region: a, b, c. */
export const zonesPerRegion = 3

export function zones(r: Region): string[] {
  return ['a', 'b', 'c'].slice(0, zonesPerRegion).map((z) => `${r.awsRegion}${z}`)
}

/** 10.X.0.0/16 → 10.X.<n>.0/24. Public 0–2, app 10–12, data 20–22. */
export function subnetCidr(r: Region, tier: 'public' | 'app' | 'data', index: number): string {
  const second = r.cidr.split('.')[1]
  const base = { public: 0, app: 10, data: 20 }[tier]
  return `10.${second}.${base + index}.0/24`
}

/**
 * Cloudflare's published IPv4 ranges (https://www.cloudflare.com/ips-v4): the only sources the
 * regions' load balancers accept, since the edge is the only legitimate caller.
 */
export const cloudflareIpv4 = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
] as const
