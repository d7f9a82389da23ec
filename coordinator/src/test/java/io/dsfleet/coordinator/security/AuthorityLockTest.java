package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A session that opens registers with the CA (to be ended if its certificate is revoked) on a
 * transport thread: that must not wait for a join, renewal or credential that holds the CA while
 * its certificate is committed to the store (an fsync, seconds on a busy disk), or every
 * connection on that thread stalls with it.
 */
class AuthorityLockTest {
  @TempDir Path dir;

  @Test
  void aSessionRegistersWhileACertificateIsBeingCommitted() throws Exception {
    CountDownLatch committing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try (SqliteStore real = new SqliteStore(dir.resolve("data"))) {
      Store slow = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (proxy, m, args) -> {
        if (m.getName().equals("putCertificate") && Thread.currentThread().getName().equals("issuer")) {
          committing.countDown();
          release.await(30, TimeUnit.SECONDS); // a commit that takes its time
        }
        try {
          return m.invoke(real, args);
        } catch (InvocationTargetException e) {
          throw e.getCause();
        }
      });
      Authority authority = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), slow, Clock.systemUTC(), Duration.ofDays(1));
      Thread issuer = new Thread(() -> authority.credential("ops", Pki.ADMINS), "issuer");
      issuer.start();
      assertThat(committing.await(30, TimeUnit.SECONDS)).as("the credential's commit began").isTrue();
      try {
        CompletableFuture<Runnable> registered = CompletableFuture.supplyAsync(() -> authority.onRevoke("1234", () -> { }));
        assertThat(registered.get(5, TimeUnit.SECONDS)).as("registered while the CA commits a certificate").isNotNull();
        assertThat(issuer.isAlive()).as("the commit was still under way").isTrue();
      } finally {
        release.countDown();
        issuer.join(30_000);
      }
    }
  }
}
