import { setTimeout as sleep } from 'node:timers/promises'
import { dedicatedRedis } from '../database/redis'
import type { RedisClient } from '../database/redis'

/**
 * The deployment's events stream on Redis (a Redis Stream): each instance appends what it sends
 * (`StreamWriter`) and reads everything from the last entry it read (`StreamReader`). Unlike
 * Pub/Sub, an entry stays on the stream while a reader is away: a reader that reconnects, after
 * its own connection dropped or after Redis restarted, resumes where it stopped.
 */

/**
 * A command that has not answered after this long is taken for a dead connection (a frozen
 * network answers nothing, and TCP can take minutes to notice): the connection is replaced.
 */
const COMMAND_TIMEOUT_MS = 5000
/** How long a reader's XREAD waits for new entries before asking again. */
const BLOCK_MS = 1000
/** How long the stream outlives the last entry written (heartbeats included). */
const STREAM_TTL_MS = 60 * 60_000
/** Entries per batch of XADDs. */
const WRITE_BATCH = 500
/** Entries per XREAD: what one reply can hold is bounded (an entry may be up to 1 MB; anyone who reaches Redis can append). */
const READ_BATCH = 100
/** How often a reader or writer that could not reach Redis tries again (node-redis reconnects meanwhile). */
const RETRY_MS = 100

type Settled = PromiseSettledResult<unknown>

/** A Redis connection of its own, replaced by a new one when a command stalls. */
class Connection {
  client: RedisClient
  private closed = false

  constructor(
    private readonly base: RedisClient,
    private readonly name: string,
    private readonly events: { ready(): void; error(error: unknown): void }
  ) {
    this.client = this.open()
  }

  get isReady() {
    return this.client.isReady
  }

  /** Resolves once connected for the first time; rejects on the first failure. */
  firstConnection() {
    return new Promise<void>((resolve, reject) => {
      if (this.client.isReady) return resolve()
      this.client.once('ready', resolve).once('error', reject)
    })
  }

  /**
   * Sends `commands` together (node-redis pipelines the commands of one tick); each is settled
   * with its reply or its failure. Without any answer within `ms`, all fail and the connection is
   * replaced.
   */
  async sendAll(commands: string[][], ms: number): Promise<Settled[]> {
    const client = this.client
    const replies = commands.map(async (args) => client.sendCommand(args))
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms)
    })
    const settled = await Promise.race([Promise.allSettled(replies), timedOut])
    clearTimeout(timer)
    if (settled) {
      return settled
    }
    replies.forEach((reply) => reply.catch(() => undefined))
    if (this.client === client && !this.closed) {
      this.replace()
    }
    const reason = new Error(`Redis did not answer within ${ms} ms`)
    return commands.map(() => ({ status: 'rejected', reason }))
  }

  async send(args: string[], ms = COMMAND_TIMEOUT_MS): Promise<unknown> {
    const [reply] = await this.sendAll([args], ms)
    if (reply.status === 'rejected') throw reply.reason
    return reply.value
  }

  close() {
    this.closed = true
    destroy(this.client)
  }

  private open() {
    const client = dedicatedRedis(this.base, this.name)
    client.on('ready', this.events.ready).on('error', this.events.error)
    // It reconnects by itself (reporting each failure as an 'error'): the promise only ends when it is closed.
    client.connect().catch(() => undefined)
    return client
  }

  private replace() {
    const stalled = this.client
    stalled.removeAllListeners()
    stalled.on('error', () => undefined)
    destroy(stalled)
    this.client = this.open()
  }
}

function destroy(client: RedisClient) {
  try {
    client.destroy()
  } catch {
    // already closed
  }
}

/** An entry to append: its message, its size, and whether it is numbered (kept for a resend). */
export interface Outgoing {
  message: string
  bytes: number
  numbered: boolean
  /** The entry's fields, made when it is first written (`StreamWriterOptions.fieldsOf`). */
  fields?: string[]
}

interface Sent extends Outgoing {
  at: number
}

export interface StreamWriterOptions {
  redis: RedisClient
  key: string
  /** The stream is trimmed to about this many entries. */
  maxLength: number
  /** What this instance holds (waiting, and sent but kept for a resend) at most: entries and bytes. */
  maxEntries: number
  maxBytes: number
  /** How long a written entry is kept to be written again after a reconnect. */
  replayMs: number
  /** The fields of an entry (it is signed there): made when the entry is first written, not when it is pushed. */
  fieldsOf(message: string): string[]
  /** The numbered entries dropped past the bound. */
  onOverflow(dropped: number): void
  onReady(): void
  onError(error: unknown): void
}

/**
 * Appends entries in the order they were pushed, one batch at a time. While Redis cannot be
 * reached (or does not answer) they wait here, at most `maxEntries` and `maxBytes`: past that, the
 * waiting ones are dropped (the readers see the gap in the numbers). Entries already written are
 * kept for `replayMs` and written again after every reconnect: those that Redis lost in a restart
 * before every reader had them are read again, and readers drop the ones they had.
 */
export class StreamWriter {
  private pending: Outgoing[] = []
  private sent: Sent[] = []
  /** Numbered entries held (waiting or sent), and the bytes of all held. */
  private numbered = 0
  private bytes = 0
  /** The first `inFlight` entries of `pending` are being written. */
  private inFlight = 0
  private replayDue = false
  private expirySetAt = 0
  private flushSoon?: NodeJS.Immediate
  private retry?: NodeJS.Timeout
  private readonly connection: Connection

  constructor(private readonly options: StreamWriterOptions) {
    this.connection = new Connection(options.redis, 'healthcare-api:events-writer', {
      ready: () => {
        this.replayDue = true
        this.expirySetAt = 0 // a restarted Redis has a new stream
        options.onReady()
        void this.flush()
      },
      error: options.onError
    })
  }

  get connected() {
    return this.connection.isReady
  }

  /** Entries not yet written. */
  get waiting() {
    return this.pending.length
  }

  firstConnection() {
    return this.connection.firstConnection()
  }

  /**
   * Written soon: the entries pushed in one turn of the event loop are written together, after
   * the turn (the answer to the call that made them does not wait for their signature either).
   */
  push(entry: Outgoing) {
    this.pending.push(entry)
    this.hold(entry, 1)
    this.makeRoom()
    this.flushSoon ??= setImmediate(() => {
      this.flushSoon = undefined
      void this.flush()
    })
  }

  /** Waits up to `ms` for the waiting entries to be written, then closes; answers how many were not. */
  async close(ms: number) {
    const deadline = Date.now() + ms
    while (this.pending.length > 0 && this.connection.isReady && Date.now() < deadline) {
      await sleep(20)
    }
    clearTimeout(this.retry)
    clearImmediate(this.flushSoon)
    this.connection.close()
    return this.pending.filter(({ numbered }) => numbered).length
  }

  private hold(entry: Outgoing, sign: 1 | -1) {
    this.bytes += sign * entry.bytes
    if (entry.numbered) this.numbered += sign
  }

  /** Heartbeats count in bytes only: the bound is in events. */
  private overBound() {
    return this.numbered > this.options.maxEntries || this.bytes > this.options.maxBytes
  }

  /** The entries kept for a resend go first; past the bound still, every waiting one not in flight. */
  private makeRoom() {
    while (this.sent.length > 0 && this.overBound()) {
      this.hold(this.sent.shift()!, -1)
    }
    if (this.overBound()) {
      const dropped = this.pending.splice(this.inFlight)
      dropped.forEach((entry) => this.hold(entry, -1))
      this.options.onOverflow(dropped.filter(({ numbered }) => numbered).length)
    }
  }

  private async flush(): Promise<void> {
    if (this.inFlight > 0 || !this.connection.isReady) {
      return
    }
    if (this.replayDue) {
      this.replayDue = false
      this.pending.unshift(...this.sent)
      this.sent = []
    }
    if (this.pending.length === 0) {
      return
    }
    const batch = this.pending.slice(0, WRITE_BATCH)
    this.inFlight = batch.length
    const { key, maxLength } = this.options
    const commands = batch.map((entry) => {
      entry.fields ??= this.options.fieldsOf(entry.message)
      return ['XADD', key, 'MAXLEN', '~', String(maxLength), '*', ...entry.fields]
    })
    const replies = await this.connection.sendAll([...commands, ...this.expiry()], COMMAND_TIMEOUT_MS)
    this.inFlight = 0
    const failed = replies.slice(0, batch.length).findIndex(({ status }) => status === 'rejected')
    // `makeRoom` never drops what is in flight: the batch is still at the head.
    this.keep(this.pending.splice(0, failed === -1 ? batch.length : failed))
    if (failed === -1) {
      return this.flush()
    }
    this.options.onError((replies[failed] as PromiseRejectedResult).reason)
    // Written again after a reconnect ('ready'), or after a refusal by a connected Redis (a key of another type).
    clearTimeout(this.retry)
    this.retry = setTimeout(() => void this.flush(), RETRY_MS * 10).unref()
  }

  /**
   * Now and then, the stream's time to live set again: the stream of a deployment whose instances
   * have all stopped (a test run's, a benchmark's) goes after a while instead of staying in a shared Redis.
   */
  private expiry() {
    const now = Date.now()
    if (now - this.expirySetAt < STREAM_TTL_MS / 10) return []
    this.expirySetAt = now
    return [['PEXPIRE', this.options.key, String(STREAM_TTL_MS)]]
  }

  private keep(written: Outgoing[]) {
    const now = Date.now()
    for (const entry of written) {
      if (entry.numbered) {
        this.sent.push({ ...entry, at: now })
      } else {
        this.hold(entry, -1)
      }
    }
    while (this.sent.length > 0 && this.sent[0].at < now - this.options.replayMs) {
      this.hold(this.sent.shift()!, -1)
    }
  }
}

/** A stream entry's id, `<ms>-<n>`, compared as Redis orders them. */
function compareIds(a: string, b: string) {
  const [aMs, aSeq] = a.split('-').map(Number)
  const [bMs, bSeq] = b.split('-').map(Number)
  return aMs - bMs || aSeq - bSeq
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/

/** The entries of an XREAD or XRANGE reply, `[id, fields]`; anything else is skipped. */
function entriesOf(entries: unknown): Array<[string, unknown]> {
  if (!Array.isArray(entries)) return []
  return entries.filter(
    (entry): entry is [string, unknown] =>
      Array.isArray(entry) && typeof entry[0] === 'string' && STREAM_ID.test(entry[0])
  )
}

export interface StreamReaderOptions {
  redis: RedisClient
  key: string
  /** Each batch of entries read, in stream order. */
  onEntries(entries: Array<[string, unknown]>): void
  onReady(): void
  onError(error: unknown): void
}

/**
 * Reads the stream from the entry after the last one read, on a connection of its own (XREAD
 * blocks it). It starts after the newest entry there is; after a reconnect it goes on from where
 * it stopped, unless the stream is not the one it was reading (Redis restarted without its data:
 * the stream is empty or ends before that entry), which it then reads from its start.
 */
export class StreamReader {
  private lastId?: string
  private positioned = false
  private stopped = false
  private running?: Promise<void>
  private readonly connection: Connection

  constructor(private readonly options: StreamReaderOptions) {
    this.connection = new Connection(options.redis, 'healthcare-api:events-reader', {
      ready: () => {
        this.positioned = false
        options.onReady()
      },
      error: options.onError
    })
  }

  get connected() {
    return this.connection.isReady && this.positioned
  }

  /** Resolves once connected and placed at the end of the stream; rejects if Redis cannot be reached. */
  async start() {
    await this.connection.firstConnection()
    await this.position()
    this.running = this.read()
  }

  async stop() {
    this.stopped = true
    this.connection.close()
    await this.running
  }

  private async read() {
    while (!this.stopped) {
      if (!this.connection.isReady) {
        await sleep(RETRY_MS)
        continue
      }
      try {
        if (!this.positioned) await this.position()
        const reply = await this.connection.send(
          [
            'XREAD',
            'COUNT',
            String(READ_BATCH),
            'BLOCK',
            String(BLOCK_MS),
            'STREAMS',
            this.options.key,
            this.lastId!
          ],
          BLOCK_MS + COMMAND_TIMEOUT_MS
        )
        this.deliver(reply)
      } catch (error) {
        this.positioned = false
        if (!this.stopped) {
          this.options.onError(error)
          await sleep(RETRY_MS)
        }
      }
    }
  }

  private deliver(reply: unknown) {
    // `[[key, [[id, fields], …]]]`, or null when nothing came within BLOCK_MS.
    const entries = Array.isArray(reply) && Array.isArray(reply[0]) ? entriesOf(reply[0][1]) : []
    if (entries.length > 0) {
      this.lastId = entries[entries.length - 1][0]
      this.options.onEntries(entries)
    }
  }

  private async position() {
    const [newest] = entriesOf(
      await this.connection.send(['XREVRANGE', this.options.key, '+', '-', 'COUNT', '1'])
    )
    if (this.lastId === undefined) {
      this.lastId = newest?.[0] ?? '0-0'
    } else if (!newest || compareIds(newest[0], this.lastId) < 0) {
      // A stream that Redis began again: all of it is new to this reader.
      this.lastId = '0-0'
    }
    this.positioned = true
  }
}
