/**
 * Cluster membership and failure detection: SWIM (Das, Gupta, Motivala, 2002) with the Lifeguard
 * refinements (Dadgar, Phillips, Currey, 2018), after hashicorp/memberlist.
 *
 * <p>{@link io.trelliskv.membership.Swim} runs the protocol, one concept per class beside it:
 * {@link io.trelliskv.membership.Suspicion} (the shrinking suspicion timeout),
 * {@link io.trelliskv.membership.Awareness} (local health), {@link io.trelliskv.membership.DisseminationQueue}
 * (piggy-backed broadcasts), {@link io.trelliskv.membership.Codec} (the wire format). The package does no
 * I/O itself: it owns {@link io.trelliskv.membership.Transport} (datagrams and a request-reply stream) and
 * {@link io.trelliskv.membership.Scheduler} (the one thread it runs on), which the net package implements
 * over UDP and TCP and the tests over an in-memory network.
 *
 * <h2>Driving it</h2>
 * <pre>{@code
 * ExecutorScheduler scheduler = new ExecutorScheduler("trellis-membership");
 * Swim swim = Swim.builder(SwimConfig.lan("prod"), nodeId, new Address(host, port))
 *         .meta(tokens).transport(transport).scheduler(scheduler)
 *         .clock(Clock.SYSTEM).listener(ring::onMemberEvent).build();
 * scheduler.execute(() -> { swim.start(); swim.join(seeds); });
 * // the transport, for each datagram and each stream request:
 * scheduler.execute(() -> swim.onPacket(from, datagram));
 * scheduler.execute(() -> reply(swim.onStreamRequest(from, request)));  // null: close without reply
 * // shutting down:
 * scheduler.execute(() -> swim.leave(() -> { swim.stop(); scheduler.close(); }));
 * }</pre>
 * Every call into a {@code Swim}, and every listener callback out of it, happens on the scheduler's
 * thread; other threads learn of members through the listener's events.
 */
package io.trelliskv.membership;
