package io.dsfleet.coordinator.replication;

import io.dsfleet.common.SecretBox;
import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.store.SqliteStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.ratis.server.RaftServer;
import org.awaitility.Awaitility;

/**
 * Replicas of one group on loopback, in this JVM, each with its own data directory, real Ratis
 * over gRPC with mutual TLS under one test CA. Serving is only recorded (the term each replica
 * serves in); the tests write through the serving replica's store.
 */
final class ReplicaGroup implements AutoCloseable {
  final Path root;
  final X509Certificate ca;
  private final PrivateKey caKey;
  final List<ReplicationOptions.Peer> peers = new ArrayList<>();
  final Map<String, Replica> running = new LinkedHashMap<>();
  /** How many times each replica began serving (a leadership, or a reload within one). */
  final Map<String, java.util.concurrent.atomic.AtomicInteger> servingStarts = new java.util.concurrent.ConcurrentHashMap<>();
  /**
   * Each serving start that loaded a store missing writes its own log already held (the last log
   * index, then the last applied one): a fleet loaded so lacks writes the leader acknowledges later.
   */
  final List<long[]> loadsBehindTheLog = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final long snapshotEvery;

  ReplicaGroup(Path root, int size, long snapshotEvery) throws IOException {
    this.root = root;
    this.snapshotEvery = snapshotEvery;
    KeyPair keys = Pki.newKeyPair();
    this.ca = CertificateAuthority.newCa(keys, "test fleet CA", Duration.ofDays(1));
    this.caKey = keys.getPrivate();
    byte[] secretsKey = null;
    for (int i = 1; i <= size; i++) {
      String id = "c" + i;
      peers.add(new ReplicationOptions.Peer(id, "127.0.0.1:" + FreePorts.pick(), "127.0.0.1:" + FreePorts.pick()));
      Path pki = Files.createDirectories(dir(id).resolve("pki"));
      if (secretsKey == null) {
        SecretBox.loadOrCreate(SqliteStore.secretsKey(dir(id)));
        secretsKey = Files.readAllBytes(SqliteStore.secretsKey(dir(id)));
      } else {
        Files.write(pki.resolve("secrets.key"), secretsKey);
      }
    }
  }

  Path dir(String id) {
    return root.resolve(id);
  }

  Replica start(String id) throws IOException {
    return start(id, Pki.REPLICAS);
  }

  /**
   * Forms the group as an operator does: the first replica alone (bootstrap), the others started
   * without a configuration and added by the leader, which catches them up.
   */
  void form() throws IOException {
    bootstrapNext = true;
    start(peers.get(0).id());
    for (ReplicationOptions.Peer p : peers.subList(1, peers.size())) {
      start(p.id());
    }
    // one at a time: Raft refuses a change of more than a minority of the members at once
    for (int n = 2; n <= peers.size(); n++) {
      List<ReplicationOptions.Peer> members = peers.subList(0, n);
      Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
        leader().setMembers(members);
        return true;
      });
    }
  }

  private boolean bootstrapNext;

  /** Starts a replica whose peer certificate names {@code role} (a wrong one shows what peers refuse). */
  Replica start(String id, String role) throws IOException {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(ca, caKey, keys.getPublic(), new Pki.Subject(id, role), Pki.Purpose.PEER,
        List.of("127.0.0.1"), Duration.ofDays(1));
    // small log segments: the log is purged up to the snapshots while the test runs
    ReplicationOptions options = new ReplicationOptions(id, peers, snapshotEvery, Duration.ofMillis(500), 8 * 1024, bootstrapNext);
    bootstrapNext = false;
    Replica r = new Replica(options, dir(id), "test", SecretBox.loadOrCreate(SqliteStore.secretsKey(dir(id))), ca, cert,
        keys.getPrivate());
    java.util.concurrent.atomic.AtomicInteger starts = servingStarts.computeIfAbsent(id, k -> new java.util.concurrent.atomic.AtomicInteger());
    r.start(new Replica.Serving() {
      @Override
      public void start(long term) {
        starts.incrementAndGet();
        RaftServer.Division d = running.get(id).division();
        long last = d.getRaftLog().getLastEntryTermIndex().getIndex();
        long applied = d.getInfo().getLastAppliedIndex();
        if (storeWriteBetween(d, applied, last)) {
          loadsBehindTheLog.add(new long[] {last, applied});
        }
      }

      @Override
      public void stop() { }
    });
    running.put(id, r);
    return r;
  }

  /**
   * Whether the log holds a store write after {@code applied} up to {@code last}: Raft's own entries
   * (the leader's record of its commit index, appended once an entry commits; a configuration)
   * write nothing to the store, and a serving start may come before the one after its last write
   * is applied.
   */
  private static boolean storeWriteBetween(RaftServer.Division d, long applied, long last) {
    for (long i = applied + 1; i <= last; i++) {
      try {
        var entry = d.getRaftLog().get(i);
        if (entry == null || entry.hasStateMachineLogEntry()) {
          return true; // not readable: counted as one
        }
      } catch (org.apache.ratis.server.raftlog.RaftLogIOException e) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sends {@code entry} as a Raft client request to the group, the client holding a replica
   * certificate of the group's CA (a removed replica's, say) but not the group's Secrets key.
   * Returns why it was refused, or null when Raft took the entry.
   */
  Throwable appendAsClient(byte[] entry) throws Exception {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(ca, caKey, keys.getPublic(), new Pki.Subject("gone", Pki.REPLICAS),
        Pki.Purpose.PEER, List.of("127.0.0.1"), Duration.ofDays(1));
    java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("peer", keys.getPrivate(), new char[0], new X509Certificate[] {cert, ca});
    javax.net.ssl.KeyManagerFactory km = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    km.init(store, new char[0]);
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca);
    javax.net.ssl.TrustManagerFactory tm = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tm.init(trust);
    org.apache.ratis.conf.Parameters parameters = new org.apache.ratis.conf.Parameters();
    org.apache.ratis.grpc.GrpcConfigKeys.TLS.setConf(parameters, new org.apache.ratis.grpc.GrpcTlsConfig(km.getKeyManagers()[0],
        (javax.net.ssl.X509TrustManager) tm.getTrustManagers()[0], true));
    List<org.apache.ratis.protocol.RaftPeer> members = peers.stream().filter(p -> running.containsKey(p.id()))
        .map(p -> org.apache.ratis.protocol.RaftPeer.newBuilder().setId(p.id()).setAddress(p.peerAddress()).build()).toList();
    try (org.apache.ratis.client.RaftClient client = org.apache.ratis.client.RaftClient.newBuilder()
        .setProperties(new org.apache.ratis.conf.RaftProperties()).setParameters(parameters)
        .setRaftGroup(org.apache.ratis.protocol.RaftGroup.valueOf(ReplicaMembers.groupId("test"), members))
        .setRetryPolicy(org.apache.ratis.retry.RetryPolicies.retryUpToMaximumCountWithFixedSleep(20,
            org.apache.ratis.util.TimeDuration.valueOf(200, java.util.concurrent.TimeUnit.MILLISECONDS))).build()) {
      var reply = client.io().send(org.apache.ratis.protocol.Message.valueOf(
          org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(entry)));
      return reply.isSuccess() ? null : reply.getException();
    } catch (java.io.IOException refused) {
      return refused;
    }
  }

  void stop(String id) {
    running.remove(id).close();
  }

  /**
   * The replica serving as leader, once one does (within 30 s): a second or two idle, but three
   * Ratis servers starved of CPU can split their votes for rounds (10 s seen in CI, RaftSettings;
   * up to 9.9 s in e2e's rehearsals, which give it 30 s); a group that never elects never serves.
   */
  Replica leader() {
    long start = System.nanoTime();
    Replica leader = Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
        .until(() -> running.values().stream().filter(r -> r.servingTerm() != 0).findFirst().orElse(null),
            r -> r != null);
    long waited = (System.nanoTime() - start) / 1_000_000;
    if (waited >= 1000) { // an election a loaded machine drew out: the figure this bound is set from
      System.out.printf("a leader served after %d ms of waiting%n", waited);
    }
    return leader;
  }

  /**
   * Closes every replica at once, a thread each: a Raft server's close waits up to 3 s for each
   * channel with calls under way (Ratis' GrpcUtil, a peer gone: a test's killed one), so one after
   * the other took up to three times that (and a parallel stream runs only as many at once as the
   * machine has processors: two here).
   */
  @Override
  public void close() {
    List<Thread> closing = running.values().stream().map(r -> new Thread(r::close, "close-" + r.id())).toList();
    closing.forEach(Thread::start);
    for (Thread t : closing) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    running.clear();
  }
}
