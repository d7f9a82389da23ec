package io.dsfleet.coordinator.replication;

import io.dsfleet.common.SecretBox;
import io.dsfleet.coordinator.store.StoreException;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This coordinator as one replica of a Raft group (Apache Ratis): the replicated store, and who
 * serves. The replica whose leadership is ready (its first entry of the term committed and
 * applied, so its store holds every acknowledged write) serves the fleet for that term; it stops
 * serving the moment Raft reports another leader or none.
 */
public final class Replica implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Replica.class);
  /** How long a write may wait for a majority before the caller is told it did not commit (it may still). */
  static final Duration WRITE_TIMEOUT = Duration.ofSeconds(10);
  /** {@link #WRITE_TIMEOUT}, shorter in tests that wait it out. */
  private volatile Duration writeTimeout = WRITE_TIMEOUT;

  /** What the coordinator does when this replica starts or stops serving; called on one thread, in order. */
  public interface Serving {
    void start(long term);

    void stop();
  }

  private final ReplicationOptions options;
  private final RaftGroup group;
  private final RaftPeerId self;
  private final StoreStateMachine machine;
  private final RaftServer server;
  private final ReplicatedStore store;
  private final ReplicaMembers members;
  private final ClientId clientId = ClientId.randomId();
  private final AtomicLong callIds = new AtomicLong();
  private final ExecutorService transitions = Executors.newSingleThreadExecutor(io.dsfleet.common.DaemonThreads.named("replica-leadership"));
  private final java.util.concurrent.ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(io.dsfleet.common.DaemonThreads.named("replica-watchdog"));
  private volatile Serving serving = new Serving() {
    @Override
    public void start(long term) { }

    @Override
    public void stop() { }
  };
  private volatile long servingTerm;

  /** Tests that wait a write's timeout out wait less ({@link #WRITE_TIMEOUT} otherwise). */
  void writeTimeout(Duration timeout) {
    writeTimeout = timeout;
  }

  /**
   * @param groupKey what all replicas of one group share (the fleet CA's fingerprint): the Raft
   *     group id is derived from it
   */
  public Replica(ReplicationOptions options, Path dataDir, String groupKey, SecretBox box, X509Certificate ca,
      X509Certificate cert, PrivateKey key) throws IOException {
    this.options = options;
    this.self = RaftPeerId.valueOf(options.id());
    this.group = ReplicaMembers.initialGroup(options, dataDir, groupKey);
    this.machine = new StoreStateMachine(dataDir, box, new StoreStateMachine.Listener() {
      @Override
      public void leaderChanged(RaftPeerId leader) {
        transitions.execute(() -> onLeaderChanged(leader));
      }

      @Override
      public void leaderReady() {
        transitions.execute(Replica.this::onLeaderReady);
      }

      @Override
      public void logFailed(Throwable cause) {
        transitions.execute(() -> {
          if (!closing && !failed) {
            fail("its Raft log could not be written (" + cause.getMessage() + "), and Raft writes it no more until a restart");
          }
        });
      }
    });
    this.store = new ReplicatedStore(machine, this);
    RaftProperties props = RaftSettings.properties(options, dataDir);
    Parameters parameters = new Parameters();
    GrpcConfigKeys.TLS.setConf(parameters, PeerTls.config(ca, cert, key));
    this.server = RaftServer.newBuilder()
        .setServerId(self)
        .setGroup(group)
        .setStateMachine(machine)
        .setProperties(props)
        .setParameters(parameters)
        .setOption(RaftStorage.StartupOption.RECOVER)
        .build();
    this.members = new ReplicaMembers(options.id(), self, group.getGroupId(), clientId, callIds, server, this::division, this::fail);
  }

  public void start(Serving serving) throws IOException {
    this.serving = serving;
    server.start();
    // Raft reports a new leader, not a leader that stepped down (lost its majority): check the role too
    watchdog.scheduleWithFixedDelay(() -> transitions.execute(this::checkRole), 200, 200, TimeUnit.MILLISECONDS);
    log.info("replica {} of {} started: peers {}", options.id(), group.getGroupId(), options.peers());
  }

  public ReplicatedStore store() {
    return store;
  }

  public String id() {
    return options.id();
  }

  /** The term this replica serves in; 0 when it does not serve. */
  public long servingTerm() {
    return servingTerm;
  }

  /** This replica's Raft division (package-private: tests close it as Raft does). */
  RaftServer.Division division() {
    try {
      return server.getDivision(group.getGroupId());
    } catch (IOException e) {
      throw new StoreException("the replica is not running: " + e.getMessage(), e);
    }
  }

  /** The coordinator address of the leader as this replica knows it, or null when it knows none. */
  public String leaderAddress() {
    RaftServer.Division d = division();
    RaftPeerId leader = d.getInfo().getLeaderId();
    if (leader == null) {
      return null;
    }
    RaftPeer peer = d.getRaftConf().getPeer(leader);
    return peer == null ? null : peer.getClientAddress();
  }

  public String leaderId() {
    RaftPeerId leader = division().getInfo().getLeaderId();
    return leader == null ? null : leader.toString();
  }

  public long currentTerm() {
    return division().getInfo().getCurrentTerm();
  }

  /** The first index this replica's log still holds (entries before it are in the snapshot only). */
  long logStartIndex() {
    return division().getRaftLog().getStartIndex();
  }

  public long lastAppliedIndex() {
    return division().getInfo().getLastAppliedIndex();
  }

  private void onLeaderReady() {
    RaftServer.Division d = division();
    if (!d.getInfo().isLeader() || !d.getInfo().isLeaderReady()) {
      return;
    }
    long term = d.getInfo().getCurrentTerm();
    if (servingTerm == term) {
      return;
    }
    if (servingTerm != 0) {
      stopServing("a new term");
    }
    servingTerm = term;
    servingGeneration++;
    loadedThrough = d.getInfo().getLastAppliedIndex();
    log.info("replica {} is the leader of term {}: serving the fleet", options.id(), term);
    try {
      serving.start(term);
    } catch (RuntimeException e) {
      log.error("replica {} could not start serving in term {}; stepping aside", options.id(), term, e);
      servingTerm = 0;
      serving.stop();
    }
  }

  private volatile boolean closing;
  private volatile boolean failed;

  /** Raft stopped this replica's server by itself (it could not apply an entry, say): the process must restart. */
  public boolean failed() {
    return failed;
  }

  private void checkRole() {
    // Raft closes the group's division alone, not the server around it, when this replica cannot go
    // on: it could not apply an entry, it stood for election in a configuration that does not list
    // it (see ReplicaMembers.standForElectionOnlyWhenListed), or it led and removed itself. The
    // server then still runs, so both are checked: a closed division applies nothing more. `closing`
    // is read after them: close() sets it before it closes the server, so this replica's own close
    // is no failure.
    boolean closed = server.getLifeCycleState().isClosingOrClosed() || !divisionAlive();
    if (closed && !closing && !failed) {
      fail("Raft closed its server or its group's division (see the errors before this line)");
    }
    if (!closing && !failed) {
      members.standForElectionOnlyWhenListed();
    }
    if (servingTerm == 0) {
      return;
    }
    RaftServer.Division d;
    try {
      d = division();
    } catch (StoreException e) {
      stopServing("the replica is not running");
      return;
    }
    if (!d.getInfo().isLeader() || d.getInfo().getCurrentTerm() != servingTerm) {
      stopServing("no longer the leader of term " + servingTerm + " (it lost its majority, or a new term began)");
    }
  }

  /** This replica cannot go on as it is: the coordinator exits for its service manager to start it again. */
  private void fail(String why) {
    failed = true;
    log.error("replica {}: {}; the coordinator must restart", options.id(), why);
    if (servingTerm != 0) {
      stopServing("the replica failed");
    }
  }

  private boolean divisionAlive() {
    try {
      return division().getInfo().isAlive();
    } catch (StoreException e) {
      return false;
    }
  }

  private void onLeaderChanged(RaftPeerId leader) {
    log.info("replica {}: the leader is now {}", options.id(), leader == null ? "unknown (election)" : leader);
    if (!self.equals(leader) && servingTerm != 0) {
      stopServing("leader is now " + leader);
    }
  }

  private void stopServing(String why) {
    log.warn("replica {} stops serving term {} ({})", options.id(), servingTerm, why);
    proposals.writeLock().lock(); // a proposal that passed its check is in the log before this returns
    try {
      servingTerm = 0;
      servingGeneration++;
    } finally {
      proposals.writeLock().unlock();
    }
    serving.stop();
  }

  /** Counts servings (each start and stop moves it): a fleet writes only in the serving it was built in. */
  private volatile long servingGeneration;

  /** Proposals check the serving and submit under the read lock; a stop takes the write lock. */
  private final java.util.concurrent.locks.ReadWriteLock proposals = new java.util.concurrent.locks.ReentrantReadWriteLock();

  long servingGeneration() {
    return servingGeneration;
  }

  /** Proposes a store write in the serving term and waits until it is committed and applied here. */
  StoreCommand.Outcome propose(long generation, String op, Object... args) {
    long term;
    java.util.concurrent.CompletableFuture<RaftClientReply> pending;
    proposals.readLock().lock();
    try {
      term = servingTerm;
      if (term == 0) {
        throw new ReplicatedStore.NotLeaderException("replica " + options.id() + " is not the serving leader");
      }
      if (generation != 0 && generation != servingGeneration) {
        throw new ReplicatedStore.NotLeaderException("replica " + options.id() + " no longer serves the fleet that wrote this"
            + " (it serves one loaded again from its store)");
      }
      RaftClientRequest request = RaftClientRequest.newBuilder()
          .setClientId(clientId).setServerId(self).setGroupId(group.getGroupId()).setCallId(callIds.incrementAndGet())
          .setMessage(Message.valueOf(machine.seal(StoreCommand.of(term, op, args))))
          .setType(RaftClientRequest.writeRequestType())
          .build();
      pending = submit(request, "write " + op);
    } finally {
      proposals.readLock().unlock();
    }
    RaftClientReply reply = await(pending, "write " + op, term);
    return StoreCommand.decodeOutcome(reply.getMessage().getContent().toByteArray());
  }

  private java.util.concurrent.CompletableFuture<RaftClientReply> submit(RaftClientRequest request, String what) {
    try {
      return server.submitClientRequestAsync(request);
    } catch (IOException e) {
      throw new StoreException(what + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * A write of {@code term} whose caller gave up waiting (no answer within the write timeout) may
   * still commit while this replica leads: the store then holds it and the fleet in memory, built
   * before it, does not (a revoked credential still taken, an object applied again refused as a
   * conflict). When it does commit here, this replica stops serving and serves again at once,
   * loading the fleet from its store as a new leader does (agents reconnect, as after a leader
   * change). A write that failed, or did not change the store, needs nothing.
   */
  private void reloadIfCommittedLater(java.util.concurrent.CompletableFuture<RaftClientReply> pending, long term) {
    pending.whenComplete((reply, error) -> {
      if (error != null || reply == null || !reply.isSuccess()) {
        return;
      }
      String result;
      try {
        result = StoreCommand.decodeOutcome(reply.getMessage().getContent().toByteArray()).result();
      } catch (RuntimeException e) {
        result = "ok"; // unreadable: take it as stored
      }
      if (result.equals("conflict") || result.equals("fenced")) {
        return;
      }
      long index = reply.getLogIndex();
      transitions.execute(() -> {
        if (servingTerm == term && !closing && !failed && index > loadedThrough) {
          stopServing("a write it gave up waiting for was committed after all: the fleet is loaded again from the store");
          // Not at once: the log may hold later writes of this term not applied yet (proposed after
          // the one that timed out, acknowledged once applied); in the same term nothing fences
          // them, so a fleet loaded before them would never hold them. Served again once the store
          // holds every entry the log holds now (this replica proposes nothing while it does not serve).
          RaftServer.Division d;
          try {
            d = division();
          } catch (StoreException e) {
            return;
          }
          var last = d.getRaftLog().getLastEntryTermIndex();
          serveAgainOnceApplied(term, last == null ? 0 : last.getIndex());
        }
      });
    });
  }

  /** The applied index the fleet now served was loaded at (transitions thread): a later commit below it is in it. */
  private long loadedThrough;

  /** Serves again in {@code term} once this replica's store applied the log up to {@code index} (transitions thread). */
  private void serveAgainOnceApplied(long term, long index) {
    if (closing || failed || servingTerm != 0) {
      return; // closed, or serving already (a new term's leadership was ready first)
    }
    RaftServer.Division d;
    try {
      d = division();
    } catch (StoreException e) {
      return;
    }
    if (!d.getInfo().isLeader() || d.getInfo().getCurrentTerm() != term) {
      return; // no longer the leader of this term: a new term's leadership serves when it is ready
    }
    if (d.getInfo().getLastAppliedIndex() >= index) {
      onLeaderReady();
      return;
    }
    try {
      watchdog.schedule(() -> transitions.execute(() -> serveAgainOnceApplied(term, index)), 20, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closing
    }
  }

  /**
   * Returns once a majority confirmed this replica still leads (Raft's ReadIndex): what it serves
   * from memory after this is at least as new as every acknowledged write.
   */
  public void confirmLeadership() {
    requireLeading();
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(clientId).setServerId(self).setGroupId(group.getGroupId()).setCallId(callIds.incrementAndGet())
        .setMessage(Message.EMPTY)
        .setType(RaftClientRequest.readRequestType())
        .build();
    await(submit(request, "leadership check"), "leadership check", 0);
    // a replica that is a follower already forwards the read to the leader, and it succeeds: ask Raft too
    requireLeading();
  }

  private void requireLeading() {
    long term = servingTerm;
    RaftServer.Division d = division();
    if (term == 0 || !d.getInfo().isLeader() || d.getInfo().getCurrentTerm() != term) {
      throw new ReplicatedStore.NotLeaderException("replica " + options.id() + " is not the serving leader");
    }
  }

  /** @param writeTerm the serving term of a write, 0 for a read */
  private RaftClientReply await(java.util.concurrent.CompletableFuture<RaftClientReply> pending, String what, long writeTerm) {
    RaftClientReply reply;
    try {
      reply = pending.get(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      if (writeTerm != 0) {
        reloadIfCommittedLater(pending, writeTerm);
      }
      throw new StoreException(what + ": no majority answered within " + writeTimeout.toSeconds()
          + " s (it may still commit)", e, true);
    } catch (InterruptedException e) {
      // proposed, and no longer waited for: as a write that timed out, it may still commit. Before
      // 2026-12-06 it was told as not applied: a join's token use was given back in memory while
      // its node could still be registered, and a single-use token admitted a second node (helper-101)
      Thread.currentThread().interrupt();
      if (writeTerm != 0) {
        reloadIfCommittedLater(pending, writeTerm);
      }
      throw new StoreException(what + ": interrupted (it may still commit)", e, writeTerm != 0);
    } catch (java.util.concurrent.ExecutionException e) {
      // proposed: whether it was appended is not known
      throw new StoreException(what + " failed: " + e.getCause(), e.getCause(), writeTerm != 0);
    }
    if (!reply.isSuccess()) {
      if (reply.getException() instanceof org.apache.ratis.protocol.exceptions.LeaderNotReadyException) { // refused before it was appended
        throw new ReplicatedStore.NotLeaderException(what + ": replica " + options.id() + " is not ready to lead yet");
      }
      if (reply.getNotLeaderException() != null) { // also how a pending entry fails when its leader steps down: a new one may commit it
        throw new ReplicatedStore.NotLeaderException(what + ": replica " + options.id() + " is no longer the leader", true);
      }
      throw new StoreException(what + " failed: " + reply.getException(), reply.getException());
    }
    return reply;
  }

  /** A consistent copy of this replica's store (for a joining replica), at the log position it records. */
  public void copyStore(Path file) {
    machine.read(s -> {
      s.copyTo(file);
      return null;
    });
  }

  /** The commit index each member reported to this replica (the leader knows all of them), by id. */
  public java.util.Map<String, Long> commitIndices() {
    return members.commitIndices();
  }

  /** The group's members as this replica's configuration lists them. */
  public List<ReplicationOptions.Peer> members() {
    return members.members();
  }

  /**
   * Changes the group's members from what they are now (the leader only), one change at a time (see
   * ReplicaMembers.changeMembers for why). Blocks while Raft brings a new member up to date.
   */
  public List<ReplicationOptions.Peer> changeMembers(java.util.function.UnaryOperator<List<ReplicationOptions.Peer>> change) {
    return members.changeMembers(change);
  }

  /** Sets the group's members to exactly these (the leader only), in turn with {@link #changeMembers}. */
  public void setMembers(List<ReplicationOptions.Peer> peers) {
    changeMembers(now -> peers);
  }

  @Override
  public void close() {
    closing = true;
    try {
      server.close();
    } catch (IOException e) {
      log.warn("closing replica {}: {}", options.id(), e.toString());
    }
    watchdog.shutdownNow();
    transitions.shutdown();
    if (servingTerm != 0) {
      servingTerm = 0;
      serving.stop();
    }
  }
}
