/**
 * Test equipment, not a product: a local server speaking LiveKit's agent worker protocol (the
 * `/agent` WebSocket, protobuf `WorkerMessage`s in and `ServerMessage`s out). It checks the
 * worker's access token, registers workers, dispatches jobs and terminates them, and records every
 * message.
 *
 * No SFU (media server) can run here, so a job's room URL leads nowhere useful: by default a port
 * where nothing listens, so the job process's `ctx.connect()` is refused at once and the failure
 * path runs deterministically in milliseconds; `stallingRoomUrl` keeps a job connecting for a
 * known time instead (a job that is still running when the test acts).
 */
import {
  AvailabilityRequest,
  type AvailabilityResponse,
  Job,
  JobAssignment,
  JobState,
  JobStatus,
  JobTermination,
  JobType,
  ParticipantInfo,
  RegisterWorkerResponse,
  Room,
  ServerInfo,
  ServerMessage,
  WorkerMessage,
  WorkerPong,
  WorkerStatus,
} from '@livekit/protocol';
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES, createServer } from 'node:http';
import {
  type AddressInfo,
  type Server,
  type Socket,
  createServer as createTcpServer,
} from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { TokenError, signToken, verifyToken } from './livekit-token.js';

export { JobStatus, WorkerStatus };

export interface LiveKitServerOptions {
  apiKey: string;
  apiSecret: string;
  /** Hold every RegisterWorkerResponse until `releaseRegistrations()` (the worker stays "connecting"). */
  holdRegistration?: boolean;
  /** How long `stallingRoomUrl` holds a connection before dropping it (default 3 s). */
  roomStallMs?: number;
}

export interface WorkerRecord {
  readonly id: string;
  readonly connection: number;
  readonly agentName: string;
  readonly version: string;
  readonly jobType: JobType;
  readonly registeredAt: number;
  /** What the worker last reported in UpdateWorkerStatus. */
  status: WorkerStatus;
  load: number;
  jobCount: number;
  connected: boolean;
}

interface LoggedBase {
  at: number;
  connection: number;
  /** The protobuf oneof case, or `text` / `unparseable` / `unknown` for what the server ignored. */
  kind: string;
}

export type LoggedMessage =
  | (LoggedBase & { from: 'worker'; message?: WorkerMessage | undefined })
  | (LoggedBase & { from: 'server'; message: ServerMessage });

export interface JobStatusReport {
  at: number;
  jobId: string;
  status: JobStatus;
  error: string;
}

export interface RejectedConnection {
  at: number;
  status: number;
  reason: string;
}

export interface DispatchOptions {
  roomName: string;
  /** Sent as the job's participant (the caller), when given. */
  participantIdentity?: string;
  /** The worker to ask (default: the first connected one). */
  workerId?: string;
  /** Room URL in the assignment (default `unreachableRoomUrl`). */
  roomUrl?: string;
  /** How long to wait for the worker's availability answer (default 5 s). */
  timeoutMs?: number;
}

export interface Dispatch {
  jobId: string;
  job: Job;
  workerId: string;
  availability: AvailabilityResponse;
  /** Only when the worker said it was available. */
  assignment?: JobAssignment;
  requestedAt: number;
  answeredAt: number;
  assignedAt?: number;
}

export interface LiveKitServer {
  /** `ws://127.0.0.1:PORT`, as LIVEKIT_URL. */
  readonly url: string;
  /** Nothing listens there: the rtc client's connect is refused at once (the default room URL). */
  readonly unreachableRoomUrl: string;
  /** Accepts TCP, says nothing, drops the connection after `roomStallMs`: a job that runs a while. */
  readonly stallingRoomUrl: string;
  /** Connections the stalling room server accepted (each one a connect attempt of a job). */
  readonly roomConnectAttempts: number;
  readonly workers: readonly WorkerRecord[];
  readonly messages: readonly LoggedMessage[];
  /** UpdateJobStatus reports (@livekit/agents 1.9 for Node sends none: its worker never does). */
  readonly jobStatuses: readonly JobStatusReport[];
  readonly rejectedConnections: readonly RejectedConnection[];
  waitForWorker(timeoutMs?: number): Promise<WorkerRecord>;
  /** Resolves with the first logged message (already logged or to come) that matches. */
  waitForMessage(match: (m: LoggedMessage) => boolean, timeoutMs?: number): Promise<LoggedMessage>;
  releaseRegistrations(): void;
  dispatchJob(options: DispatchOptions): Promise<Dispatch>;
  terminateJob(jobId: string): void;
  close(): Promise<void>;
}

const id = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

interface Connection {
  index: number;
  ws: WebSocket;
  worker?: WorkerRecord;
  heldRegistration?: (() => void) | undefined;
}

class LocalLiveKitServer implements LiveKitServer {
  url = '';
  unreachableRoomUrl = '';
  stallingRoomUrl = '';
  roomConnectAttempts = 0;
  readonly workers: WorkerRecord[] = [];
  readonly messages: LoggedMessage[] = [];
  readonly jobStatuses: JobStatusReport[] = [];
  readonly rejectedConnections: RejectedConnection[] = [];
  readonly #http = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('only the /agent WebSocket is served');
  });
  readonly #wss = new WebSocketServer({ noServer: true });
  // A room server that hangs, then fails: the job stays in ctx.connect() for a known time. (A
  // connection that is never answered would take the rtc client's 15 s timeout.)
  readonly #stalling = createTcpServer((socket) => {
    this.roomConnectAttempts++;
    this.#stalledSockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.#stalledSockets.delete(socket));
    setTimeout(() => socket.destroy(), this.options.roomStallMs ?? 3_000).unref();
  });
  readonly #stalledSockets = new Set<Socket>();
  readonly #connections: Connection[] = [];
  readonly #answers = new Map<string, AvailabilityResponse>();
  readonly #jobs = new Map<string, Connection>();
  readonly #waiters = new Set<() => void>();
  #closing?: Promise<void>;

  constructor(private readonly options: LiveKitServerOptions) {
    this.#http.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
  }

  async listen(): Promise<void> {
    const port = await listen(this.#http);
    this.url = `ws://127.0.0.1:${port}`;
    this.stallingRoomUrl = `ws://127.0.0.1:${await listen(this.#stalling)}`;
    this.unreachableRoomUrl = `ws://127.0.0.1:${await closedPort()}`;
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined); // a client that hangs up mid-handshake is no failure here
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (path !== '/agent') return this.#refuse(socket, 404, `no WebSocket at ${path}`);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) return this.#refuse(socket, 401, 'missing access token');
    try {
      const claims = verifyToken(bearer, this.options);
      if (claims.video?.agent !== true)
        return this.#refuse(socket, 401, 'token lacks the agent grant');
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      return this.#refuse(socket, 401, error.message);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  #accept(ws: WebSocket): void {
    const connection: Connection = { index: this.#connections.length, ws };
    this.#connections.push(connection);
    ws.on('message', (data, isBinary) => this.#receive(connection, data, isBinary));
    ws.on('close', () => {
      if (connection.worker) connection.worker.connected = false;
      this.#notify();
    });
    ws.on('error', () => undefined); // a reset worker socket ends in 'close' as well
  }

  #receive(connection: Connection, data: RawData, isBinary: boolean): void {
    const log = (kind: string, message?: WorkerMessage) => {
      this.messages.push({
        at: Date.now(),
        from: 'worker',
        connection: connection.index,
        kind,
        message,
      });
      this.#notify();
    };
    if (!isBinary) return log('text');
    let message: WorkerMessage;
    try {
      message = WorkerMessage.fromBinary(toBytes(data));
    } catch {
      return log('unparseable');
    }
    const { message: body } = message;
    switch (body.case) {
      case 'register':
        this.#register(connection, body.value.agentName, body.value.version, body.value.type);
        break;
      case 'availability':
        this.#answers.set(body.value.jobId, body.value);
        break;
      case 'updateWorker':
        if (connection.worker) {
          if (body.value.status !== undefined) connection.worker.status = body.value.status;
          connection.worker.load = body.value.load;
          connection.worker.jobCount = body.value.jobCount;
        }
        break;
      case 'updateJob':
        this.jobStatuses.push({ at: Date.now(), ...pick(body.value) });
        break;
      case 'ping':
        this.#send(connection, {
          case: 'pong',
          value: new WorkerPong({
            lastTimestamp: body.value.timestamp,
            timestamp: BigInt(Date.now()),
          }),
        });
        break;
      default:
        // simulateJob, migrateJob and fields newer than this server: logged, never fatal.
        break;
    }
    log(body.case ?? 'unknown', message);
  }

  #register(connection: Connection, agentName: string, version: string, jobType: JobType): void {
    if (connection.worker || connection.heldRegistration) return; // only valid once per connection
    const respond = () => {
      const worker: WorkerRecord = {
        id: id('AW_'),
        connection: connection.index,
        agentName,
        version,
        jobType,
        registeredAt: Date.now(),
        status: WorkerStatus.WS_AVAILABLE,
        load: 0,
        jobCount: 0,
        connected: true,
      };
      connection.worker = worker;
      this.workers.push(worker);
      this.#send(connection, {
        case: 'register',
        value: new RegisterWorkerResponse({
          workerId: worker.id,
          serverInfo: new ServerInfo({
            version: 'local-test',
            nodeId: 'local-test-node',
            region: 'local',
          }),
        }),
      });
    };
    if (this.options.holdRegistration) connection.heldRegistration = respond;
    else respond();
  }

  #refuse(socket: Duplex, status: number, reason: string): void {
    this.rejectedConnections.push({ at: Date.now(), status, reason });
    this.#notify();
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain\r\n` +
        `content-length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
    );
  }

  releaseRegistrations(): void {
    this.options.holdRegistration = false;
    for (const connection of this.#connections) {
      const respond = connection.heldRegistration;
      connection.heldRegistration = undefined;
      if (respond && connection.ws.readyState === connection.ws.OPEN) respond();
    }
  }

  #send(connection: Connection, message: ServerMessage['message']): void {
    const envelope = new ServerMessage({ message });
    this.messages.push({
      at: Date.now(),
      from: 'server',
      connection: connection.index,
      kind: message.case ?? 'unknown',
      message: envelope,
    });
    connection.ws.send(envelope.toBinary());
    this.#notify();
  }

  waitForWorker(timeoutMs = 10_000): Promise<WorkerRecord> {
    return this.#until(
      () => this.workers.find((w) => w.connected),
      timeoutMs,
      'a registered worker',
    );
  }

  waitForMessage(match: (m: LoggedMessage) => boolean, timeoutMs = 10_000): Promise<LoggedMessage> {
    return this.#until(() => this.messages.find(match), timeoutMs, 'a matching worker message');
  }

  async dispatchJob({
    roomName,
    participantIdentity,
    workerId,
    roomUrl = this.unreachableRoomUrl,
    timeoutMs = 5_000,
  }: DispatchOptions): Promise<Dispatch> {
    const connection = this.#connections.find(
      (c) => c.worker?.connected && (workerId === undefined || c.worker.id === workerId),
    );
    if (!connection?.worker)
      throw new Error(`no connected worker${workerId ? ` ${workerId}` : ''}`);
    const worker = connection.worker;
    const job = new Job({
      id: id('AJ_'),
      dispatchId: id('AD_'),
      type: JobType.JT_ROOM,
      room: new Room({
        sid: id('RM_'),
        name: roomName,
        creationTime: BigInt(Math.floor(Date.now() / 1000)),
      }),
      ...(participantIdentity
        ? { participant: new ParticipantInfo({ sid: id('PA_'), identity: participantIdentity }) }
        : {}),
      agentName: worker.agentName,
      // As LiveKit does: the job is stamped running (ns, server clock) when it is offered.
      state: new JobState({
        status: JobStatus.JS_RUNNING,
        startedAt: BigInt(Date.now()) * 1_000_000n,
        updatedAt: BigInt(Date.now()) * 1_000_000n,
        workerId: worker.id,
      }),
    });
    const requestedAt = Date.now();
    // Sent whatever status the worker reported, so tests see what a draining worker answers.
    this.#send(connection, {
      case: 'availability',
      value: new AvailabilityRequest({ job, resuming: false }),
    });
    const availability = await this.#until(
      () => this.#answers.get(job.id),
      timeoutMs,
      `availability answer for ${job.id}`,
    );
    const dispatch: Dispatch = {
      jobId: job.id,
      job,
      workerId: worker.id,
      availability,
      requestedAt,
      answeredAt: Date.now(),
    };
    if (!dispatch.availability.available) return dispatch;

    const identity = dispatch.availability.participantIdentity || `agent-${job.id}`;
    job.state!.participantIdentity = identity;
    dispatch.assignment = new JobAssignment({
      job,
      url: roomUrl,
      token: signToken(
        {
          iss: this.options.apiKey,
          sub: identity,
          name: dispatch.availability.participantName,
          kind: 'agent',
          video: {
            room: roomName,
            roomJoin: true,
            agent: true,
            canPublish: true,
            canSubscribe: true,
          },
        },
        this.options.apiSecret,
      ),
    });
    this.#jobs.set(job.id, connection);
    this.#send(connection, { case: 'assignment', value: dispatch.assignment });
    dispatch.assignedAt = Date.now();
    return dispatch;
  }

  terminateJob(jobId: string): void {
    const connection = this.#jobs.get(jobId);
    if (!connection) throw new Error(`job ${jobId} was never assigned`);
    this.#send(connection, { case: 'termination', value: new JobTermination({ jobId }) });
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check();
  }

  /** Polls `check` on every event until it returns something, or fails after `timeoutMs`. */
  #until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(poll);
      };
      const poll = () => {
        if (this.#closing) {
          done();
          return reject(new Error(`local LiveKit server closed while waiting for ${what}`));
        }
        const value = check();
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(poll);
      poll();
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#notify();
      for (const { ws } of this.#connections) ws.terminate();
      for (const socket of this.#stalledSockets) socket.destroy();
      this.#wss.close();
      this.#http.closeAllConnections();
      await Promise.all([closeServer(this.#http), closeServer(this.#stalling)]);
    })();
    return this.#closing;
  }
}

function pick(update: { jobId: string; status: JobStatus; error: string }) {
  return { jobId: update.jobId, status: update.status, error: update.error };
}

function toBytes(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return server.listening
    ? new Promise((resolve) => server.close(() => resolve()))
    : Promise.resolve();
}

/** A port that was free a moment ago and is closed now: a connect there is refused at once. */
export async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  const port = await listen(probe);
  await closeServer(probe);
  return port;
}

export async function startLiveKitServer(options: LiveKitServerOptions): Promise<LiveKitServer> {
  const server = new LocalLiveKitServer({ ...options });
  await server.listen();
  return server;
}
