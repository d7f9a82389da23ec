package io.dsfleet.coordinator.cli;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.VersionRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `dsctl kubeconfig`: a kubeconfig for kubectl against the coordinator's Kubernetes API
 * (docs/kubectl.md), with the credential dsctl uses: the fleet CA to trust, its certificate and
 * key to log in with (an admin's or a viewer's, with what each may do). Checks the credential with
 * the coordinator first.
 */
@Command(name = "kubeconfig", description = "Print a kubeconfig for kubectl with this credential (kubectl --kubeconfig FILE get ds).")
public final class KubeconfigCommand extends ClientCommand {
  /** Where the coordinator serves the Kubernetes API unless its kubeApiListen says otherwise: Kubernetes' own port. */
  public static final int DEFAULT_PORT = 6443;

  @Option(names = "--server", paramLabel = "URL", description = "The coordinator's Kubernetes API (default: the coordinator's host,"
      + " port " + DEFAULT_PORT + ").")
  String server;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write it to FILE, owner-only (0600; must not exist),"
      + " rather than print it.")
  Path output;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) throws Exception {
    if (output != null && Files.exists(output)) {
      throw new UsageException(output + " exists; choose another file");
    }
    control.version(VersionRequest.getDefaultInstance()); // the credential works before it goes into a file
    String host = address().contains("]") ? address().substring(0, address().indexOf(']') + 1)
        : address().contains(":") ? address().substring(0, address().lastIndexOf(':')) : address();
    boolean plain = resolveInsecure(System.getenv());
    String url = server != null ? server : (plain ? "http://" : "https://") + host + ":" + DEFAULT_PORT;
    StringBuilder y = new StringBuilder("apiVersion: v1\nkind: Config\nclusters:\n- name: dsfleet\n  cluster:\n    server: ")
        .append(url).append('\n');
    String user = "dsfleet-insecure";
    String userBlock = "  user: {}\n";
    if (!plain) {
      String pem = readCredential(resolveCredentials(System.getenv()));
      List<X509Certificate> certs = Pki.certificates(pem);
      if (certs.size() < 2) {
        throw new IllegalArgumentException("not a credential: it must hold the client certificate, its key and the CA");
      }
      y.append("    certificate-authority-data: ").append(b64(Pki.pem(certs.get(certs.size() - 1)))).append('\n')
          .append("    tls-server-name: ").append(Pki.SERVER_NAME).append('\n'); // the serving certificate's name, whatever address reaches it
      user = "dsfleet-" + CertificateAuthority.subject(certs.get(0)).name();
      userBlock = "  user:\n    client-certificate-data: " + b64(Pki.pem(certs.get(0))) + "\n    client-key-data: "
          + b64(Pki.pem(Pki.privateKey(pem))) + "\n";
    }
    y.append("users:\n- name: ").append(user).append('\n').append(userBlock)
        // a context per credential: an admin's and a viewer's kubeconfig merge without clashing
        .append("contexts:\n- name: ").append(user).append("\n  context:\n    cluster: dsfleet\n    user: ").append(user)
        .append("\n    namespace: default\ncurrent-context: ").append(user).append('\n');
    String who = "kubeconfig for " + url + " as " + user.substring("dsfleet-".length());
    if (output != null) {
      // a shell's redirection makes the file with the umask's mode (0644 as a rule): the key readable by every local user
      OwnerOnlyFiles.write(output, y.toString());
      out().println(who + " written to " + output);
      return 0;
    }
    out().print(y);
    out().flush(); // print, unlike println, leaves it in the buffer
    err().println(who + " (it holds the credential's key: keep it as private as the credential; -o FILE writes it owner-only)");
    return 0;
  }

  private static String b64(String pem) {
    return Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.UTF_8));
  }
}
