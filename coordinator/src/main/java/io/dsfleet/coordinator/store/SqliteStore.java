package io.dsfleet.coordinator.store;

import io.dsfleet.common.SecretBox;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The store on the embedded database ({@link SqliteDatabase}): objects with compare-and-set and
 * the resourceVersion counter, revisions numbered here, rollout states, nodes, orphans, events,
 * join tokens and issued certificates. Every write is one transaction; each table's rows are read
 * by {@link SqliteReads}, under this store's lock.
 */
public final class SqliteStore extends SqliteDatabase implements Store {
  /** Where the key that seals Secrets lives: next to the CA key, not in the database file. */
  public static Path secretsKey(Path dataDir) {
    return dataDir.resolve("pki").resolve("secrets.key");
  }

  private final SealedSecrets secrets;
  /** The Secrets key, from which the store's {@link #identity} is derived. */
  private final SecretBox key;

  /**
   * The store of a data directory that may already hold one (serve, init): refused, naming the
   * file, where the directory shows it held a store that is gone ({@link StoreFiles#refuseLost}).
   * A replica's store is not opened so: a replica with its store gone is rebuilt from its
   * snapshot and log.
   */
  public static SqliteStore openKept(Path dataDir) {
    StoreFiles.refuseLost(dataDir);
    return new SqliteStore(dataDir, Opened.KEPT);
  }

  /** A replica's store: one deleted or replaced under it is rebuilt from its snapshot and log when it starts again, not copied. */
  public static SqliteStore openReplicas(Path dataDir) {
    return new SqliteStore(dataDir, Opened.REPLICA);
  }

  /** Copies the WAL into the database and empties it: old pages (plain Secrets) leave the WAL file. */
  private synchronized void checkpoint() {
    try (Statement s = db.createStatement()) {
      s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (SQLException e) {
      throw new StoreException("checkpointing the store", e);
    }
  }

  /**
   * The store in this directory. Secrets are sealed with the key in {@link #secretsKey} (made on
   * first use): a copy of {@code dsfleet.db} alone holds none in the clear. Secrets an older
   * coordinator stored in the clear are sealed here, once.
   */
  public SqliteStore(Path dataDir) {
    this(dataDir, Opened.PLAIN);
  }

  private SqliteStore(Path dataDir, Opened how) {
    super(dataDir, how);
    try {
      SealedSecrets.refuseLostKey(db, secretsKey(dataDir));
      this.key = SecretBox.loadOrCreate(secretsKey(dataDir));
      this.secrets = new SealedSecrets(key);
      int[] sealed = new int[1];
      tx(() -> sealed[0] = secrets.sealPlain(db));
      if (sealed[0] > 0) {
        checkpoint();
      }
    } catch (RuntimeException e) {
      closeAfterFailedOpen(db, dataDir, e); // as the database's own open does
      throw e;
    }
  }

  /**
   * Runs a replicated write and records the Raft log position it came from in the same
   * transaction, so a replica that restarts applies each entry exactly once.
   */
  public synchronized <T> T applyEntry(long term, long index, java.util.function.Supplier<T> write) {
    Object[] out = new Object[1];
    tx(() -> {
      out[0] = write.get();
      setCounter("raft_applied_term", term);
      setCounter("raft_applied_index", index);
    });
    @SuppressWarnings("unchecked")
    T result = (T) out[0];
    return result;
  }

  /** {@link StoreIdentity}: from the Secrets key and the store's epoch. */
  @Override
  public synchronized String identity() {
    try {
      return StoreIdentity.of(key, SqliteReads.counter(db, StoreIdentity.EPOCH));
    } catch (SQLException e) {
      throw new StoreException("reading the store's identity", e);
    }
  }

  /** Gives the store a new {@link #identity} (a restore: the agents' pods came from the store the backup was taken of, not from this one). */
  public synchronized void renewIdentity() {
    tx(() -> setCounter(StoreIdentity.EPOCH, StoreIdentity.newEpoch()));
  }

  /** The Raft log position of the last entry applied here: {term, index}, {0, 0} for none. */
  public synchronized long[] appliedEntry() {
    try {
      return new long[] {SqliteReads.counter(db, "raft_applied_term"), SqliteReads.counter(db, "raft_applied_index")};
    } catch (SQLException e) {
      throw new StoreException("reading the applied log position", e);
    }
  }

  /**
   * A consistent copy of the whole database in {@code file} (which must not exist): SQLite's
   * {@code VACUUM INTO}, taken under the store's lock so no write lands half-way. Secrets stay
   * sealed in it.
   */
  public synchronized void copyTo(Path file) {
    StoreFiles.copy(db, file);
  }

  /** Replaces the (closed) database of {@code dataDir} with a copy made by {@link #copyTo} ({@link StoreReplacement}). */
  public static void replaceWith(Path dataDir, Path copy) {
    StoreReplacement.replace(dataDir, StoreReplacement.from(copy), written -> {});
  }

  @Override
  public synchronized List<StoredObject> objects() {
    return SqliteReads.objects(db, secrets);
  }

  @Override
  public Written putObjects(List<ObjectWrite> writes) {
    List<StoredObject> objects = new ArrayList<>();
    List<StoredRevision> revisions = new ArrayList<>();
    tx(() -> {
      long rv = SqliteReads.counter(db, "resource_version");
      for (ObjectWrite w : writes) {
        StoredObject o = w.object();
        long current = resourceVersion(o.kind(), o.namespace(), o.name());
        if (w.expectedResourceVersion() >= 0 && current != w.expectedResourceVersion()) {
          throw new ConflictException(o.kind() + " " + o.namespace() + "/" + o.name() + ": resourceVersion is "
              + (current == 0 ? "none (it does not exist)" : String.valueOf(current)) + ", not " + w.expectedResourceVersion());
        }
        rv++;
        StoredObject stored = new StoredObject(o.kind(), o.namespace(), o.name(), o.json(), o.generation(), rv, o.createdAtMillis());
        StoredRevision rev = w.newRevision();
        if (rev != null) {
          long number = nextRevision(o.namespace(), o.name());
          rev = new StoredRevision(rev.namespace(), rev.name(), number, rev.hash(), rev.templateJson(), rev.changeCause(), rev.createdAtMillis());
        }
        write(stored, rev, w.pruneRevisions());
        if (w.rolloutJson() != null) {
          rollout(o.namespace(), o.name(), w.rolloutJson().isEmpty() ? null : w.rolloutJson());
        }
        objects.add(stored);
        revisions.add(rev);
      }
      setCounter("resource_version", rv);
    });
    return new Written(objects, revisions);
  }

  private void write(StoredObject o, StoredRevision rev, List<Long> prune) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement(
        "INSERT OR REPLACE INTO objects (kind, namespace, name, json, generation, resource_version, created_at) VALUES (?,?,?,?,?,?,?)")) {
      ps.setString(1, o.kind());
      ps.setString(2, o.namespace());
      ps.setString(3, o.name());
      ps.setString(4, secrets.seal(o));
      ps.setLong(5, o.generation());
      ps.setLong(6, o.resourceVersion());
      ps.setLong(7, o.createdAtMillis());
      ps.executeUpdate();
    }
    try (PreparedStatement ps = db.prepareStatement("DELETE FROM revisions WHERE namespace=? AND name=? AND revision=?")) {
      for (long r : prune) {
        ps.setString(1, o.namespace());
        ps.setString(2, o.name());
        ps.setLong(3, r);
        ps.executeUpdate();
      }
    }
    if (rev != null) {
      try (PreparedStatement ps = db.prepareStatement(
          "INSERT INTO revisions (namespace, name, revision, hash, template_json, change_cause, created_at) VALUES (?,?,?,?,?,?,?)")) {
        ps.setString(1, rev.namespace());
        ps.setString(2, rev.name());
        ps.setLong(3, rev.revision());
        ps.setString(4, rev.hash());
        ps.setString(5, rev.templateJson());
        ps.setString(6, rev.changeCause());
        ps.setLong(7, rev.createdAtMillis());
        ps.executeUpdate();
      }
    }
  }

  private long resourceVersion(String kind, String namespace, String name) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement("SELECT resource_version FROM objects WHERE kind=? AND namespace=? AND name=?")) {
      ps.setString(1, kind);
      ps.setString(2, namespace);
      ps.setString(3, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  private long nextRevision(String namespace, String name) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement("SELECT COALESCE(MAX(revision), 0) FROM revisions WHERE namespace=? AND name=?")) {
      ps.setString(1, namespace);
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        return (rs.next() ? rs.getLong(1) : 0) + 1;
      }
    }
  }

  private void setCounter(String name, long value) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement("INSERT OR REPLACE INTO counters (name, value) VALUES (?,?)")) {
      ps.setString(1, name);
      ps.setLong(2, value);
      ps.executeUpdate();
    }
  }

  @Override
  public void pruneRevisions(String namespace, String name, List<Long> revisions) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM revisions WHERE namespace=? AND name=? AND revision=?")) {
        for (long r : revisions) {
          ps.setString(1, namespace);
          ps.setString(2, name);
          ps.setLong(3, r);
          ps.executeUpdate();
        }
      }
    });
  }

  @Override
  public void deleteDaemonSetOrphaning(String namespace, String name, List<Orphan> orphans, List<Long> keptRevisions) {
    tx(() -> {
      deleteRows("DaemonSet", namespace, name, keptRevisions);
      try (PreparedStatement ps = db.prepareStatement("INSERT OR REPLACE INTO orphans (node, pod) VALUES (?,?)")) {
        for (Orphan o : orphans) {
          ps.setString(1, o.node());
          ps.setString(2, o.pod());
          ps.executeUpdate();
        }
      }
    });
  }

  @Override
  public synchronized List<String> orphans(String node) {
    return SqliteReads.orphans(db, node);
  }

  @Override
  public synchronized List<Orphan> orphans() {
    return SqliteReads.orphans(db);
  }

  @Override
  public void deleteOrphans(String node, List<String> pods) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM orphans WHERE node=? AND pod=?")) {
        for (String pod : pods) {
          ps.setString(1, node);
          ps.setString(2, pod);
          ps.executeUpdate();
        }
      }
    });
  }

  @Override
  public void deleteObject(String kind, String namespace, String name) {
    tx(() -> deleteRows(kind, namespace, name, List.of()));
  }

  /** @param keptRevisions of a DaemonSet, the revisions that stay (orphaned) */
  private void deleteRows(String kind, String namespace, String name, List<Long> keptRevisions) throws SQLException {
    {
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?")) {
        ps.setString(1, kind);
        ps.setString(2, namespace);
        ps.setString(3, name);
        ps.executeUpdate();
      }
      if (kind.equals("DaemonSet")) {
        for (String table : new String[] {"revisions", "rollouts"}) {
          try (PreparedStatement ps = db.prepareStatement("DELETE FROM " + table + " WHERE namespace=? AND name=?"
              + (table.equals("revisions") ? " AND revision NOT IN (SELECT value FROM json_each(?))" : ""))) {
            ps.setString(1, namespace);
            ps.setString(2, name);
            if (table.equals("revisions")) {
              ps.setString(3, keptRevisions.toString());
            }
            ps.executeUpdate();
          }
        }
      }
    }
  }

  @Override
  public synchronized List<StoredRevision> revisions() {
    return SqliteReads.revisions(db);
  }

  @Override
  public synchronized List<StoredNode> nodes() {
    return SqliteReads.nodes(db);
  }

  @Override
  public void putNode(StoredNode n) {
    putNodes(List.of(n));
  }

  @Override
  public void putNodes(List<StoredNode> nodes) {
    tx(() -> nodeRows(nodes));
  }

  @Override
  public void admitNode(StoredNode node, TokenUse use) {
    tx(() -> {
      nodeRows(List.of(node));
      try (PreparedStatement ps = db.prepareStatement("UPDATE join_tokens SET uses = MAX(uses, ?) WHERE id = ?")) {
        ps.setInt(1, use.uses());
        ps.setString(2, use.tokenId());
        ps.executeUpdate();
      }
    });
  }

  private void nodeRows(List<StoredNode> nodes) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement(
        "INSERT OR REPLACE INTO nodes (name, info_json, admin_labels_json, admin_taints_json, unschedulable, joined_at, state_json)"
            + " VALUES (?,?,?,?,?,?,?)")) {
      for (StoredNode n : nodes) {
        ps.setString(1, n.name());
        ps.setString(2, n.infoJson());
        ps.setString(3, n.adminLabelsJson());
        ps.setString(4, n.adminTaintsJson());
        ps.setInt(5, n.unschedulable() ? 1 : 0);
        ps.setLong(6, n.joinedAtMillis());
        ps.setString(7, n.stateJson());
        ps.executeUpdate();
      }
    }
  }

  @Override
  public void deleteNode(String name) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM nodes WHERE name=?")) {
        ps.setString(1, name);
        ps.executeUpdate();
      }
    });
  }

  @Override
  public void putRollout(String namespace, String name, String json) {
    tx(() -> rollout(namespace, name, json));
  }

  private void rollout(String namespace, String name, String json) throws SQLException {
    String sql = json == null ? "DELETE FROM rollouts WHERE namespace=? AND name=?"
        : "INSERT OR REPLACE INTO rollouts (namespace, name, json) VALUES (?,?,?)";
    try (PreparedStatement ps = db.prepareStatement(sql)) {
      ps.setString(1, namespace);
      ps.setString(2, name);
      if (json != null) {
        ps.setString(3, json);
      }
      ps.executeUpdate();
    }
  }

  @Override
  public void putEvents(List<StoredEvent> events, int keepPerObject) {
    tx(() -> {
      java.util.Set<String> touched = new java.util.TreeSet<>();
      try (PreparedStatement ps = db.prepareStatement("INSERT INTO events (object, at, type, reason, message) VALUES (?,?,?,?,?)")) {
        for (StoredEvent e : events) {
          ps.setString(1, e.object());
          ps.setLong(2, e.atMillis());
          ps.setString(3, e.type());
          ps.setString(4, e.reason());
          ps.setString(5, e.message());
          ps.executeUpdate();
          touched.add(e.object());
        }
      }
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM events WHERE object=? AND seq NOT IN"
          + " (SELECT seq FROM events WHERE object=? ORDER BY seq DESC LIMIT ?)")) {
        for (String o : touched) {
          ps.setString(1, o);
          ps.setString(2, o);
          ps.setInt(3, keepPerObject);
          ps.executeUpdate();
        }
      }
    });
  }

  @Override
  public synchronized List<StoredEvent> events() {
    return SqliteReads.events(db);
  }

  @Override
  public void deleteEvents(String object) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM events WHERE object=?")) {
        ps.setString(1, object);
        ps.executeUpdate();
      }
    });
  }

  @Override
  public synchronized Map<String, String> rollouts() {
    return SqliteReads.rollouts(db);
  }

  @Override
  public void putToken(StoredToken t) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement("INSERT OR REPLACE INTO join_tokens"
          + " (id, secret_hash, description, created_at, expires_at, revoked_at, uses, node, max_uses) VALUES (?,?,?,?,?,?,?,?,?)")) {
        ps.setString(1, t.id());
        ps.setString(2, t.secretHash());
        ps.setString(3, t.description());
        ps.setLong(4, t.createdMillis());
        ps.setLong(5, t.expiresMillis());
        ps.setLong(6, t.revokedMillis());
        ps.setInt(7, t.uses());
        ps.setString(8, t.node());
        ps.setInt(9, t.maxUses());
        ps.executeUpdate();
      }
    });
  }

  @Override
  public synchronized List<StoredToken> tokens() {
    return SqliteReads.tokens(db);
  }

  @Override
  public void putCertificate(IssuedCertificate c) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement(
          "INSERT OR REPLACE INTO certificates (serial, name, role, not_after, revoked_at, issued_at, via, sha256)"
              + " VALUES (?,?,?,?,?,?,?,?)")) {
        ps.setString(1, c.serial());
        ps.setString(2, c.name());
        ps.setString(3, c.role());
        ps.setLong(4, c.notAfterMillis());
        ps.setLong(5, c.revokedMillis());
        ps.setLong(6, c.issuedMillis());
        ps.setString(7, c.via());
        ps.setString(8, c.sha256());
        ps.executeUpdate();
      }
    });
  }

  @Override
  public void deleteCertificatesExpiredBefore(long millis) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM certificates WHERE not_after < ?")) {
        ps.setLong(1, millis);
        ps.executeUpdate();
      }
    });
  }

  @Override
  public synchronized List<IssuedCertificate> certificates() {
    return SqliteReads.certificates(db);
  }
}
