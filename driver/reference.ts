// The reference implementation as a process under test: it speaks the driver protocol
// (docs/mbt.md) on stdin and stdout, one JSON object a line, so that the harness drives it exactly
// as it drives any other implementation (`tkds-cmk drive -- node --import tsx driver/reference.ts`).
// Each request `{"id":N,"type":COMMAND,...fields}` gets one answer `{"id":N,"ok":true,...answer,
// "trace":[lines written since the last answer]}`, or `{"id":N,"ok":false,"error":"..."}`.
import { createInterface } from 'node:readline';
import { isCommand, type CommandName, type Params } from './protocol.ts';
import { SimulatedImplementation } from './simulated.ts';

const impl = new SimulatedImplementation();
let sent = 0; // trace lines already answered with

function answer(line: string): object {
  let request: { id?: unknown; type?: unknown };
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    return { id: null, ok: false, error: `not JSON: ${line.slice(0, 80)}` };
  }
  const id = request.id ?? null;
  if (!isCommand(request.type))
    return { id, ok: false, error: `unknown command ${JSON.stringify(request.type)}` };
  const type: CommandName = request.type;
  try {
    const result = impl.run(type, request as Params<typeof type>);
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
