// The --help text of each subcommand, with examples.
import { DEFAULTS, maxUpdates } from './options.ts';

const CLUSTER = `Cluster and change:
  --members LIST         members and levels, e.g. SYSA:HCR77A1,SYSB:HCR77A0,SYSC
                         (default ${DEFAULTS.members} at HCR77A1; a level below HCR77A0 is refused)
  --initiator NAME       the member that runs the change (default: the first)
  --new-key NAME=STATE   that member's new P11 master key register: committed (default),
                         uncommitted, differs (committed, another MKVP) or empty
  --inactive NAME        that member's ICSF is not started
  --no-coprocessor NAME  that member has no active Enterprise PKCS #11 coprocessor
                         (run: only with --updates 0; validate refuses the change)
  --tokens N             tokens in the active TKDS (default ${DEFAULTS.tokens})
  --objects N            token objects in the active TKDS (default ${DEFAULTS.objects})
  --secure-fraction F    share of secure (enciphered) key objects, 0 to 1 (default ${DEFAULTS.secureFraction})
  --active NAME          the active TKDS (default ${DEFAULTS.active})
  --target NAME          the new TKDS (default ${DEFAULTS.target}); not the active one
                         unless --target-state active
  --target-state STATE   empty (default), missing, notEmpty or active
  --seed N               the simulation's seed: same seed, same run, same trace (default ${DEFAULTS.seed})`;

export const HELP: Record<string, string> = {
  main: `tkds-cmk: simulate, plan and check a coordinated PKCS #11 master key change of a shared TKDS

Usage: tkds-cmk <command> [options]

Commands:
  run          run a coordinated change on a simulated sysplex and verify it
  plan         dry run: what a change would do, and every reason it would be refused
  conform      check a trace file against the statechart (and, with --tla, the TLA+ spec)
  merge        merge per-system logs into one trace that conform can check
  paths        export the model-based test paths generated from a statechart, as JSON
  drive        play those paths on an implementation run as a child process (JSON lines)
  statechart   render the statechart diagrams to docs/statechart/

With no command, runs the embedded default (tkds-cmk run).
Run 'tkds-cmk <command> --help' for its options. Exit status: 0 success, 1 the change or the
trace failed its checks, 2 unusable input.`,

  run: `Usage: tkds-cmk run [options]

Runs a coordinated TKDS change master key on a simulated sysplex, with dynamic updates
arriving throughout, then checks every invariant of the design.

${CLUSTER}

Workload and faults:
  --updates N            dynamic updates during the change (default ${DEFAULTS.updates}; at most
                         ${maxUpdates(3)} with 3 members, ${maxUpdates(8)} with 8: a run has a step limit)
  --update-every T       logical ticks between update arrivals (default ${DEFAULTS.updateEvery})
  --schedule NAME        the seeded scheduler: random (default: a uniform choice among due
                         actions) or pct (random priorities per member with a few change
                         points, so one member is sometimes held back for long: finds races)
  --no-dynamic-updates   the operator disallowed dynamic updates: those that arrive during
                         the suspension fail instead of waiting
  --fault SPEC           inject a fault (repeatable):
                           crash:SYSB@reload            crash a member when a step starts
                           crash:SYSA@commit+restart=5  ... and restart it 5 ticks later
                           partition:SYSC@switch        cut a member off the group
                           drop:reloadAck[:to=SYSB][:count=N]   lose a message
                           duplicate:switch             deliver a message twice
                           delay:finishAck              hold a message back
                           ioError@backout              a DASD write fails in a step
                           random:0.05[:stopAfter=N]    random faults at that rate per message
  --archive NAME         keep the old TKDS under this name after the change

Output:
  --trace FILE           write the trace (NDJSON, docs/trace-format.md) here
  --summary FILE         write the JSON summary here
                         (each a regular file or a new one, never a device, FIFO or symlink;
                         checked before the run, written whole through a temporary file)
  --json                 print the JSON summary on stdout instead of the report
  -q, --quiet            no live progress

Examples:
  tkds-cmk run
  tkds-cmk run --members SYSA,SYSB --objects 500 --fault crash:SYSB@reload
  tkds-cmk run --fault crash:SYSA@switch+restart=10 --trace out/takeover.ndjson
  tkds-cmk run --json --seed 7 > summary.json

Exit status: 0 when the run settled with every invariant holding (a backout is a success),
1 when an invariant was violated, 2 for unusable input.`,

  plan: `Usage: tkds-cmk plan [options]

A dry run: executes validate against the described cluster and reports what a change would do
(records to rewrap and copy, members, the steps) and every reason it would be refused. Nothing
is changed.

${CLUSTER}
  --json                 print the plan as JSON

Examples:
  tkds-cmk plan
  tkds-cmk plan --members SYSA,SYSB:HCR7790 --new-key SYSA=uncommitted --target-state notEmpty

Exit status: 0 when the change would run, 1 when it would be refused, 2 for unusable input.`,

  conform: `Usage: tkds-cmk conform TRACE [--tla]

Checks a trace (NDJSON, docs/trace-format.md) from this or any implementation: replays it
through the statecharts and checks the design's invariants over it; with --tla also validates
it against the TLA+ spec with TLC (needs Java; fetches TLC once). Prints the first violation
with its trace line, actor and rule. TRACE is read as a stream, a line at a time (a file, a
FIFO, or - for standard input); a bad line is reported as soon as it arrives.

Options:
  --tla                  also check the trace against tla/CoordinatedCMK.tla with TLC
  --json                 print the result as JSON

Examples:
  tkds-cmk run --trace out/run.ndjson && tkds-cmk conform out/run.ndjson --tla
  my-implementation --trace /dev/stdout | tkds-cmk conform -

Exit status: 0 when the trace conforms, 1 when it does not, 2 for an unusable file.`,

  merge: `Usage: tkds-cmk merge LOG... [--out FILE]

Merges per-system logs into one trace (NDJSON, docs/trace-format.md) for 'tkds-cmk conform'.
Each LOG holds one system's lines (the members' own, or the test harness's env log of faults);
the header is the first line of the env log or a file of its own (docs/conformance.md,
"Multi-system logs"). Lines are ordered by what must come first (each log's own order, a
message's send before its delivery or drop, a member's lines before its crash and its
restartCheck after its restart, ...), then by their tick hints (at equal hints: a down
member's lines, then env's, then the members' by name): the same logs always give the same
trace. seq is renumbered; a tick that would go back is raised to the one before.

Options:
  --out FILE             write the trace here (a regular file or a new one, written whole
                         through a temporary file) instead of on stdout; not one of the logs

Examples:
  tkds-cmk merge logs/env.ndjson logs/SYSA.ndjson logs/SYSB.ndjson --out run.ndjson
  tkds-cmk merge logs/*.ndjson > run.ndjson && tkds-cmk conform run.ndjson --tla

Exit status: 0 when the logs were merged, 2 for unusable input (one line naming the file and
line: bad JSON, a line of another system, a delivery nobody sent, logs that contradict each
other, ...).`,

  paths: `Usage: tkds-cmk paths [--machine NAME] [--set cover|shortest|faults] [--out FILE]

Writes the model-based test paths that xstate/graph generates from a statechart as one JSON
document (format "tkds-cmk-paths", version 3, docs/mbt.md): each path a list of steps, each
step an event with its fields, the statechart state (value and context) it reaches, and the
transitions it takes; each path lists the transitions it covers.

Options:
  --machine NAME         cluster (default: the initiator, the members and the messages in
                         flight; the paths 'drive' plays), initiator or member
  --set SET              cover (default: together they take every transition but those of
                         the faults set), shortest (a shortest path to every reachable state;
                         many more) or faults (cluster only: duplicate, delay, partition and
                         a second initiator)
  --out FILE             write the document here (a regular file or a new one, written whole
                         through a temporary file) instead of on stdout

Examples:
  tkds-cmk paths > cluster-paths.json
  tkds-cmk paths --machine initiator --out out/initiator-paths.json
  tkds-cmk paths --set shortest --out out/shortest.json && tkds-cmk drive --paths out/shortest.json -- ./my-impl

Exit status: 0 when the document was written, 2 for unusable input.`,

  drive: `Usage: tkds-cmk drive [options] -- COMMAND [ARGS...]

Runs COMMAND as the implementation under test: a process that speaks the driver protocol
(docs/mbt.md), one JSON object a line on its stdin and stdout, for a whole simulated cluster.
Plays each path of the cluster statechart on it (set up the cluster, start the change, fire,
drop or reorder its pending actions, crash and restart members, submit updates), compares what
it observes with the path's state after every step, checks each path's trace (docs/trace-format.md)
with the invariants and the statecharts (and with --tla, TLC), and prints the statechart
transitions executed on it.

Options:
  --paths FILE           the paths to play (a 'tkds-cmk paths' document of the cluster);
                         default: the cluster's cover and faults sets, generated now
  --set SET              without --paths: only cover, shortest or faults
  --limit N              play only the first N paths
  --timeout MS           how long to wait for each answer (default 10000)
  --tla                  also check each path's trace with TLC (needs Java; 50 traces a TLC run)
  --json                 print the result as JSON

Examples:
  tkds-cmk drive -- node --import tsx driver/reference.ts
  tkds-cmk drive --set faults --tla -- node --import tsx driver/reference.ts
  tkds-cmk drive --paths cluster-paths.json -- java -jar my-cluster-sim.jar

Required coverage: every transition the paths of the set (or file) take, all of them even with
--limit, must be executed on the implementation; each one short is printed 'never executed'.

Exit status: 0 when the implementation followed every path, every trace conforms and the
required coverage is complete, 1 when not (a run narrowed by --limit is short) or the
implementation broke the protocol (one line on stderr: it exited early, wrote a line that is
not JSON, answered the wrong request, refused a command, or was silent), 2 for unusable input.`,

  statechart: `Usage: tkds-cmk statechart [--out DIR]

Renders the initiator, member and cluster statecharts from their definitions as Mermaid (.mmd)
and SVG, with the README that explains them.

Options:
  --out DIR              write there instead of docs/statechart/ (a directory, made if missing)

Examples:
  tkds-cmk statechart
  tkds-cmk statechart --out /tmp/diagrams`,
};
