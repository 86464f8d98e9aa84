// Deliberate protocol bugs, to show the generated paths have teeth. Each is a test-side wrapper
// around the implementation (a method of Initiator, Member or the DASD wrapped for one run and
// restored after it) or a change to how the adapter drives it; product code has no bug switch.
import { Initiator } from '../../impl/initiator.ts';
import { MemoryDasd } from '../../impl/dasd.ts';
import { Member } from '../../impl/member.ts';
import type { Message } from '../../impl/sysplex.ts';
import type { PathAdapter } from '../../driver/adapter.ts';
import type { Bug } from './sim-adapter.ts';
import { TARGET } from './sim-adapter.ts';

/** Replaces `proto[name]` with `wrap(original)` until the returned function restores it. */
function wrapMethod<T extends object, K extends keyof T>(
  proto: T,
  name: K,
  wrap: (original: T[K]) => T[K],
): () => void {
  const original = proto[name];
  proto[name] = wrap(original);
  return () => {
    proto[name] = original;
  };
}

type MemberMessage = (this: Member, m: Message) => void;

/** A member that handles a message as usual, then does `after` to itself. */
function afterMessage(type: Message['type'], after: (member: Member) => void): () => () => void {
  return () =>
    wrapMethod(
      Member.prototype,
      'onMessage',
      (original) =>
        function (this: Member, m: Message) {
          (original as MemberMessage).call(this, m);
          if (m.type === type) after(this);
        },
    );
}

export const PROTOCOL_BUGS: readonly Bug[] = [
  {
    name: 'the delta is skipped: applyDelta writes the target header but not the routed updates',
    drive: async (adapter: PathAdapter, event, sim) => {
      if (event.type !== 'applyDeltaDone') return false;
      const self = sim.observe().members.find((m) => m.initiatorStep === 'suspend')!.name;
      const applyDelta = await adapter.required(adapter.work('applyDelta', self), 'applyDelta');
      const restore = wrapMethod(
        MemoryDasd.prototype,
        'put',
        (original) =>
          function (this: MemoryDasd, name, record, ctx) {
            if (name === TARGET && ctx.update) return;
            original.call(this, name, record, ctx);
          },
      );
      try {
        sim.fire(applyDelta.id);
      } finally {
        restore();
      }
      return true;
    },
  },
  {
    name: 'a member switches before every member staged: the first reloadAck counts for all',
    install: () =>
      wrapMethod(
        Initiator.prototype,
        'acknowledged',
        (original) =>
          function (this: Initiator, msg: Message) {
            original.call(this, msg);
            if (msg.type !== 'reloadAck') return;
            for (const other of ['SYSA', 'SYSB', 'SYSC'])
              if (other !== msg.from) original.call(this, { ...msg, from: other });
          },
      ),
  },
  {
    name: 'routing never starts: a member acknowledges beginRouting but goes on writing itself',
    install: afterMessage('beginRouting', (member) => {
      member.routing = false;
    }),
  },
  {
    name: 'a member acknowledges reload without keeping a staged copy',
    install: afterMessage('reload', (member) => {
      member.staged = null;
    }),
  },
  {
    name: 'backout runs after commit: a member lost after commit makes the initiator back out',
    install: () =>
      wrapMethod(
        Initiator.prototype,
        'memberLost',
        (original) =>
          function (this: Initiator, lost: string) {
            if (!this.committed) return original.call(this, lost);
            this.committed = false;
            this.backout(`member ${lost} lost`);
          },
      ),
  },
  {
    name: 'a member lost before commit is ignored (no backout)',
    install: () =>
      wrapMethod(
        Initiator.prototype,
        'memberLost',
        (original) =>
          function (this: Initiator, lost: string) {
            if (this.committed) original.call(this, lost);
          },
      ),
  },
  {
    name: 'the restart check is skipped: a restarting member serves the data set it had, under the key it has',
    install: () =>
      wrapMethod(
        Member.prototype,
        'restartCheck',
        (original) =>
          function (this: Member) {
            const had = this.active;
            original.call(this);
            if (this.fenced || this.active === had) return;
            this.active = had;
            this.live = this.readCopy(had);
            this.routing = false;
            this.switched = false;
          },
      ),
  },
  {
    name: 'no takeover: the surviving members wait for the lost initiator',
    install: () =>
      wrapMethod(
        Member.prototype,
        'maybeTakeover',
        () =>
          function (this: Member) {
            return undefined;
          },
      ),
  },
  {
    name: 'no suspension: updates go on being processed while the delta is applied and the members reload',
    install: () =>
      wrapMethod(
        Initiator.prototype,
        'suspend',
        (original) =>
          function (this: Initiator) {
            original.call(this);
            this.suspended = false;
          },
      ),
  },
  {
    name: 'a timeout resends nothing: the silent members are never asked again',
    drive: async (adapter: PathAdapter, event, sim) => {
      if (event.type !== 'timeout') return false;
      const before = new Set(sim.pending().map((a) => a.id));
      const timer = await adapter.required(
        adapter.find((a) => a.kind === 'timer' && a.timer === 'timeout'),
        'a timeout',
      );
      sim.fire(timer.id);
      for (const a of sim.pending()) if (!before.has(a.id) && a.kind === 'deliver') sim.drop(a.id);
      return true;
    },
  },
];
