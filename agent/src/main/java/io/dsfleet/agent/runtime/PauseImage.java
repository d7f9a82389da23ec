package io.dsfleet.agent.runtime;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The pod sandbox image, made locally so no registry is needed: a one-file image whose
 * {@code /pause} is a 129-byte static x86-64 ELF that calls pause(2) forever. The sandbox holds a
 * pod's network and IPC namespaces for its containers, as Kubernetes' pause container does. It
 * ignores SIGTERM (PID 1 without a handler), so the agent stops it with a zero grace period.
 */
public final class PauseImage {
  public static final String NAME = "dsfleet/pause:1";

  private PauseImage() {}

  /** x86-64: mov eax, 34 (pause); syscall; jmp back. */
  static byte[] elf() {
    byte[] code = {(byte) 0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, (byte) 0xeb, (byte) 0xf7};
    long base = 0x400000;
    int headers = 64 + 56;
    ByteBuffer b = ByteBuffer.allocate(headers + code.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    b.putShort((short) 2).putShort((short) 0x3e).putInt(1); // ET_EXEC, x86-64, version
    b.putLong(base + headers).putLong(64).putLong(0); // entry, phoff, shoff
    b.putInt(0).putShort((short) 64).putShort((short) 56).putShort((short) 1); // flags, ehsize, phentsize, phnum
    b.putShort((short) 0).putShort((short) 0).putShort((short) 0); // shentsize, shnum, shstrndx
    b.putInt(1).putInt(5); // PT_LOAD, R+X
    b.putLong(0).putLong(base).putLong(base); // offset, vaddr, paddr
    b.putLong(headers + code.length).putLong(headers + code.length).putLong(0x1000);
    b.put(code);
    return b.array();
  }

  /** The image's one layer: a tar holding /pause (mode 0755). */
  static byte[] layerTar() {
    Tar t = new Tar();
    t.file("pause", 0755, elf());
    return t.finish();
  }

  /**
   * The image in `docker save` format, for `docker load` (docker-java's import sends its stream
   * as JSON, docker-java issue #2377; load sends it raw): manifest.json, the image config, and the
   * layer.
   */
  public static byte[] imageTar() {
    byte[] layer = layerTar();
    byte[] config = config(layer);
    String configName = io.dsfleet.common.Sha256.hex(config) + ".json";
    byte[] manifest = ("[{\"Config\":\"" + configName + "\",\"RepoTags\":[\"" + NAME + "\"],\"Layers\":[\"layer/layer.tar\"]}]")
        .getBytes(StandardCharsets.UTF_8);
    Tar t = new Tar();
    t.file(configName, 0644, config);
    t.file("layer/layer.tar", 0644, layer);
    t.file("manifest.json", 0644, manifest);
    return t.finish();
  }

  private static byte[] config(byte[] layer) {
    String diffId = "sha256:" + io.dsfleet.common.Sha256.hex(layer);
    return ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/pause\"]},"
        + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + diffId + "\"]},\"history\":[{\"created_by\":\"dsfleet agent\"}]}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The image's ID (the digest of its config): what sandboxes are created from. The tag
   * {@link #NAME} can be moved by anyone who pulls or tags an image of that name (a pod with
   * {@code image: dsfleet/pause:1, imagePullPolicy: Always}); the ID cannot.
   */
  public static String id() {
    return "sha256:" + io.dsfleet.common.Sha256.hex(config(layerTar()));
  }

  /** A minimal ustar writer: regular files only. */
  private static final class Tar {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    void file(String name, int mode, byte[] data) {
      byte[] header = new byte[512];
      put(header, 0, name);
      put(header, 100, String.format("%07o", mode));
      put(header, 108, "0000000");
      put(header, 116, "0000000");
      put(header, 124, String.format("%011o", data.length));
      put(header, 136, String.format("%011o", 0));
      header[156] = '0';
      put(header, 257, "ustar");
      put(header, 263, "00");
      for (int i = 148; i < 156; i++) {
        header[i] = ' ';
      }
      long sum = 0;
      for (byte x : header) {
        sum += x & 0xff;
      }
      put(header, 148, String.format("%06o", sum));
      header[154] = 0;
      out.writeBytes(header);
      out.writeBytes(data);
      out.writeBytes(new byte[(512 - data.length % 512) % 512]);
    }

    byte[] finish() {
      out.writeBytes(new byte[1024]);
      return out.toByteArray();
    }
  }

  private static void put(byte[] buf, int at, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, buf, at, b.length);
  }

  public static boolean supported() {
    String arch = System.getProperty("os.arch");
    return arch.equals("amd64") || arch.equals("x86_64");
  }
}
