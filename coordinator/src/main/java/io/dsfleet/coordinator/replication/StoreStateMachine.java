package io.dsfleet.coordinator.replication;

import io.dsfleet.common.SecretBox;
import io.dsfleet.coordinator.store.SqliteStore;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's store as a Raft state machine: each committed entry is a sealed
 * {@link StoreCommand} applied to this replica's SQLite file in one transaction together with the
 * entry's position, so a restart applies each entry once. A snapshot is a consistent copy of the
 * database ({@code VACUUM INTO}); a replica that fell behind the leader's log gets the leader's
 * latest copy and reopens its store from it.
 */
final class StoreStateMachine extends BaseStateMachine {
  private static final Logger log = LoggerFactory.getLogger(StoreStateMachine.class);
  /** The authenticated-encryption context of log entries: they carry Secrets. */
  static final String ENTRY_CONTEXT = "dsfleet raft entry";

  private final Path dataDir;
  private final SecretBox box;
  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final Listener listener;
  private volatile SqliteStore store;

  /** What the replica's serving side hears from Raft, on Raft's threads: hand off, never block. */
  interface Listener {
    void leaderChanged(RaftPeerId leader);

    void leaderReady();

    /** Raft could not write its log (a full disk, an I/O error): it writes nothing more, so the replica cannot go on. */
    void logFailed(Throwable cause);
  }

  StoreStateMachine(Path dataDir, SecretBox box, Listener listener) {
    this.dataDir = dataDir;
    this.box = box;
    this.listener = listener;
  }

  private final java.util.concurrent.locks.ReadWriteLock swap = new java.util.concurrent.locks.ReentrantReadWriteLock();

  /** A read of this replica's copy; waits while a snapshot from the leader replaces it. */
  <T> T read(java.util.function.Function<SqliteStore, T> query) {
    swap.readLock().lock();
    try {
      return query.apply(store);
    } finally {
      swap.readLock().unlock();
    }
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    store = SqliteStore.openReplicas(dataDir);
    long[] applied = store.appliedEntry();
    SingleFileSnapshotInfo snapshot = storage.getLatestSnapshot();
    if (snapshot != null && snapshot.getIndex() > applied[1]) {
      // the database is older than the snapshot beside it (a copy that did not finish)
      loadSnapshot(snapshot);
      applied = store.appliedEntry();
    } else if (snapshot == null && applied[1] > 0) {
      // a store with no snapshot beside it (the copy `ds-coordinator join` wrote, or a replica that
      // never reached its first snapshot): made its snapshot now, so the log starts after it
      snapshotAt(TermIndex.valueOf(applied[0], applied[1]));
    }
    setLastAppliedTermIndex(TermIndex.valueOf(applied[0], applied[1]));
    getLifeCycle().transition(LifeCycle.State.STARTING);
    getLifeCycle().transition(LifeCycle.State.RUNNING);
    log.info("replicated store: applied up to log index {} (term {})", applied[1], applied[0]);
  }

  /** Counts pauses, so a snapshot reloaded while another is being written does not resume the state machine under it. */
  private final java.util.concurrent.atomic.AtomicLong pauses = new java.util.concurrent.atomic.AtomicLong();

  /** Raft pauses the state machine before it writes a snapshot from the leader into its storage. */
  @Override
  public void pause() {
    pauses.incrementAndGet();
    if (getLifeCycleState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  /** The snapshot from the leader is in place: the store is reopened from it. */
  @Override
  public void reinitialize() throws IOException {
    long generation = pauses.get();
    SingleFileSnapshotInfo snapshot = storage.loadLatestSnapshot();
    if (snapshot != null && snapshot.getIndex() > store.appliedEntry()[1]) {
      loadSnapshot(snapshot);
    }
    long[] applied = store.appliedEntry();
    setLastAppliedTermIndex(TermIndex.valueOf(applied[0], applied[1]));
    if (getLifeCycleState() == LifeCycle.State.PAUSED && pauses.get() == generation) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  private void loadSnapshot(SingleFileSnapshotInfo snapshot) {
    Path file = snapshot.getFile().getPath();
    log.info("replicated store: loading the snapshot at log index {} ({})", snapshot.getIndex(), file);
    swap.writeLock().lock();
    try {
      if (store != null) {
        store.close();
      }
      SqliteStore.replaceWith(dataDir, file);
      store = SqliteStore.openReplicas(dataDir);
    } finally {
      swap.writeLock().unlock();
    }
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return storage;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    long term = entry.getTerm();
    long index = entry.getIndex();
    if (index <= getLastAppliedTermIndex().getIndex()) {
      return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(
          StoreCommand.encode(new StoreCommand.Outcome("ok", "applied before", null)))));
    }
    StoreCommand.Outcome outcome;
    try {
      byte[] plain = box.open(entry.getStateMachineLogEntry().getLogData().toByteArray(), ENTRY_CONTEXT);
      StoreCommand command = StoreCommand.decode(plain);
      outcome = store.applyEntry(term, index, () -> command.term() != term
          ? new StoreCommand.Outcome("fenced", "proposed by the leader of term " + command.term()
              + ", committed in term " + term, null)
          : command.applyTo(store));
    } catch (RuntimeException e) {
      // a replica that cannot apply a committed entry (a full disk, say) must not go on without it:
      // thrown, not returned as a failed future (which Raft only logs), so Raft stops this replica;
      // restarted once the cause is fixed, it applies the entry again from its log
      log.error("replicated store: cannot apply log entry {} (term {}); this replica stops", index, term, e);
      throw e;
    }
    updateLastAppliedTermIndex(term, index);
    return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(StoreCommand.encode(outcome))));
  }

  /**
   * A client's request is taken into the log only if it is sealed with the group's key (the
   * replicas' own writes always are): before 2026-12-05 a client holding a replica certificate of
   * the CA, a removed replica's say, without the key, had a plaintext command applied, and a junk
   * entry stopped every replica at each replay of its log (a review). Refused here, on the leader,
   * it never reaches the log; a committed entry that a replica cannot open still stops that replica
   * (its key is not the group's: it must not go on without the entry).
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext context = super.startTransaction(request);
    byte[] data = request.getMessage().getContent().toByteArray();
    String refusal = null;
    if (!SecretBox.isSealed(data)) {
      refusal = "not sealed with the group's key";
    } else {
      try {
        box.open(data, ENTRY_CONTEXT);
      } catch (IllegalStateException e) {
        refusal = e.getMessage();
      }
    }
    if (refusal != null) {
      log.warn("replicated store: a request of client {} was not written by a replica of this group ({}); refused", request.getClientId(),
          refusal);
      context.setException(new IOException("refused: not written by a replica of this group (" + refusal + ")"));
    }
    return context;
  }

  /**
   * Raft's own entries reach the state machine only as a position. Replayed after a restart (from
   * the last snapshot) or after a snapshot older than the store was installed, they lie below what
   * the store already holds: ignored, the position never moves back.
   */
  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    if (index > getLastAppliedTermIndex().getIndex()) {
      super.notifyTermIndexUpdated(term, index);
    }
  }

  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last.getIndex() <= 0) {
      return -1;
    }
    snapshotAt(last);
    return last.getIndex();
  }

  private void snapshotAt(TermIndex last) throws IOException {
    File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    Files.deleteIfExists(file.toPath());
    Path tmp = file.toPath().resolveSibling(file.getName() + ".tmp");
    Files.deleteIfExists(tmp);
    // Raft's own entries (a leader's first, commit metadata) reach the state machine only as a
    // position: recorded now, so the copy holds the position the snapshot is named by
    store.applyEntry(last.getTerm(), last.getIndex(), () -> null);
    store.copyTo(tmp);
    Files.move(tmp, file.toPath(), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
    storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
    log.info("replicated store: snapshot at log index {} ({} bytes)", last.getIndex(), Files.size(file.toPath()));
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId leader) {
    listener.leaderChanged(leader);
  }

  @Override
  public void notifyLeaderReady() {
    listener.leaderReady();
  }

  /**
   * Raft's log writer failed: from then on it fails every append ("Log already failed") while the
   * server runs on, answering heartbeats and never catching up, also once the disk has room again
   * (seen with a full disk: the replica stayed up, behind, for good). Only a restart reopens the log.
   */
  @Override
  public void notifyLogFailed(Throwable cause, LogEntryProto failedEntry) {
    log.error("replicated store: Raft could not write its log{}; this replica stops",
        failedEntry == null ? "" : " at index " + failedEntry.getIndex(), cause);
    listener.logFailed(cause);
  }

  @Override
  public void close() throws IOException {
    super.close();
    SqliteStore s = store;
    if (s != null) {
      s.close();
    }
  }

  /** Seals a command for the log. */
  ByteString seal(StoreCommand command) {
    return ByteString.copyFrom(box.seal(command.encode(), ENTRY_CONTEXT));
  }

}
