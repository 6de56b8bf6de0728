#!/usr/bin/env python3
"""What a cluster's entry node spends on coordinating writes, beside a single node: the CPU samples of two
bench/profile.sh runs (EVENT=cpu, collapsed stacks with totals), each sample counted once, in the group of its
deepest frame that names one of the groups below; ms per 1,000 requests in profile samples, and of them the
samples in the kernel (a system call the group made, such as a socket write; on loopback, a send also delivers).

    TARGET=entry bench/profile.sh && TARGET=single bench/profile.sh && bench/profile-groups.py
    bench/profile-groups.py ENTRY.txt SINGLE.txt [REQUESTS]

Defaults: bench/out/profile/cpu-entry.txt, bench/out/profile/cpu-single.txt, 1000000 (profile.sh's REQUESTS,
which must match the runs). A group's frames are matched by substring, so a renamed method drops out of its group
into "the rest": read the table beside the profiles it came from.
"""
import collections
import os
import sys

GROUPS = [
    ('replication: batches encoded and written to the peers',
     ['Coordinator.write', 'Coordinator.replicate', 'PeerReplicaTransport', 'PeerEncoder.encode', 'PeerClient.call',
      'PeerClient$Connection.send', 'drainOutbox']),
    ('acks read, the write op counted, read-your-writes recorded',
     ['PeerClient$Connection.channelRead', 'Coordinator$WriteOp.answered', 'Session.record', 'WriteRun.writeDone']),
    ('replies released to the client after the acks', ['DeferredReply', 'ReplyToCome.complete']),
    ("the connection's order (routed, conflicting, mustWait)",
     ['Session.routed', 'Session.conflicting', 'Session.mustWait', 'RoutedKeys', 'Session.outstanding']),
    ("routing (the key's token, its owners)", ['Key.of', 'ClusterState.owners', 'Router.coordinatorAt', 'TokenRing']),
    ('the write run (capture, hold, release)',
     ['Coordinator.checkAvailable', 'WriteCapture', 'WriteRun.add', 'WriteRun.<init>', 'WriteRun.run',
      'followNewestFloor']),
    ("the JVM's own threads (collector, JIT, VM)", ['clone3']),
    ("the collector's barriers", ['nmethod_stub_entry_barrier', 'ZBarrier', 'method_entry_barrier']),
]
REST = 'the rest: client I/O, decoding, execution, the engine, the kernel'


def grouped(path, requests):
    by_group, in_kernel = collections.Counter(), collections.Counter()
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip('\n').rpartition(' ')
            frames = stack.split(';')
            group, deepest = REST, -1
            for name, patterns in GROUPS:
                for i, frame in enumerate(frames):
                    if i > deepest and any(p in frame for p in patterns):
                        group, deepest = name, i
            by_group[group] += int(count)
            if any(frame.endswith('_[k]') for frame in frames[deepest + 1:]):
                in_kernel[group] += int(count)
    per = requests / 1000 * 1e6  # totals are nanoseconds; per 1,000 requests, in ms
    return ({g: v / per for g, v in by_group.items()}, {g: v / per for g, v in in_kernel.items()})


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out', 'profile')
    entry = sys.argv[1] if len(sys.argv) > 1 else os.path.join(out, 'cpu-entry.txt')
    single = sys.argv[2] if len(sys.argv) > 2 else os.path.join(out, 'cpu-single.txt')
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000
    try:
        (e, ek), (s, sk) = grouped(entry, requests), grouped(single, requests)
    except OSError as failure:
        sys.exit('profile-groups: %s (run TARGET=entry bench/profile.sh and TARGET=single bench/profile.sh first)'
                 % failure)
    print('%8s %8s %8s %8s  %s' % ('entry', 'kernel', 'single', 'kernel', 'ms per 1,000 requests in profile samples'))
    for name in [g for g, _ in GROUPS] + [REST]:
        print('%8.3f %8.3f %8.3f %8.3f  %s' % (e.get(name, 0), ek.get(name, 0), s.get(name, 0), sk.get(name, 0), name))
    print('%8.3f %8.3f %8.3f %8.3f  total' % (sum(e.values()), sum(ek.values()), sum(s.values()), sum(sk.values())))


if __name__ == '__main__':
    main()
