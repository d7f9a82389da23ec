package io.dsfleet.coordinator.store;

import io.dsfleet.common.OwnerOnlyFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The embedded store: one SQLite file, {@code <data-dir>/dsfleet.db}, in WAL mode with
 * {@code synchronous=FULL} so a committed transaction is on disk before the call returns. The
 * schema carries a version ({@code PRAGMA user_version}); {@link #MIGRATIONS} are applied in order
 * on open, so a newer coordinator upgrades an older file forward and never the other way.
 */
public final class SqliteStore implements Store {
  /** Migration i takes the schema from version i to i+1. Append only. */
  private static final List<List<String>> MIGRATIONS = List.of(
      List.of(
        "CREATE TABLE objects (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL,"
            + " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL, created_at INTEGER NOT NULL,"
            + " PRIMARY KEY (kind, namespace, name))",
        "CREATE TABLE revisions (namespace TEXT NOT NULL, name TEXT NOT NULL, revision INTEGER NOT NULL,"
            + " hash TEXT NOT NULL, template_json TEXT NOT NULL, change_cause TEXT, created_at INTEGER NOT NULL,"
            + " PRIMARY KEY (namespace, name, revision))",
        "CREATE TABLE nodes (name TEXT PRIMARY KEY, info_json TEXT NOT NULL, admin_labels_json TEXT NOT NULL,"
            + " admin_taints_json TEXT NOT NULL, unschedulable INTEGER NOT NULL, joined_at INTEGER NOT NULL)",
        "CREATE TABLE rollouts (namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL,"
            + " PRIMARY KEY (namespace, name))"),
      // 2: pods orphaned by `delete --cascade=orphan`, until their node acknowledges them
      List.of("CREATE TABLE orphans (node TEXT NOT NULL, pod TEXT NOT NULL, PRIMARY KEY (node, pod))"),
      // 3: join tokens (a hash of the secret only) and the certificates the CA issued, for revocation
      List.of("CREATE TABLE join_tokens (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, description TEXT NOT NULL,"
              + " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL, uses INTEGER NOT NULL)",
          "CREATE TABLE certificates (serial TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
              + " not_after INTEGER NOT NULL, revoked_at INTEGER NOT NULL)"));

  private final Connection db;

  public SqliteStore(Path dataDir) {
    try {
      OwnerOnlyFiles.directory(dataDir);
      db = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("dsfleet.db"));
      try (Statement s = db.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=FULL");
        s.execute("PRAGMA foreign_keys=ON");
      }
      migrate();
    } catch (Exception e) {
      throw new StoreException("cannot open the store in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  private void migrate() throws SQLException {
    int version = schemaVersion();
    if (version > MIGRATIONS.size()) {
      throw new SQLException("the data directory has schema version " + version
          + ", newer than this coordinator knows (" + MIGRATIONS.size() + "); run a newer coordinator");
    }
    for (int v = version; v < MIGRATIONS.size(); v++) {
      final int target = v + 1;
      tx(() -> {
        try (Statement s = db.createStatement()) {
          for (String sql : MIGRATIONS.get(target - 1)) {
            s.execute(sql);
          }
          s.execute("PRAGMA user_version=" + target);
        }
      });
    }
  }

  @Override
  public synchronized int schemaVersion() {
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
      return rs.next() ? rs.getInt(1) : 0;
    } catch (SQLException e) {
      throw new StoreException("reading the schema version", e);
    }
  }

  public static int latestSchemaVersion() {
    return MIGRATIONS.size();
  }

  @FunctionalInterface
  private interface SqlWork {
    void run() throws SQLException;
  }

  private synchronized void tx(SqlWork work) {
    try {
      db.setAutoCommit(false);
      try {
        work.run();
        db.commit();
      } catch (SQLException | RuntimeException e) {
        db.rollback();
        throw e;
      } finally {
        db.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new StoreException("store write failed: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized List<StoredObject> objects() {
    List<StoredObject> out = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery("SELECT kind, namespace, name, json, generation, resource_version, created_at FROM objects")) {
      while (rs.next()) {
        out.add(new StoredObject(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5),
            rs.getLong(6), rs.getLong(7)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading objects", e);
    }
    return out;
  }

  @Override
  public void putObjects(List<ObjectWrite> writes) {
    tx(() -> {
      for (ObjectWrite w : writes) {
        write(w.object(), w.newRevision(), w.pruneRevisions());
      }
    });
  }

  private void write(StoredObject o, StoredRevision rev, List<Long> prune) throws SQLException {
    {
      try (PreparedStatement ps = db.prepareStatement(
          "INSERT OR REPLACE INTO objects (kind, namespace, name, json, generation, resource_version, created_at) VALUES (?,?,?,?,?,?,?)")) {
        ps.setString(1, o.kind());
        ps.setString(2, o.namespace());
        ps.setString(3, o.name());
        ps.setString(4, o.json());
        ps.setLong(5, o.generation());
        ps.setLong(6, o.resourceVersion());
        ps.setLong(7, o.createdAtMillis());
        ps.executeUpdate();
      }
      if (rev != null) {
        try (PreparedStatement ps = db.prepareStatement(
            "INSERT OR REPLACE INTO revisions (namespace, name, revision, hash, template_json, change_cause, created_at) VALUES (?,?,?,?,?,?,?)")) {
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
      for (long r : prune) {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM revisions WHERE namespace=? AND name=? AND revision=?")) {
          ps.setString(1, o.namespace());
          ps.setString(2, o.name());
          ps.setLong(3, r);
          ps.executeUpdate();
        }
      }
    }
  }

  @Override
  public void deleteDaemonSetOrphaning(String namespace, String name, List<Orphan> orphans) {
    tx(() -> {
      deleteRows("DaemonSet", namespace, name);
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
  public synchronized List<Orphan> orphans() {
    List<Orphan> out = new ArrayList<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT node, pod FROM orphans")) {
      while (rs.next()) {
        out.add(new Orphan(rs.getString(1), rs.getString(2)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading orphans", e);
    }
    return out;
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
    tx(() -> deleteRows(kind, namespace, name));
  }

  private void deleteRows(String kind, String namespace, String name) throws SQLException {
    {
      try (PreparedStatement ps = db.prepareStatement("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?")) {
        ps.setString(1, kind);
        ps.setString(2, namespace);
        ps.setString(3, name);
        ps.executeUpdate();
      }
      if (kind.equals("DaemonSet")) {
        for (String table : new String[] {"revisions", "rollouts"}) {
          try (PreparedStatement ps = db.prepareStatement("DELETE FROM " + table + " WHERE namespace=? AND name=?")) {
            ps.setString(1, namespace);
            ps.setString(2, name);
            ps.executeUpdate();
          }
        }
      }
    }
  }

  @Override
  public synchronized List<StoredRevision> revisions() {
    List<StoredRevision> out = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery("SELECT namespace, name, revision, hash, template_json, change_cause, created_at FROM revisions ORDER BY revision")) {
      while (rs.next()) {
        out.add(new StoredRevision(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4), rs.getString(5),
            rs.getString(6), rs.getLong(7)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading revisions", e);
    }
    return out;
  }

  @Override
  public synchronized List<StoredNode> nodes() {
    List<StoredNode> out = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery("SELECT name, info_json, admin_labels_json, admin_taints_json, unschedulable, joined_at FROM nodes")) {
      while (rs.next()) {
        out.add(new StoredNode(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getInt(5) != 0, rs.getLong(6)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading nodes", e);
    }
    return out;
  }

  @Override
  public void putNode(StoredNode n) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement(
          "INSERT OR REPLACE INTO nodes (name, info_json, admin_labels_json, admin_taints_json, unschedulable, joined_at) VALUES (?,?,?,?,?,?)")) {
        ps.setString(1, n.name());
        ps.setString(2, n.infoJson());
        ps.setString(3, n.adminLabelsJson());
        ps.setString(4, n.adminTaintsJson());
        ps.setInt(5, n.unschedulable() ? 1 : 0);
        ps.setLong(6, n.joinedAtMillis());
        ps.executeUpdate();
      }
    });
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
    tx(() -> {
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
    });
  }

  @Override
  public synchronized Map<String, String> rollouts() {
    Map<String, String> out = new HashMap<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT namespace, name, json FROM rollouts")) {
      while (rs.next()) {
        out.put(rs.getString(1) + "/" + rs.getString(2), rs.getString(3));
      }
    } catch (SQLException e) {
      throw new StoreException("reading rollouts", e);
    }
    return out;
  }

  @Override
  public void putToken(StoredToken t) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement("INSERT OR REPLACE INTO join_tokens"
          + " (id, secret_hash, description, created_at, expires_at, revoked_at, uses) VALUES (?,?,?,?,?,?,?)")) {
        ps.setString(1, t.id());
        ps.setString(2, t.secretHash());
        ps.setString(3, t.description());
        ps.setLong(4, t.createdMillis());
        ps.setLong(5, t.expiresMillis());
        ps.setLong(6, t.revokedMillis());
        ps.setInt(7, t.uses());
        ps.executeUpdate();
      }
    });
  }

  @Override
  public synchronized List<StoredToken> tokens() {
    List<StoredToken> out = new ArrayList<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT id, secret_hash, description, created_at, expires_at, revoked_at, uses FROM join_tokens ORDER BY created_at")) {
      while (rs.next()) {
        out.add(new StoredToken(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5),
            rs.getLong(6), rs.getInt(7)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading join tokens", e);
    }
    return out;
  }

  @Override
  public void putCertificate(IssuedCertificate c) {
    tx(() -> {
      try (PreparedStatement ps = db.prepareStatement(
          "INSERT OR REPLACE INTO certificates (serial, name, role, not_after, revoked_at) VALUES (?,?,?,?,?)")) {
        ps.setString(1, c.serial());
        ps.setString(2, c.name());
        ps.setString(3, c.role());
        ps.setLong(4, c.notAfterMillis());
        ps.setLong(5, c.revokedMillis());
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
    List<IssuedCertificate> out = new ArrayList<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT serial, name, role, not_after, revoked_at FROM certificates")) {
      while (rs.next()) {
        out.add(new IssuedCertificate(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading certificates", e);
    }
    return out;
  }

  @Override
  public synchronized void close() {
    try {
      db.close();
    } catch (SQLException e) {
      throw new StoreException("closing the store", e);
    }
  }
}
