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

  /** How many Secrets the store holds sealed (by some key): none can be opened without it. */
  static int sealed(Connection db) throws SQLException {
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
