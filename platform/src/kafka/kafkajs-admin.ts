/** Topic administration over kafkajs: create, list, partition counts and offsets. */
import type { Admin, Kafka } from 'kafkajs'
import type { BusAdmin } from './bus.ts'

export async function connectAdmin(kafka: Kafka): Promise<BusAdmin> {
  const admin: Admin = kafka.admin()
  await admin.connect()
  return {
    async createTopics(topics) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      })
    },
    listTopics: () => admin.listTopics(),
    async partitionCount(topic) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] })
      return meta.topics[0]?.partitions.length ?? 0
    },
    async endOffsets(topic) {
      const offsets = await admin.fetchTopicOffsets(topic)
      return new Map(offsets.map((o) => [o.partition, o.high]))
    },
    async groupOffsets(groupId, topic) {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
      return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]))
    },
    close: () => admin.disconnect(),
  }
}
