import { parseRegistry, type RegionRegistry } from './registry.ts'

/**
 * The fleet. Adding a region is one entry in `regions` (infra stacks, edge pools and replication
 * links all grow from it); moving a merchant is one edit in `merchants` plus an epoch bump.
 */
export const fleet: RegionRegistry = parseRegistry({
  epoch: 1,
  regions: [
    {
      id: 'us-east',
      displayName: 'US East (N. Virginia)',
      awsRegion: 'us-east-1',
      origin: 'https://us-east.api.meridian.example',
      cidr: '10.10.0.0/16',
    },
    {
      id: 'eu-west',
      displayName: 'EU West (Ireland)',
      awsRegion: 'eu-west-1',
      origin: 'https://eu-west.api.meridian.example',
      cidr: '10.20.0.0/16',
    },
    {
      id: 'ap-south',
      displayName: 'AP South (Mumbai)',
      awsRegion: 'ap-south-1',
      origin: 'https://ap-south.api.meridian.example',
      cidr: '10.30.0.0/16',
    },
  ],
  merchants: [
    { merchantId: 'mer_acme', home: 'us-east', failover: ['eu-west', 'ap-south'] },
    { merchantId: 'mer_globex', home: 'eu-west', failover: ['us-east', 'ap-south'] },
    { merchantId: 'mer_initech', home: 'ap-south', failover: ['eu-west', 'us-east'] },
  ],
})
