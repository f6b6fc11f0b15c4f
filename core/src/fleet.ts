import { parseRegistry, type RegionRegistry } from './registry.ts'

/**
 * The fleet's regions: provisioning input. Adding a region is one entry here (infra stacks, edge
 * pools and replication links all grow from it). Merchants are runtime data: `pnpm fleet`.
 */
export const fleet: RegionRegistry = parseRegistry({
  regions: [
    {
      id: 'us-east',
      displayName: 'US East (N. Virginia)',
      awsRegion: 'us-east-1',
      origin: 'https://us-east.api.meridian.example',
      cidr: '10.10.0.0/16',
      jurisdiction: 'us',
    },
    {
      id: 'eu-west',
      displayName: 'EU West (Ireland)',
      awsRegion: 'eu-west-1',
      origin: 'https://eu-west.api.meridian.example',
      cidr: '10.20.0.0/16',
      jurisdiction: 'eu',
    },
    {
      id: 'ap-south',
      displayName: 'AP South (Mumbai)',
      awsRegion: 'ap-south-1',
      origin: 'https://ap-south.api.meridian.example',
      cidr: '10.30.0.0/16',
      jurisdiction: 'in',
    },
  ],
})
