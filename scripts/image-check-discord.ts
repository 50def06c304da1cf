/**
 * Used by scripts/image-check.sh (not by CI): the Discord simulator of the tests (test/sim/discord) on
 * this host, answering as https://discord.com so the image runs its own CMD unchanged. A TLS front on
 * 127.0.0.1:443 (certificate from a throw-away CA the shell script makes) passes every request to the
 * simulator's REST API; the container maps discord.com to 127.0.0.1 (--add-host), shares the host's
 * network and trusts the CA through NODE_EXTRA_CA_CERTS. The gateway address the simulator hands out
 * (GET /gateway/bot) is its own ws://127.0.0.1:… one.
 *
 *   node --import tsx scripts/image-check-discord.ts <cert.pem> <key.pem>
 *
 * Prints one JSON line (token, guild id), then, each time it reads a line on stdin, sends /help as
 * alice and prints the bot's answer as one JSON line. Ends on stdin's end.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:https';
import { createInterface } from 'node:readline';
import { startDiscordSim } from '../test/sim/discord';
import { addTradersGuild } from '../test/support/tradersGuild';

const [certPath, keyPath] = process.argv.slice(2);
if (!certPath || !keyPath) throw new Error('usage: image-check-discord.ts <cert.pem> <key.pem>');

const sim = await startDiscordSim({ specPath: null, privilegedIntents: { messageContent: true } });
const guild = addTradersGuild(sim);
const target = new URL(sim.restApiUrl);

const front = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (req, res) => {
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: target.host },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    res.writeHead(502);
    res.end(String(error));
  });
  req.pipe(upstream);
});
await new Promise<void>((resolve) => front.listen(443, '127.0.0.1', resolve));

console.log(JSON.stringify({ token: sim.token, guildId: guild.id, applicationId: sim.applicationId }));

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  void line;
  try {
    const h = sim.slash({
      guildId: guild.id,
      userId: guild.members['alice']!,
      name: 'help',
    });
    const reply = await h.reply();
    const text = [
      reply.content ?? '',
      ...(reply.embeds ?? []).map((e) => `${e.title ?? ''} ${e.description ?? ''}`),
    ]
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    console.log(
      JSON.stringify({
        help: text.slice(0, 160),
        ephemeral: h.ephemeral,
        sessions: sim.connectedSessions,
        registered: sim.commands(guild.id).length,
        violations: sim.violations.length,
      }),
    );
  } catch (error) {
    console.log(
      JSON.stringify({
        error: error instanceof Error ? error.message : String(error),
        sessions: sim.connectedSessions,
      }),
    );
  }
}
front.close();
await sim.close();
process.exit(0);
