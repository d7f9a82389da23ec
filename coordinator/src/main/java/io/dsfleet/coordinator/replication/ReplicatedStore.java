package io.dsfleet.coordinator.replication;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.StoreException;
import java.util.List;
import java.util.Map;

/**
 * The {@link Store} of a replica: reads from its own SQLite copy, writes as Raft log entries that
 * return once a majority holds them and this replica applied them. Only the serving leader
 * writes: each write names the term it serves in, and a write committed in any other term is
 * refused on every replica ({@link StoreCommand}).
 */
public final class ReplicatedStore implements Store {
  private final StoreStateMachine machine;
  private final Replica replica;

  /** The serving whose fleet writes through this store ({@link #forThisServing}); 0: any serving. */
  private final long serving;

  ReplicatedStore(StoreStateMachine machine, Replica replica) {
    this(machine, replica, 0);
  }

  private ReplicatedStore(StoreStateMachine machine, Replica replica, long serving) {
    this.machine = machine;
    this.replica = replica;
    this.serving = serving;
  }

  /**
   * This store for the fleet built by the serving that begins now ({@link Replica.Serving#start}):
   * its writes are refused once that serving stops, also when the replica serves again in the same
   * term (a reload after a late commit, which no term fences): a call still running in the stopped
   * fleet must not write what the fleet loaded anew does not hold.
   */
  public ReplicatedStore forThisServing() {
    return new ReplicatedStore(machine, replica, replica.servingGeneration());
  }

  /** This replica lost (or never had) the leadership it was writing under. */
  public static final class NotLeaderException extends StoreException {
    public NotLeaderException(String message) {
      super(message, null);
    }

    /** Told once the write was proposed: a new leader may commit it. */
    public NotLeaderException(String message, boolean mayHaveApplied) {
      super(message, null, mayHaveApplied);
    }
  }

  private <T> T read(java.util.function.Function<SqliteStore, T> query) {
    return machine.read(query);
  }

  private StoreCommand.Outcome write(String op, Object... args) {
    StoreCommand.Outcome outcome = replica.propose(serving, op, args);
    if (outcome.result().equals("fenced")) {
      throw new NotLeaderException("write refused: " + outcome.message());
    }
    return outcome;
  }

  @Override
  public List<StoredObject> objects() {
    return read(SqliteStore::objects);
  }

  @Override
  public Written putObjects(List<ObjectWrite> writes) {
    StoreCommand.Outcome outcome = write("putObjects", writes);
    if (outcome.result().equals("conflict")) {
      throw new ConflictException(outcome.message());
    }
    return outcome.written();
  }

  @Override
  public void deleteObject(String kind, String namespace, String name) {
    write("deleteObject", kind, namespace, name);
  }

  @Override
  public void pruneRevisions(String namespace, String name, List<Long> revisions) {
    write("pruneRevisions", namespace, name, revisions);
  }

  @Override
  public void deleteDaemonSetOrphaning(String namespace, String name, List<Orphan> orphans, List<Long> keptRevisions) {
    write("orphanDaemonSet", namespace, name, orphans, keptRevisions); // an entry of its own: an older replica stops on it, not drops the kept ones
  }

  @Override
  public List<Orphan> orphans() {
    return read(SqliteStore::orphans);
  }

  @Override
  public List<String> orphans(String node) {
    return read(s -> s.orphans(node));
  }

  @Override
  public void deleteOrphans(String node, List<String> pods) {
    write("deleteOrphans", node, pods);
  }

  @Override
  public List<StoredRevision> revisions() {
    return read(SqliteStore::revisions);
  }

  @Override
  public List<StoredNode> nodes() {
    return read(SqliteStore::nodes);
  }

  @Override
  public void putNode(StoredNode node) {
    putNodes(List.of(node));
  }

  @Override
  public void deleteNode(String name) {
    write("deleteNode", name);
  }

  @Override
  public void putNodes(List<StoredNode> nodes) {
    write("putNodes", nodes);
  }

  @Override
  public void admitNode(StoredNode node, TokenUse use) {
    write("admitNode", node, use);
  }

  @Override
  public void putRollout(String namespace, String name, String json) {
    write("putRollout", namespace, name, json);
  }

  @Override
  public void putEvents(List<StoredEvent> events, int keepPerObject) {
    write("putEvents", events, keepPerObject);
  }

  @Override
  public List<StoredEvent> events() {
    return read(SqliteStore::events);
  }

  @Override
  public void deleteEvents(String object) {
    write("deleteEvents", object);
  }

  @Override
  public Map<String, String> rollouts() {
    return read(SqliteStore::rollouts);
  }

  @Override
  public void putToken(StoredToken token) {
    write("putToken", token);
  }

  @Override
  public List<StoredToken> tokens() {
    return read(SqliteStore::tokens);
  }

  @Override
  public void putCertificate(IssuedCertificate certificate) {
    write("putCertificate", certificate);
  }

  @Override
  public List<IssuedCertificate> certificates() {
    return read(SqliteStore::certificates);
  }

  @Override
  public void deleteCertificatesExpiredBefore(long millis) {
    write("deleteCertificatesExpiredBefore", millis);
  }

  @Override
  public int schemaVersion() {
    return read(SqliteStore::schemaVersion);
  }

  @Override
  public String identity() {
    return read(SqliteStore::identity);
  }

  /** The replica closes the local store with its state machine. */
  @Override
  public void close() {
  }
}
