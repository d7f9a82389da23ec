package io.dsfleet.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * What the control API and the Kubernetes API tell a caller of a write the store did not take: a
 * commit whose fsync failed may have been applied, and both say so (the Kubernetes API said "did
 * not take the write" of one before).
 */
class StoreExceptionTest {
  @Test
  void aWriteThatMayHaveBeenAppliedIsToldSoAndARefusedOneIsNot() {
    assertThat(new StoreException("[SQLITE_FULL] database or disk is full", null).told())
        .isEqualTo("the store did not take the write: [SQLITE_FULL] database or disk is full");
    assertThat(new StoreException("store write not confirmed by the disk: [SQLITE_IOERR_FSYNC]", null, true).told())
        .startsWith("the store did not confirm the write, which may have been applied: look (dsctl get), then try again: ")
        .endsWith("[SQLITE_IOERR_FSYNC]");
  }
}
