import { AssignerProtocol, type PartitionAssigner } from 'kafkajs'

/**
 * A partition assigner for hot merchants' dedicated consumers. A member may claim partitions in
 * its metadata (userData: JSON `{"claims": {"topic": [p, …]}}`); claimed partitions go only to
 * their claimant, and everything else is shared round-robin among the members that claim nothing.
 * Every member of a group must run this assigner (the group picks a protocol all members support).
 * `assignDedicated` is the rule; each client adapter wraps it in its own assigner interface.
 */
export const dedicatedAssignerName = 'MeridianDedicatedAssigner'

export type Claims = Readonly<Record<string, readonly number[]>>

export function encodeClaims(claims: Claims): Buffer {
  return Buffer.from(JSON.stringify({ claims }))
}

export function decodeClaims(userData: Buffer | null | undefined): Claims {
  if (!userData?.length) return {}
  return (JSON.parse(userData.toString('utf8')) as { claims?: Claims }).claims ?? {}
}

/** Member id → topic → partitions. Members are ordered by id, so every leader computes the same. */
export function assignDedicated(
  members: readonly { readonly memberId: string; readonly claims: Claims }[],
  partitionsOf: (topic: string) => readonly number[],
  topics: Iterable<string>,
): Map<string, Record<string, number[]>> {
  const claimed = new Map<string, string>()
  const shared: string[] = []
  for (const m of [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
    const mine = Object.entries(m.claims)
    if (mine.length === 0) shared.push(m.memberId)
    for (const [topic, partitions] of mine)
      for (const p of partitions) claimed.set(`${topic}/${p}`, m.memberId)
  }
  const assignment = new Map<string, Record<string, number[]>>()
  const give = (member: string, topic: string, partition: number) => {
    const forMember = assignment.get(member) ?? {}
    forMember[topic] = [...(forMember[topic] ?? []), partition]
    assignment.set(member, forMember)
  }
  let next = 0
  for (const topic of topics) {
    for (const partition of partitionsOf(topic)) {
      const owner = claimed.get(`${topic}/${partition}`)
      if (owner) give(owner, topic, partition)
      else if (shared.length > 0) give(shared[next++ % shared.length] as string, topic, partition)
    }
  }
  return assignment
}

/** The kafkajs form of the assigner. */
export function dedicatedAssigner(claims: Claims): PartitionAssigner {
  return ({ cluster }) => ({
    name: dedicatedAssignerName,
    version: 1,
    async assign({ members, topics }) {
      const assignment = assignDedicated(
        members.map((m) => ({
          memberId: m.memberId,
          claims: decodeClaims(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData),
        })),
        (topic) => cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId),
        topics,
      )
      return members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: assignment.get(memberId) ?? {},
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
          userData: encodeClaims(claims),
        }),
      }
    },
  })
}
