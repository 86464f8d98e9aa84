// The reference implementation as a process under test: it speaks the driver protocol
// (docs/mbt.md) on stdin and stdout, one JSON object a line, so that the harness drives it exactly
// as it drives any other implementation (`tkds-cmk drive -- node --import tsx driver/reference.ts`).
// Each request `{"id":N,"type":COMMAND,...fields}` gets one answer `{"id":N,"ok":true,...answer,
// "trace":[lines written since the last answer]}`, or `{"id":N,"ok":false,"error":"..."}`.
import { createInterface } from 'node:readline';
import { COMMANDS, isCommand, type CommandName, type Params } from './protocol.ts';
import { SimulatedImplementation } from './simulated.ts';

const impl = new SimulatedImplementation();
let sent = 0; // trace lines already answered with

function answer(line: string): object {
  let request: Record<string, unknown>;
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    return { id: null, ok: false, error: `not JSON: ${line.slice(0, 80)}` };
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    return { id: null, ok: false, error: `not a JSON object: ${line.slice(0, 80)}` };
  const id = request['id'] ?? null;
  if (!isCommand(request['type']))
    return { id, ok: false, error: `unknown command ${JSON.stringify(request['type'])}` };
  const type: CommandName = request['type'];
  const missing = COMMANDS[type].find((field) => request[field] === undefined);
  if (missing !== undefined) return { id, ok: false, error: `${type} needs "${missing}"` };
  try {
    const result = impl.run(type, request as unknown as Params<typeof type>);
    if (type === 'init') sent = 0;
    const trace = impl.trace.slice(sent);
    sent = impl.trace.length;
    return { id, ok: true, ...result, trace };
  } catch (e) {
    return { id, ok: false, error: `${type}: ${(e as Error).message.split('\n')[0]}` };
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() !== '') process.stdout.write(JSON.stringify(answer(line)) + '\n');
});
