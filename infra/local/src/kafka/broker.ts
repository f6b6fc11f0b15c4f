import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { canConnect, freePort } from '../ports.ts'
import { KafkaSetupError, kafkaClasspath, kafkaDir } from './classpath.ts'

const run = promisify(execFile)

export const brokerStartMsMax = 90_000
export const brokerStopMsMax = 30_000
export const brokerHeapMbDefault = 256
const startedLine = 'Kafka Server started'

export interface BrokerOptions {
  /** Used in paths and log lines, e.g. the region id. */
  readonly name: string
  /** Keep data here (kept after stop); default: a fresh temp dir removed by destroy(). */
  readonly dataDir?: string
  readonly port?: number
  readonly heapMb?: number
  readonly log?: (line: string) => void
}

function serverProperties(dir: string, port: number, controllerPort: number): string {
  return `# Written by infra/local/src/kafka/broker.ts: one combined KRaft broker+controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${join(dir, 'data')}
# A single local broker: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
default.replication.factor=1
num.partitions=1
# Topics are created on purpose, with their partition counts; a typo must not make a new topic.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# A broker started again on its data (the kafka-down drill) may register only once the session
# of its previous incarnation expired: 9 s by default, then its back-off made restarts take 15 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
# Few threads: three brokers share two cores with Postgres, Redis and the services.
num.network.threads=2
num.io.threads=2
background.threads=2
log.cleaner.threads=1
num.recovery.threads.per.data.dir=1
`
}

const log4jProperties = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.kafka.log.LogCleaner=WARN
`

/**
 * Kafka cluster ids are 16 random bytes in URL-safe base64 without padding. Like Kafka's own
 * Uuid.randomUuid, never start one with '-': the storage tool would read it as an option.
 */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)'
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
}

/**
 * One Apache Kafka broker in KRaft mode (combined broker and controller), run from the jars Maven
 * resolved. It can be stopped and started again on the same port and data (the kafka-down drill
 * does that), killed hard, or destroyed with its temp dir.
 */
export class KafkaBroker {
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
    private readonly ownsDir: boolean,
    private readonly classpath: string,
    private readonly heapMb: number,
    private readonly log: (line: string) => void,
  ) {}

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`
  }

  /** The process group of the wrapper and its JVM (what a bench reads the broker's CPU from). */
  get processGroup(): number | undefined {
    return this.running ? this.child?.pid : undefined
  }

  get logFile(): string {
    return join(this.dir, 'broker.log')
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    )
  }

  static async start(options: BrokerOptions): Promise<KafkaBroker> {
    const log = options.log ?? (() => {})
    const classpath = await kafkaClasspath(log)
    const ownsDir = options.dataDir === undefined
    const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), `meridian-kafka-${options.name}-`))
    mkdirSync(dir, { recursive: true })
    const port = options.port ?? (await freePort())
    const controllerPort = await freePort()
    const broker = new KafkaBroker(
      options.name,
      dir,
      port,
      ownsDir,
      classpath,
      options.heapMb ?? brokerHeapMbDefault,
      log,
    )
    writeFileSync(join(dir, 'server.properties'), serverProperties(dir, port, controllerPort))
    writeFileSync(join(dir, 'log4j.properties'), log4jProperties)
    if (!existsSync(join(dir, 'data', 'meta.properties'))) await broker.format()
    await broker.launch()
    return broker
  }

  private javaArgs(): string[] {
    return [
      `-Xms64m`,
      `-Xmx${this.heapMb}m`,
      // Serial GC and fewer compiler threads: small brokers on a small machine start faster.
      '-XX:+UseSerialGC',
      '-XX:CICompilerCount=2',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${join(this.dir, 'log4j.properties')}`,
      `-Dkafka.logs.dir=${this.dir}`,
    ]
  }

  private async format(): Promise<void> {
    try {
      await run(
        'java',
        [
          ...this.javaArgs(),
          'kafka.tools.StorageTool',
          'format',
          '-t',
          newClusterId(),
          '-c',
          join(this.dir, 'server.properties'),
        ],
        { env: { ...process.env, CLASSPATH: this.classpath }, timeout: 60_000 },
      )
    } catch (error) {
      throw new KafkaSetupError(
        `formatting Kafka storage for ${this.name} failed: ${String(error)}`,
      )
    }
  }

  /** Start the JVM again on the same port and data (after stop or kill). */
  async launch(): Promise<void> {
    if (this.running) return
    const started = Date.now()
    const out = openSync(this.logFile, 'a')
    const child = spawn(
      join(kafkaDir, '..', 'bin', 'run-tied.sh'),
      ['java', ...this.javaArgs(), 'kafka.Kafka', join(this.dir, 'server.properties')],
      {
        env: { ...process.env, CLASSPATH: this.classpath },
        stdio: ['ignore', out, out],
        // Its own process group, so kill() can take the wrapper and the JVM down together.
        detached: true,
      },
    )
    closeSync(out)
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    const offset = existsSync(this.logFile) ? readFileSync(this.logFile).length : 0
    await this.waitReady(offset, started)
    this.log(
      `kafka ${this.name}: KRaft broker up at ${this.bootstrap} in ${Date.now() - started} ms (log ${this.logFile})`,
    )
  }

  private async waitReady(logOffset: number, started: number): Promise<void> {
    for (;;) {
      if (!this.running) {
        throw new KafkaSetupError(
          `Kafka broker ${this.name} exited during start-up:\n${tail(this.logFile, 30)}`,
        )
      }
      const text = readFileSync(this.logFile).subarray(logOffset).toString('utf8')
      if (text.includes(startedLine) && (await canConnect(this.port))) return
      if (Date.now() - started > brokerStartMsMax) {
        await this.kill()
        throw new KafkaSetupError(
          `Kafka broker ${this.name} not ready after ${brokerStartMsMax} ms:\n${tail(this.logFile, 30)}`,
        )
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Controlled shutdown; data stays. Falls back to a hard kill after brokerStopMsMax. */
  async stop(): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => void this.kill(), brokerStopMsMax)
    await this.exited
    clearTimeout(timer)
  }

  /** Hard crash: SIGKILL the wrapper and the JVM. Data stays; launch() recovers from it. */
  async kill(): Promise<void> {
    const child = this.child
    if (!child?.pid || !this.running) return
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // Already gone between the check and the signal.
    }
    await this.exited
  }

  /**
   * Freeze the JVM (SIGSTOP): connections stay open and requests queue unanswered, as on a broker
   * stalled by a long pause. resume() lets it go on with everything it was sent meanwhile.
   */
  pause(): void {
    this.signal('SIGSTOP')
  }

  resume(): void {
    this.signal('SIGCONT')
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid
    if (!pid || !this.running) throw new Error(`Kafka broker ${this.name} is not running`)
    process.kill(-pid, signal)
  }

  /** Stop and remove the temp dir this broker made (a caller-provided dataDir is kept). */
  async destroy(): Promise<void> {
    await this.stop()
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true })
  }
}
