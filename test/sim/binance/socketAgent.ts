/**
 * The WebSocket side of the simulator's transport: an https Agent whose connections go to the local
 * simulator over plain TCP. ccxt.pro keeps its production stream URLs (wss://fstream.binance.com/…,
 * so the Host header and path are the production ones) and only the socket is redirected; any host
 * that is not one of Binance's stream hosts throws, so a test can never reach the network.
 */
import { Agent } from 'node:https';
import type { Agent as HttpAgent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { StrayHostError } from './fetch';

/** Stream hosts ccxt.pro's binance classes use (spot and USDⓈ-M, live, testnet and demo). */
export const BINANCE_STREAM_HOSTS: ReadonlySet<string> = new Set([
  'fstream.binance.com',
  'fstream.binancefuture.com',
  'demo-fstream.binance.com',
  'stream.binance.com',
  'ws-api.binance.com',
  'stream.testnet.binance.vision',
  'ws-api.testnet.binance.vision',
  'demo-stream.binance.com',
]);

class SimSocketAgent extends Agent {
  constructor(
    private readonly simHost: string,
    private readonly simPort: number,
  ) {
    super({ keepAlive: false });
  }

  override createConnection(options: { host?: string | null; servername?: string }, callback?: (error: Error | null, socket: Socket) => void): Socket {
    const host = options.servername || options.host || '';
    if (!BINANCE_STREAM_HOSTS.has(host)) throw new StrayHostError(host);
    const socket = connect(this.simPort, this.simHost);
    if (callback) socket.once('connect', () => callback(null, socket));
    return socket;
  }
}

export const simSocketAgent = (host: string, port: number): HttpAgent => new SimSocketAgent(host, port) as unknown as HttpAgent;

/** The agent for a simulator at `url` (http://host:port), in this process or another. */
export const socketAgentFor = (url: string): HttpAgent => {
  const { hostname, port } = new URL(url);
  return simSocketAgent(hostname, Number(port));
};
