package io.dsfleet.coordinator.store;

import io.dsfleet.common.SecretBox;
import io.dsfleet.coordinator.store.Store.StoredObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Secret objects sealed in the objects table (AES-GCM, {@link SecretBox}), each bound to its kind,
 * namespace and name; every other kind is stored as it is.
 */
final class SealedSecrets {
  private static final String SECRET = "Secret";
  private final SecretBox box;

  SealedSecrets(SecretBox box) {
    this.box = box;
  }

  private static String context(String namespace, String name) {
    return SECRET + "/" + namespace + "/" + name;
  }

  /** The json column to write for the object. */
  String seal(StoredObject o) {
    return SECRET.equals(o.kind()) ? box.sealText(o.json(), context(o.namespace(), o.name())) : o.json();
  }

  /** The object's json from its column. */
  String open(String kind, String namespace, String name, String column) {
    if (!SECRET.equals(kind)) {
      return column;
    }
    try {
      return box.openText(column, context(namespace, name));
    } catch (IllegalStateException e) {
      throw new StoreException("reading Secrets: " + e.getMessage(), e);
    }
  }

  /**
   * A key is made only for a store that holds nothing sealed: with {@code pki/secrets.key} lost
   * (deleted, a file system's repair, {@code pki/} restored without it) and Secrets sealed in the
   * store, the open is refused naming it, and no key is made. Before 2026-12-06 a new key was
   * written in its place and the start then failed on the first Secret "another key sealed it",
   * the new key left there (and a backup's MAC made with it, which no older backup matched;
   * helper-139).
   */
  static void refuseLostKey(Connection db, java.nio.file.Path key) {
    if (!java.nio.file.Files.notExists(key, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    int sealed;
    try {
      sealed = SealedSecrets.sealed(db);
    } catch (SQLException e) {
      throw new StoreException("reading Secrets: " + e.getMessage(), e);
    }
    if (sealed > 0) {
      throw new StoreException(key + " is missing, but the store holds " + sealed + " Secret" + (sealed == 1 ? "" : "s")
          + " sealed with it: a new key would open none of them; nothing made. Put it back (from the backup of pki/)", null);
    }
  }

  /** How many Secrets the store holds sealed (by some key): none can be opened without it. */
  private static int sealed(Connection db) throws SQLException {
    int n = 0;
    try (PreparedStatement ps = db.prepareStatement("SELECT json FROM objects WHERE kind=?")) {
      ps.setString(1, SECRET);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          n += SecretBox.isSealedText(rs.getString(1)) ? 1 : 0;
        }
      }
    }
    return n;
  }

  /**
   * Seals the Secrets an older coordinator stored in the clear (inside the caller's transaction);
   * returns how many. With secure_delete the old cells are overwritten; the caller then truncates
   * the WAL that still holds the old pages.
   */
  int sealPlain(Connection db) throws SQLException {
    List<String[]> plain = new ArrayList<>();
    try (PreparedStatement ps = db.prepareStatement("SELECT namespace, name, json FROM objects WHERE kind=?")) {
      ps.setString(1, SECRET);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (!SecretBox.isSealedText(rs.getString(3))) {
            plain.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
          }
        }
      }
    }
    try (PreparedStatement ps = db.prepareStatement("UPDATE objects SET json=? WHERE kind=? AND namespace=? AND name=?")) {
      for (String[] r : plain) {
        ps.setString(1, box.sealText(r[2], context(r[0], r[1])));
        ps.setString(2, SECRET);
        ps.setString(3, r[0]);
        ps.setString(4, r[1]);
        ps.executeUpdate();
      }
    }
    return plain.size();
  }
}
