package io.dsfleet.coordinator.replication;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dsfleet.common.Json;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/**
 * One write to the store as a Raft log entry: the {@link Store} method's name and arguments as
 * JSON, and the term in which the proposing replica became the serving leader. Applying it calls
 * the same method of each replica's {@link SqliteStore}; a command whose log entry carries another
 * term than the one it names is refused on every replica alike (the proposer was deposed: its
 * write must not land through the next leader).
 */
record StoreCommand(long term, String op, List<JsonNode> args) {
  private static final ObjectMapper MAPPER = Json.mapper();

  /** What applying a command did: "ok" (with what {@code putObjects} stored), "conflict" or "fenced". */
  record Outcome(String result, String message, Store.Written written) {
    static final Outcome OK = new Outcome("ok", null, null);
  }

  static StoreCommand of(long term, String op, Object... args) {
    return new StoreCommand(term, op, Arrays.stream(args).map(a -> (JsonNode) MAPPER.valueToTree(a)).toList());
  }

  byte[] encode() {
    try {
      return MAPPER.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static StoreCommand decode(byte[] bytes) {
    try {
      return MAPPER.readValue(bytes, StoreCommand.class);
    } catch (IOException e) {
      throw new UncheckedIOException("a log entry is not a store command: " + e.getMessage(), e);
    }
  }

  static byte[] encode(Outcome outcome) {
    try {
      return MAPPER.writeValueAsBytes(outcome);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Outcome decodeOutcome(byte[] bytes) {
    try {
      return MAPPER.readValue(bytes, Outcome.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private <T> T arg(int i, Class<T> type) {
    return MAPPER.convertValue(args.get(i), type);
  }

  private <T> T arg(int i, TypeReference<T> type) {
    return MAPPER.convertValue(args.get(i), type);
  }

  /** Applies this command to a replica's store; a conflict is an outcome, not a failure. */
  Outcome applyTo(SqliteStore store) {
    switch (op) {
      case "barrier" -> { }
      case "putObjects" -> {
        try {
          return new Outcome("ok", null, store.putObjects(arg(0, new TypeReference<List<Store.ObjectWrite>>() {})));
        } catch (Store.ConflictException e) {
          return new Outcome("conflict", e.getMessage(), null);
        }
      }
      case "deleteObject" -> store.deleteObject(arg(0, String.class), arg(1, String.class), arg(2, String.class));
      case "pruneRevisions" -> store.pruneRevisions(arg(0, String.class), arg(1, String.class), arg(2, new TypeReference<List<Long>>() {}));
      case "deleteDaemonSetOrphaning" -> store.deleteDaemonSetOrphaning(arg(0, String.class), arg(1, String.class),
          arg(2, new TypeReference<List<Store.Orphan>>() {}), List.of()); // of a leader before orphaned revisions (2026-12-06): its revisions went with it
      case "orphanDaemonSet" -> store.deleteDaemonSetOrphaning(arg(0, String.class), arg(1, String.class),
          arg(2, new TypeReference<List<Store.Orphan>>() {}), arg(3, new TypeReference<List<Long>>() {}));
      case "deleteOrphans" -> store.deleteOrphans(arg(0, String.class), arg(1, new TypeReference<List<String>>() {}));
      case "putNodes" -> store.putNodes(arg(0, new TypeReference<List<Store.StoredNode>>() {}));
      case "admitNode" -> store.admitNode(arg(0, Store.StoredNode.class), arg(1, Store.TokenUse.class));
      case "deleteNode" -> store.deleteNode(arg(0, String.class));
      case "putRollout" -> store.putRollout(arg(0, String.class), arg(1, String.class), arg(2, String.class));
      case "putEvents" -> store.putEvents(arg(0, new TypeReference<List<Store.StoredEvent>>() {}), arg(1, Integer.class));
      case "deleteEvents" -> store.deleteEvents(arg(0, String.class));
      case "putToken" -> store.putToken(arg(0, Store.StoredToken.class));
      case "putCertificate" -> store.putCertificate(arg(0, Store.IssuedCertificate.class));
      case "deleteCertificatesExpiredBefore" -> store.deleteCertificatesExpiredBefore(arg(0, Long.class));
      default -> throw new IllegalArgumentException("unknown store command " + op);
    }
    return Outcome.OK;
  }
}
