package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The host's memory and the descriptor limit read from /proc (HostMemory, FileDescriptors), as the kernel writes them. */
class HostReadsTest {
  @Test
  void memTotalIsReadInBytes() {
    assertThat(HostMemory.memTotal("MemTotal:       24641236 kB\nMemFree:         1234 kB\n")).isEqualTo(24641236L * 1024);
    assertThat(HostMemory.memTotal("MemFree: 1 kB\n")).isZero();
  }

  @Test
  void theSoftLimitOnOpenFilesIsRead() {
    String limits = """
        Limit                     Soft Limit           Hard Limit           Units
        Max processes             127338               127338               processes
        Max open files            1048576              1048576              files
        Max locked memory         8388608              8388608              bytes
        """;
    assertThat(FileDescriptors.softLimit(limits)).isEqualTo(1048576);
    assertThat(FileDescriptors.softLimit(limits.replace("1048576              1048576", "1024 4096"))).isEqualTo(1024);
    assertThat(FileDescriptors.softLimit("Max open files            unlimited            unlimited            files\n"))
        .isEqualTo(Long.MAX_VALUE);
    assertThat(FileDescriptors.softLimit("")).isEqualTo(4096);
  }

  @Test
  void thisProcesssLimitIsTheJdksOwn() {
    var bean = (com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    assertThat(FileDescriptors.limit()).isEqualTo(bean.getMaxFileDescriptorCount());
  }
}
