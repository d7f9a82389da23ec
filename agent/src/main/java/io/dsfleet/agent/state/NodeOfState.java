package io.dsfleet.agent.state;

import io.dsfleet.common.OwnerOnlyFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node a state directory is kept for ({@code STATE_DIR/node}): its desired set is that node's,
 * and its pods' containers carry that node's name. An agent configured with another name (the node
 * name defaults to the hostname, which DHCP, cloud-init or hostnamectl can change) would find none
 * of those containers its own and start every pod of the set again beside them, labelled with the
 * new name: two of every pod (a second copy of each hostPort pod failing its sandbox for good), and
 * the first ones never looked after again; and a leave would clear the node's state and remove none
 * of its containers. Such a start is refused, naming both, while the directory holds the node's pods
 * (a desired set, a damaged one, released pods; a first start whose join failed holds none, and
 * takes the name given next). Recorded at the first start (and at
 * the first start of a directory an agent before 2026-12-06 kept); a node that left may join again
 * under any name. A record the disk cannot give or take stops nothing: it is logged, and the agent
 * runs as configured.
 */
public final class NodeOfState {
  private static final Logger log = LoggerFactory.getLogger(NodeOfState.class);

  private NodeOfState() {}

  /**
   * Whether the directory holds something of its node's pods: a desired set (their containers may run), a damaged one moved
   * aside, or pods released to run on unmanaged. One that never got a set (the first start's join failed) holds nothing,
   * and takes the name given next, as the kubelet registers whatever name it is given: until 2026-12-06 it refused every
   * other name until a leave as the first one.
   */
  private static boolean holdsPods(Path dir) {
    try {
      return Files.exists(dir.resolve("desired.pb")) || Files.exists(dir.resolve("desired.pb.corrupt"))
          || Files.size(dir.resolve("orphans")) > 0;
    } catch (NoSuchFileException none) {
      return false;
    } catch (IOException e) {
      return true; // not known: refused, as one that holds them
    }
  }

  /**
   * Claims {@code state} for {@code node}.
   *
   * @throws IllegalArgumentException when the directory is kept for another node that has not left and holds its pods
   */
  public static void claim(LocalState state, String node) {
    Path file = state.dir().resolve("node");
    String recorded = null;
    try {
      recorded = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException none) {
      // a new directory, or one kept before the record: this node's from now on
    } catch (IOException e) {
      log.warn("cannot read {}: {}; running as node {}", file, e.toString(), node);
      return;
    }
    if (recorded != null && !recorded.isEmpty() && !recorded.equals(node) && !state.left() && holdsPods(state.dir())) {
      throw new IllegalArgumentException("the state directory " + state.dir() + " is node " + recorded + "'s (its desired set, and its"
          + " pods' containers carry that name), not node " + node + "'s: as " + node + " the agent would start every pod again beside"
          + " " + recorded + "'s. Run as " + recorded + " (nodeName: " + recorded + ", --node-name or DS_AGENT_NODE_NAME; the default is"
          + " the hostname), or remove the node first (ds-agent leave --node-name " + recorded + "), or give " + node
          + " a state directory of its own");
    }
    if (!node.equals(recorded)) {
      try {
        OwnerOnlyFiles.write(file, (node + "\n").getBytes(StandardCharsets.UTF_8));
      } catch (RuntimeException e) {
        log.warn("cannot record node {} in {}: {}", node, file, e.toString());
      }
    }
  }
}
