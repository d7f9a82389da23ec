package io.dsfleet.coordinator.store;

import io.dsfleet.coordinator.store.Store.IssuedCertificate;
import io.dsfleet.coordinator.store.Store.Orphan;
import io.dsfleet.coordinator.store.Store.StoredEvent;
import io.dsfleet.coordinator.store.Store.StoredNode;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.coordinator.store.Store.StoredToken;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link SqliteStore}'s reads: each table's rows as the store's records, and a counter's value.
 * Static on the store's connection and holding no state: the store calls them under its lock (a
 * counter's read also inside its write's transaction), as it read them itself before.
 */
final class SqliteReads {
  private SqliteReads() {}

  static List<StoredObject> objects(Connection db, SealedSecrets secrets) {
    List<StoredObject> out = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery("SELECT kind, namespace, name, json, generation, resource_version, created_at FROM objects")) {
      while (rs.next()) {
        String json = secrets.open(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4));
        out.add(new StoredObject(rs.getString(1), rs.getString(2), rs.getString(3), json, rs.getLong(5),
            rs.getLong(6), rs.getLong(7)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading objects", e);
    } catch (IllegalStateException e) {
      throw new StoreException("reading Secrets: " + e.getMessage(), e);
    }
    return out;
  }

  static List<String> orphans(Connection db, String node) {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = db.prepareStatement("SELECT pod FROM orphans WHERE node=?")) {
      ps.setString(1, node);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    } catch (SQLException e) {
      throw new StoreException("reading orphans", e);
    }
    return out;
  }

  static List<Orphan> orphans(Connection db) {
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

  static List<StoredRevision> revisions(Connection db) {
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

  static List<StoredNode> nodes(Connection db) {
    List<StoredNode> out = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery("SELECT name, info_json, admin_labels_json, admin_taints_json, unschedulable, joined_at, state_json FROM nodes")) {
      while (rs.next()) {
        out.add(new StoredNode(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getInt(5) != 0, rs.getLong(6),
            rs.getString(7)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading nodes", e);
    }
    return out;
  }

  static List<StoredEvent> events(Connection db) {
    List<StoredEvent> out = new ArrayList<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT object, at, type, reason, message FROM events ORDER BY seq")) {
      while (rs.next()) {
        out.add(new StoredEvent(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading events", e);
    }
    return out;
  }

  static Map<String, String> rollouts(Connection db) {
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

  static List<StoredToken> tokens(Connection db) {
    List<StoredToken> out = new ArrayList<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT id, secret_hash, description, created_at, expires_at, revoked_at, uses, node, max_uses FROM join_tokens"
            + " ORDER BY created_at")) {
      while (rs.next()) {
        out.add(new StoredToken(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5),
            rs.getLong(6), rs.getInt(7), rs.getString(8), rs.getInt(9)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading join tokens", e);
    }
    return out;
  }

  static List<IssuedCertificate> certificates(Connection db) {
    List<IssuedCertificate> out = new ArrayList<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT serial, name, role, not_after, revoked_at, issued_at, via, sha256 FROM certificates ORDER BY issued_at")) {
      while (rs.next()) {
        out.add(new IssuedCertificate(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5),
            rs.getLong(6), rs.getString(7), rs.getString(8)));
      }
    } catch (SQLException e) {
      throw new StoreException("reading certificates", e);
    }
    return out;
  }

  static long counter(Connection db, String name) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement("SELECT value FROM counters WHERE name=?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }
}
