/**
 * `npm run -s signal:parse`: reads one message on stdin, prints exactly one JSON line on stdout
 * (a signal, ignored, or invalid with a reason) and exits 0 for all three.
 */
import { parseSignalMessage } from '../signals/parseSignalMessage';
import { toSignalJson } from '../signals/toSignalJson';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

try {
  const text = await readStdin();
  process.stdout.write(`${toSignalJson(parseSignalMessage(text))}\n`);
} catch (error) {
  // Not one of the three answers: say so on stderr and leave stdout empty.
  console.error(error);
  process.exitCode = 1;
}
