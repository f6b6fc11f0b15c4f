import { AssignerProtocol, type PartitionAssigner } from 'kafkajs'

/**
 * A partition assigner for hot merchants' dedicated consumers. A member may claim partitions in
 * its metadata (userData: JSON `{"claims": {"topic": [p, …]}}`); claimed partitions go only to
 * their claimant, and everything else is shared round-robin among the members that claim nothing.
 * Every member of a group must run this assigner (kafkajs picks a protocol all members support).
 */
export const dedicatedAssignerName = 'MeridianDedicatedAssigner'

interface Claims {
  claims?: Record<string, number[]>
}

export function dedicatedAssigner(
  claims: Readonly<Record<string, readonly number[]>>,
): PartitionAssigner {
  return ({ cluster }) => ({
    name: dedicatedAssignerName,
    version: 1,
    async assign({ members, topics }) {
      const claimed = new Map<string, string>()
      const shared: string[] = []
      for (const m of [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
        const data = meta?.userData?.length
          ? (JSON.parse(meta.userData.toString('utf8')) as Claims)
          : {}
        const mine = Object.entries(data.claims ?? {})
        if (mine.length === 0) shared.push(m.memberId)
        for (const [topic, partitions] of mine)
          for (const p of partitions) claimed.set(`${topic}/${p}`, m.memberId)
      }
      const assignment: Record<string, Record<string, number[]>> = {}
      const give = (member: string, topic: string, partition: number) => {
        assignment[member] ??= {}
        const forMember = assignment[member]
        forMember[topic] = [...(forMember[topic] ?? []), partition]
      }
      let next = 0
      for (const topic of topics) {
        for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
          const owner = claimed.get(`${topic}/${partitionId}`)
          if (owner) give(owner, topic, partitionId)
          else if (shared.length > 0)
            give(shared[next++ % shared.length] as string, topic, partitionId)
        }
      }
      return members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: assignment[memberId] ?? {},
          userData: Buffer.alloc(0),
        }),
      }))
    },
    protocol({ topics }) {
      return {
        name: dedicatedAssignerName,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(JSON.stringify({ claims })),
        }),
      }
    },
  })
}
