package io.trelliskv.membership;

import io.trelliskv.common.Address;
import io.trelliskv.common.RefusedException;

import io.trelliskv.membership.Message.Ack;
import io.trelliskv.membership.Message.Alive;
import io.trelliskv.membership.Message.Dead;
import io.trelliskv.membership.Message.IndirectPing;
import io.trelliskv.membership.Message.Left;
import io.trelliskv.membership.Message.Nack;
import io.trelliskv.membership.Message.Ping;
import io.trelliskv.membership.Message.PushPull;
import io.trelliskv.membership.Message.Suspect;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The SWIM rules, one at a time: a single {@link Swim} against scripted peers. The transport records
 * what it sends and lets fake members answer pings (unless they are silenced), so probes by the node
 * under test succeed and do not interfere with the rule being checked.
 */
class SwimRulesTest {

    private static final long ME = 100;
    private static final Address MY_ADDRESS = new Address("me", 1);
    private static final long PEER = 1;

    private final SimNetwork sim = new SimNetwork(3);
    private final Codec codec = new Codec("trellis");
    private final List<MemberEvent> events = new ArrayList<>();
    private final Set<Long> silent = new HashSet<>();
    /** Every packet sent, decoded, with its destination. */
    private final List<Sent> sent = new ArrayList<>();
    private final List<Address> exchanges = new ArrayList<>();
    /** What the next stream exchanges answer; null: connection refused. */
    private byte[] streamReply;
    private Swim swim;

    record Sent(Address to, List<Message> messages) {
    }

    private final Transport transport = new Transport() {
        @Override
        public void sendPacket(Address to, byte[] packet) {
            List<Message> messages = codec.decodePacket(packet).messages();
            sent.add(new Sent(to, messages));
            for (Message m : messages) {
                if (m instanceof Ping p && !silent.contains(p.targetId())) {
                    sim.scheduler.schedule(1, () -> swim.onPacket(to, packet(p.targetId(), new Ack(p.seq()))));
                }
            }
        }

        @Override
        public void exchange(Address to, byte[] request, StreamCallback callback) {
            exchanges.add(to);
            byte[] reply = streamReply;
            sim.scheduler.schedule(1, () -> {
                if (reply == null) {
                    callback.onFailure(new IOException("refused"));
                } else {
                    callback.onReply(reply);
                }
            });
        }
    };

    @BeforeEach
    void start() {
        start(SwimConfig.lan("trellis"));
    }

    private void start(SwimConfig config) {
        swim = Swim.builder(config, ME, MY_ADDRESS)
                .transport(transport)
                .scheduler(sim.scheduler)
                .clock(sim.clock)
                .random(new Random(1))
                .listener(events::add)
                .build();
        swim.start();
        events.clear();
    }

    private static Address addressOf(long id) {
        return new Address("peer" + id, 7946);
    }

    private byte[] packet(long sender, Message... messages) {
        List<byte[]> encoded = new ArrayList<>();
        for (Message m : messages) {
            encoded.add(codec.encode(m));
        }
        return codec.packet(sender, encoded);
    }

    private void receive(Message... messages) {
        swim.onPacket(addressOf(PEER), packet(PEER, messages));
    }

    private static Alive alive(long id, long incarnation) {
        return new Alive(id, incarnation, addressOf(id), new byte[0]);
    }

    private MemberState state(long id) {
        return swim.member(id).state();
    }

    private List<MemberEvent.Type> eventTypes() {
        return events.stream().map(MemberEvent::type).toList();
    }

    /** Messages sent anywhere, of a type, in order. */
    private <T extends Message> List<T> sentMessages(Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Sent s : sent) {
            for (Message m : s.messages()) {
                if (type.isInstance(m)) {
                    out.add(type.cast(m));
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- precedence

    @Test
    void anUnknownAliveMemberJoins() {
        receive(alive(1, 0));
        assertThat(state(1)).isEqualTo(MemberState.ALIVE);
        assertThat(swim.member(1).address()).isEqualTo(addressOf(1));
        assertThat(eventTypes()).containsExactly(MemberEvent.Type.JOIN);
    }

    @Test
    void aliveAtTheSameIncarnationRevivesNothing() {
        receive(alive(1, 0), new Suspect(1, 0, 2));
        assertThat(state(1)).isEqualTo(MemberState.SUSPECT);
        receive(alive(1, 0));
        assertThat(state(1)).as("a relayed ALIVE of the same incarnation").isEqualTo(MemberState.SUSPECT);
        receive(new Dead(1, 0, 2));
        assertThat(state(1)).isEqualTo(MemberState.DEAD);
        receive(alive(1, 0));
        assertThat(state(1)).isEqualTo(MemberState.DEAD);
        receive(alive(1, 1));
        assertThat(state(1)).as("the member's own word: a newer incarnation").isEqualTo(MemberState.ALIVE);
        assertThat(eventTypes()).containsExactly(MemberEvent.Type.JOIN, MemberEvent.Type.SUSPECT,
                MemberEvent.Type.DEAD, MemberEvent.Type.ALIVE);
    }

    @Test
    void anAckDoesNotClearASuspicionOnlyARefutationDoes() {
        receive(alive(1, 0), new Suspect(1, 0, 2));
        sim.runFor(3000); // the member is probed and acks
        assertThat(sentMessages(Ping.class)).extracting(Ping::targetId).contains(1L);
        assertThat(state(1)).isEqualTo(MemberState.SUSPECT);
        assertThat(sentMessages(Suspect.class)).as("the probe of a suspect carries the suspicion")
                .contains(new Suspect(1, 0, ME));
    }

    @Test
    void staleSuspectAndDeadAreIgnored() {
        receive(alive(1, 5), new Suspect(1, 4, 2), new Dead(1, 4, 2));
        assertThat(state(1)).isEqualTo(MemberState.ALIVE);
        receive(new Suspect(77, 0, 2), new Dead(78, 0, 2));
        assertThat(swim.member(77)).as("no address: unknown members are not added from gossip").isNull();
    }

    @Test
    void deadNeedNotBeSuspectFirst() {
        receive(alive(1, 0), new Dead(1, 0, 2));
        assertThat(state(1)).isEqualTo(MemberState.DEAD);
    }

    @Test
    void leftBeatsDeadAndNotTheOtherWay() {
        receive(alive(1, 0), new Dead(1, 0, 2), new Left(1, 0));
        assertThat(state(1)).isEqualTo(MemberState.LEFT);
        receive(alive(2, 0), new Left(2, 0), new Dead(2, 0, 3), new Suspect(2, 0, 3));
        assertThat(state(2)).isEqualTo(MemberState.LEFT);
        receive(alive(2, 1));
        assertThat(state(2)).as("a node that left may come back").isEqualTo(MemberState.ALIVE);
    }

    @Test
    void newMetadataAtANewIncarnationIsAnUpdate() {
        receive(alive(1, 0), new Alive(1, 1, addressOf(1), new byte[] {7}));
        assertThat(swim.member(1).meta()).containsExactly(7);
        receive(alive(1, 2)); // back to no metadata
        assertThat(eventTypes()).containsExactly(MemberEvent.Type.JOIN, MemberEvent.Type.UPDATE,
                MemberEvent.Type.UPDATE);
    }

    // ---------------------------------------------------------------- refutation

    @Test
    void aSuspectedNodeRefutesWithANewIncarnation() {
        receive(alive(1, 0), new Suspect(ME, 0, 1));
        assertThat(swim.localMember().incarnation()).isEqualTo(1);
        assertThat(swim.localMember().state()).isEqualTo(MemberState.ALIVE);
        assertThat(swim.awarenessScore()).as("Lifeguard: having to refute is a sign of trouble").isEqualTo(1);
        assertThat(swim.stats().refutations()).isEqualTo(1);
        assertThat(events).as("listeners learn this node's new incarnation")
                .anyMatch(e -> e.type() == MemberEvent.Type.UPDATE && e.member().id() == ME
                        && e.member().incarnation() == 1);
        sim.runFor(1000);
        assertThat(sentMessages(Alive.class)).contains(new Alive(ME, 1, MY_ADDRESS, new byte[0]));
    }

    @Test
    void deathRemovalAndAnOlderLifeAreRefutedAboveTheirIncarnation() {
        receive(new Dead(ME, 3, 1));
        assertThat(swim.localMember().incarnation()).isEqualTo(4);
        receive(new Alive(ME, 7, new Address("old-me", 1), new byte[0]));
        assertThat(swim.localMember().incarnation()).isEqualTo(8);
        receive(new Alive(ME, 8, MY_ADDRESS, new byte[0]), new Suspect(ME, 2, 1));
        assertThat(swim.localMember().incarnation()).as("own picture, stale accusation").isEqualTo(8);
        receive(new Left(ME, 8));
        assertThat(swim.localMember().incarnation()).isEqualTo(9);
        receive(new Message.Removed(ME, 9));
        assertThat(swim.localMember().incarnation()).isEqualTo(10);
    }

    // ---------------------------------------------------------------- suspicion timeouts

    private void tenMembers() {
        for (long id = 1; id <= 9; id++) {
            receive(alive(id, 0));
        }
        assertThat(swim.count(MemberState.ALIVE)).isEqualTo(10);
    }

    /** Silences member 5 and runs until this node's own probe of it fails; returns when that was. */
    private long suspectFiveByOwnProbe() {
        silent.add(5L);
        long limit = sim.now() + 30_000;
        while (state(5) == MemberState.ALIVE && sim.now() < limit) {
            sim.runFor(1);
        }
        assertThat(state(5)).isEqualTo(MemberState.SUSPECT);
        return sim.now();
    }

    @Test
    void anUnconfirmedSuspicionTimesOutAtTheMaximum() {
        tenMembers(); // min = 4 * log10(10) * 500 ms = 2 s, max = 6 * min = 12 s, k = 2
        long start = suspectFiveByOwnProbe();
        sim.runFor(start + 11_999 - sim.now());
        assertThat(state(5)).isEqualTo(MemberState.SUSPECT);
        // The verdict needs this node's own probe to have failed within the minimum, 2 s: one of the
        // round-robin probes of member 5 did, or the probe started at the maximum fails one window later.
        sim.runFor(1 + 1_000);
        assertThat(state(5)).isEqualTo(MemberState.DEAD);
        sim.runFor(1000);
        assertThat(sentMessages(Dead.class)).contains(new Dead(5, 0, ME));
    }

    @Test
    void independentConfirmationsBringTheVerdictForward() {
        tenMembers();
        long start = suspectFiveByOwnProbe();
        sim.runFor(500);
        receive(new Suspect(5, 0, ME), new Suspect(5, 0, 2)); // the first accuser again counts nothing
        sim.runFor(500);
        receive(new Suspect(5, 0, 3)); // 2 of 2: the minimum, 2 s after the start
        sim.runFor(start + 1999 - sim.now());
        assertThat(state(5)).isEqualTo(MemberState.SUSPECT);
        sim.runFor(1);
        assertThat(state(5)).isEqualTo(MemberState.DEAD);
    }

    @Test
    void aSuspicionHeardOnlyFromOthersEndsInThisNodesOwnProbeNotInAVerdict() {
        tenMembers();
        receive(new Suspect(5, 0, 1), new Suspect(5, 0, 2), new Suspect(5, 0, 3)); // the minimum: 2 s
        sim.runFor(60_000);
        assertThat(state(5)).as("member 5 answers this node's probes").isEqualTo(MemberState.SUSPECT);
        assertThat(sent.stream().filter(s -> s.to().equals(addressOf(5)))
                .filter(s -> s.messages().contains(new Suspect(5, 0, ME))).count())
                .as("after the timeout, a probe carrying the suspicion every probe window").isGreaterThan(50);
        silent.add(5L);
        long silenced = sim.now();
        while (state(5) == MemberState.SUSPECT && sim.now() - silenced < 10_000) {
            sim.runFor(1);
        }
        assertThat(state(5)).isEqualTo(MemberState.DEAD);
        assertThat(sim.now() - silenced).as("DEAD when the next probe fails").isLessThanOrEqualTo(2000);
    }

    @Test
    void aMemberHeardToBeSuspectedIsProbedAtOnceWithTheSuspicionAhead() {
        for (long id = 1; id <= 4; id++) {
            receive(alive(id, 0));
        }
        sim.runFor(10_000); // five members: k = 2 = n - 3, so every one of them probes a suspect promptly
        sent.clear();
        receive(new Suspect(4, 0, 1));
        assertThat(sent).first().satisfies(s -> {
            assertThat(s.to()).isEqualTo(addressOf(4));
            assertThat(s.messages().get(0)).isEqualTo(new Suspect(4, 0, ME));
            assertThat(s.messages().get(1)).isInstanceOf(Ping.class);
        });
        assertThat(swim.stats().promptProbes()).isEqualTo(1);
    }

    @Test
    void aStaleSuspicionOfThisNodeIsAnsweredWithItsCurrentIncarnation() {
        receive(alive(1, 0), new Suspect(ME, 0, 1));
        assertThat(swim.localMember().incarnation()).isEqualTo(1);
        sent.clear();
        receive(new Suspect(ME, 0, 1), new Ping(9, ME));
        assertThat(swim.localMember().incarnation()).as("no second refutation").isEqualTo(1);
        assertThat(sent).first().satisfies(s -> {
            assertThat(s.to()).isEqualTo(addressOf(PEER));
            assertThat(s.messages().get(0)).isEqualTo(new Alive(ME, 1, MY_ADDRESS, new byte[0]));
        });
    }

    @Test
    void aRefutationInTimeCancelsTheSuspicion() {
        tenMembers();
        receive(new Suspect(5, 0, 1));
        sim.runFor(10_000);
        receive(alive(5, 1));
        sim.runFor(60_000);
        assertThat(state(5)).isEqualTo(MemberState.ALIVE);
    }

    /**
     * Regression (50 nodes, 10 % loss, seed 10): a node that missed a member's refutation counted the next
     * suspicion, at the newer incarnation, as a confirmation of its own old one, which was 11 s old and
     * timed out at once: DEAD at the old incarnation, backed by a probe failure from before the refutation.
     */
    @Test
    void aSuspicionAtANewerIncarnationStartsOverInsteadOfConfirmingAMissedOne() {
        tenMembers();
        suspectFiveByOwnProbe();
        silent.remove(5L); // it answers again (its refutation, incarnation 1, never arrives here)
        sim.runFor(10_000);
        receive(new Suspect(5, 1, 2));
        assertThat(swim.member(5).incarnation()).isEqualTo(1);
        sim.runFor(60_000);
        assertThat(state(5)).as("no verdict: every probe since was answered").isEqualTo(MemberState.SUSPECT);
        assertThat(sentMessages(Dead.class)).isEmpty();
    }

    /**
     * Regression (50 nodes, 10 % loss, seeds 2002, 2007, 2009 of the experiment): an accuser that never
     * heard the refutation declared the member DEAD at the maximum timeout, 20 s after its own probe had
     * failed. Evidence counts for the minimum timeout only; after that, a fresh probe decides.
     */
    @Test
    void aVerdictNeedsAProbeFailureWithinTheMinimumTimeout() {
        tenMembers(); // min = 4 * log10(10) * 500 ms = 2 s, max = 12 s
        long start = suspectFiveByOwnProbe();
        silent.remove(5L);
        sim.runFor(60_000);
        assertThat(state(5)).as("its answers since the accusation keep it from DEAD").isEqualTo(MemberState.SUSPECT);
        silent.add(5L);
        long silenced = sim.now();
        while (state(5) == MemberState.SUSPECT && sim.now() - silenced < 10_000) {
            sim.runFor(1);
        }
        assertThat(state(5)).isEqualTo(MemberState.DEAD);
        assertThat(sim.now() - silenced).as("DEAD when the next probe (one window at most) fails")
                .isLessThanOrEqualTo(2 * 1_000);
        assertThat(sentMessages(Dead.class)).containsExactly(new Dead(5, 0, ME));
        assertThat(sim.now() - start).isGreaterThan(60_000);
    }

    // ---------------------------------------------------------------- probes

    @Test
    void aPingIsAckedWithItsSequenceNumber() {
        receive(new Ping(77, ME));
        assertThat(sent).last().satisfies(s -> {
            assertThat(s.to()).isEqualTo(addressOf(PEER));
            assertThat(s.messages().get(0)).isEqualTo(new Ack(77));
        });
    }

    @Test
    void aPingForAnotherNodeIsNotAcked() {
        receive(new Ping(77, ME + 1));
        assertThat(sent).isEmpty();
        assertThat(swim.stats().misdirectedPings()).isEqualTo(1);
    }

    @Test
    void anIndirectPingIsRelayedAndTheAckForwarded() {
        receive(new IndirectPing(55, 9, addressOf(9), true));
        sim.runFor(10);
        assertThat(sent.get(0).to()).isEqualTo(addressOf(9));
        assertThat(sent.get(0).messages().get(0)).isInstanceOf(Ping.class);
        assertThat(sent.get(1).to()).isEqualTo(addressOf(PEER));
        assertThat(sent.get(1).messages().get(0)).isEqualTo(new Ack(55));
        sim.runFor(1000);
        assertThat(sentMessages(Nack.class)).isEmpty();
    }

    @Test
    void aRelayWhoseTargetIsSilentSendsANackAtEightyPercentOfTheProbeTimeout() {
        silent.add(9L);
        receive(new IndirectPing(55, 9, addressOf(9), true));
        sim.runFor(399); // 80 % of 500 ms: the requester's window closes 500 ms after it asked
        assertThat(sentMessages(Nack.class)).isEmpty();
        sim.runFor(1);
        assertThat(sentMessages(Nack.class)).containsExactly(new Nack(55));
        assertThat(sentMessages(Ack.class)).isEmpty();
    }

    @Test
    void aSilentMemberIsProbedIndirectlyThenSuspectedAndAwarenessRisesWithoutNacks() {
        tenMembers();
        suspectFiveByOwnProbe(); // to the ms: a probe of another member may succeed right after
        List<IndirectPing> requests = sentMessages(IndirectPing.class);
        assertThat(requests).hasSize(3).allSatisfy(r -> assertThat(r.targetId()).isEqualTo(5));
        assertThat(sent.stream().filter(s -> s.messages().get(0) instanceof IndirectPing).map(Sent::to).distinct())
                .hasSize(3).doesNotContain(addressOf(5));
        // The relays are fake and never answered the indirect pings, nor nacked: three missing nacks.
        assertThat(swim.awarenessScore()).isEqualTo(3);
        assertThat(swim.stats().probesFailed()).isEqualTo(1);
    }

    @Test
    void relaysAreFoundWhenFewMembersQualify() {
        // Regression: random sampling alone (3 tries per member) missed the one relay of a 3-member
        // cluster once in 40 probes.
        List<Integer> three = List.of(0, 1, 2);
        for (int seed = 0; seed < 10_000; seed++) {
            assertThat(Swim.randomSubset(three, 3, m -> m == 2, new Random(seed))).containsExactly(2);
        }
        List<Integer> many = java.util.stream.IntStream.range(0, 1000).boxed().toList();
        assertThat(Swim.randomSubset(many, 3, m -> m % 2 == 0, new Random(1)))
                .hasSize(3).doesNotHaveDuplicates().allMatch(m -> m % 2 == 0);
        assertThat(Swim.randomSubset(many, 3, m -> m == 7, new Random(1))).containsExactly(7);
        assertThat(Swim.randomSubset(many, 3, m -> false, new Random(1))).isEmpty();
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void badInputIsCountedAndDroppedNeverThrown() {
        Codec other = new Codec("other");
        swim.onPacket(addressOf(PEER), other.packet(PEER, List.of(other.encode(alive(1, 0)))));
        byte[] wrongVersion = packet(PEER, alive(1, 0));
        wrongVersion[0] = 9;
        swim.onPacket(addressOf(PEER), wrongVersion);
        swim.onPacket(addressOf(PEER), new byte[] {1, 2, 3});
        swim.onPacket(addressOf(PEER), new byte[0]);
        assertThat(swim.onStreamRequest(addressOf(PEER), new byte[] {1})).isNull();
        assertThat(swim.onStreamRequest(addressOf(PEER),
                other.encodePushPull(new PushPull(PEER, true, List.of(), List.of())))).isNull();
        assertThat(swim.stats().foreignCluster()).isEqualTo(2);
        assertThat(swim.stats().unsupportedVersion()).isEqualTo(1);
        assertThat(swim.stats().malformed()).isEqualTo(3);
        assertThat(swim.memberCount()).isEqualTo(1);
    }

    @Test
    void aThrowingListenerIsCountedAndDoesNotStopTheProtocol() {
        Swim s = Swim.builder(SwimConfig.lan("trellis"), 5, new Address("x", 1)).transport(transport)
                .scheduler(sim.scheduler).clock(sim.clock).random(new Random(2))
                .listener(e -> {
                    throw new IllegalStateException("boom");
                }).build();
        s.start();
        s.onPacket(addressOf(PEER), packet(PEER, alive(1, 0), alive(2, 0)));
        assertThat(s.memberCount()).isEqualTo(3);
        assertThat(s.stats().errors()).isEqualTo(3);
    }

    // ---------------------------------------------------------------- push-pull, join, remove, leave

    @Test
    void pushPullTeachesMembersInEveryStateAndAnswersAfterMerging() {
        receive(alive(1, 0));
        PushPull remote = new PushPull(PEER, true, List.of(
                new PushPull.Entry(7, addressOf(7), 0, MemberState.ALIVE, new byte[0]),
                new PushPull.Entry(8, addressOf(8), 2, MemberState.DEAD, new byte[0]),
                new PushPull.Entry(9, addressOf(9), 1, MemberState.LEFT, new byte[0]),
                new PushPull.Entry(1, addressOf(1), 0, MemberState.DEAD, new byte[0]),
                new PushPull.Entry(ME, MY_ADDRESS, 0, MemberState.SUSPECT, new byte[0])),
                List.of());
        PushPull reply = codec.decodePushPull(swim.onStreamRequest(addressOf(PEER), codec.encodePushPull(remote)));
        assertThat(state(7)).isEqualTo(MemberState.ALIVE);
        assertThat(state(8)).as("ownership is not liveness: dead members are listed").isEqualTo(MemberState.DEAD);
        assertThat(state(9)).isEqualTo(MemberState.LEFT);
        assertThat(state(1)).as("a remote DEAD is only a suspicion here").isEqualTo(MemberState.SUSPECT);
        assertThat(reply.members()).contains(new PushPull.Entry(ME, MY_ADDRESS, 1, MemberState.ALIVE, new byte[0]));
        assertThat(reply.members()).hasSize(5);
        assertThat(events).filteredOn(e -> e.member().id() == 8).singleElement()
                .satisfies(e -> assertThat(e.type()).isEqualTo(MemberEvent.Type.JOIN))
                .satisfies(e -> assertThat(e.member().state()).isEqualTo(MemberState.DEAD));
    }

    @Test
    void joinRetriesWithExponentialBackoffUntilASeedAnswers() {
        swim.stop();
        start(SwimConfig.lan("trellis").toBuilder().pushPullIntervalMillis(0).build());
        swim.join(List.of(new Address("seed", 1), MY_ADDRESS));
        sim.runFor(1);  // refused at once
        assertThat(exchanges).hasSize(1);
        sim.runFor(1000);
        assertThat(exchanges).hasSize(2);
        sim.runFor(2001);
        assertThat(exchanges).hasSize(3);
        sim.runFor(4001);
        assertThat(exchanges).hasSize(4).containsOnly(new Address("seed", 1));
        assertThat(swim.isJoined()).isFalse();
        streamReply = new Codec("trellis").encodePushPull(new PushPull(PEER, false, List.of(
                new PushPull.Entry(PEER, new Address("seed", 1), 0, MemberState.ALIVE, new byte[0])), List.of()));
        sim.runFor(8010);
        assertThat(exchanges).hasSize(5);
        assertThat(swim.isJoined()).isTrue();
        assertThat(state(PEER)).isEqualTo(MemberState.ALIVE);
        sim.runFor(20_000);
        assertThat(exchanges).as("no more join attempts").hasSize(5);
    }

    @Test
    void joiningAgainStartsOverWithOneRetryChain() {
        swim.stop();
        start(SwimConfig.lan("trellis").toBuilder().pushPullIntervalMillis(0).build());
        swim.join(List.of(new Address("seed", 1)));
        swim.join(List.of(new Address("seed", 2)));
        sim.runFor(1);
        assertThat(exchanges).hasSize(2);
        sim.runFor(1000);
        assertThat(exchanges).as("only the second join retries").hasSize(3).endsWith(new Address("seed", 2));
        sim.runFor(2001);
        assertThat(exchanges).hasSize(4);
    }

    @Test
    void joiningOnlyOneselfIsJoined() {
        swim.join(List.of(MY_ADDRESS));
        assertThat(swim.isJoined()).isTrue();
        assertThat(exchanges).isEmpty();
    }

    @Test
    void removalTakesADeadMemberOutAndKeepsItsStaleCopiesOut() {
        receive(alive(1, 0), alive(2, 0), new Dead(1, 3, 2));
        assertThat(swim.remove(1)).isTrue();
        assertThat(swim.member(1)).isNull();
        assertThat(eventTypes()).endsWith(MemberEvent.Type.REMOVED);
        receive(alive(1, 3));
        swim.onStreamRequest(addressOf(PEER), codec.encodePushPull(new PushPull(PEER, false,
                List.of(new PushPull.Entry(1, addressOf(1), 3, MemberState.DEAD, new byte[0])), List.of())));
        assertThat(swim.member(1)).as("tombstoned up to incarnation 3").isNull();
        sim.runFor(1000);
        assertThat(sentMessages(Message.Removed.class)).contains(new Message.Removed(1, 3));
        receive(alive(1, 4));
        assertThat(state(1)).as("back with a newer incarnation").isEqualTo(MemberState.ALIVE);

        assertThat(swim.remove(12345)).isFalse();
        assertThatThrownBy(() -> swim.remove(2)).isInstanceOf(RefusedException.class)
                .hasMessage("remove 2: ALIVE (expected: a DEAD or LEFT member)");
        assertThatThrownBy(() -> swim.remove(ME)).hasMessageContaining("this node");
    }

    @Test
    void aRemovalBroadcastDoesNotRemoveALiveMember() {
        receive(alive(1, 0), new Message.Removed(1, 0));
        assertThat(state(1)).isEqualTo(MemberState.ALIVE);
    }

    @Test
    void leavingBroadcastsLeftAndReportsWhenSpread() {
        receive(alive(1, 0));
        boolean[] spread = {false};
        swim.leave(() -> spread[0] = true);
        assertThat(swim.localMember().state()).isEqualTo(MemberState.LEFT);
        sim.runFor(10_000);
        assertThat(spread[0]).isTrue();
        assertThat(sentMessages(Left.class)).contains(new Left(ME, 0));
        assertThat(sentMessages(Ping.class)).as("a leaving node probes no more")
                .allSatisfy(p -> assertThat(p.targetId()).isNotEqualTo(1)).hasSizeLessThanOrEqualTo(1);
        receive(new Suspect(ME, 0, 1), new Dead(ME, 0, 1));
        assertThat(swim.localMember().incarnation()).as("no refutation after leaving").isZero();
    }

    @Test
    void leavingAloneIsDoneAtOnce() {
        boolean[] spread = {false};
        swim.leave(() -> spread[0] = true);
        assertThat(spread[0]).isTrue();
    }

    @Test
    void updatingMetadataAnnouncesANewIncarnation() {
        swim.updateMeta(new byte[] {1, 2});
        assertThat(swim.localMember().incarnation()).isEqualTo(1);
        assertThat(swim.localMember().meta()).containsExactly(1, 2);
        assertThat(eventTypes()).containsExactly(MemberEvent.Type.UPDATE);
        assertThatThrownBy(() -> swim.updateMeta(new byte[513])).hasMessage("meta: 513 bytes (expected: <= 512)");
    }

    @Test
    void aStoppedNodeIgnoresEverything() {
        swim.stop();
        receive(alive(1, 0));
        assertThat(swim.memberCount()).isEqualTo(1);
        assertThat(swim.onStreamRequest(addressOf(PEER), new byte[0])).isNull();
        sim.runFor(60_000);
        assertThat(sent).isEmpty();
    }

    // ---------------------------------------------------------------- formulas

    /** memberlist's TestPushPullScale, and the sizes of our simulations. */
    @ParameterizedTest(name = "n={0} -> {1} x interval")
    @CsvSource({
            "1, 1", "32, 1", "33, 2", "64, 2", "65, 3", "128, 3", "129, 4", "1000, 6", "2048, 7", "2049, 8",
    })
    void pushPullIntervalGrowsWithTheLogOfTheClusterSize(int n, int multiple) {
        assertThat(Swim.pushPullIntervalMillis(30_000, n)).isEqualTo(multiple * 30_000L);
    }
}
