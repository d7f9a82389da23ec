package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.proto.v1.DashboardLoginRequest;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A script that starts ds-coordinator and waits for its API to answer (as the bench, the README's
 * quick start and an operator's health check do) may use the dashboard, metrics and the Kubernetes
 * API at once: the CI of stop 69 saw `dsctl dashboard` refused with "serves no dashboard" because
 * the API answered before the dashboard was bound.
 */
class ServeOrderTest {
  @TempDir Path dir;

  @Test
  void theDashboardMetricsAndKubernetesApiServeByTheTimeTheControlApiFirstAnswers() throws Exception {
    int dashboard = FreePorts.pick();
    int metrics = FreePorts.pick();
    int kubeApi = FreePorts.pick();
    try (CoordinatorProcess p = new CoordinatorProcess(dir).start("--dashboard-listen", "127.0.0.1:" + dashboard,
        "--metrics-listen", "127.0.0.1:" + metrics, "--kube-api-listen", "127.0.0.1:" + kubeApi)) {
      String url = p.control().dashboardLogin(DashboardLoginRequest.getDefaultInstance()).getUrl();
      assertThat(url).startsWith("http://127.0.0.1:" + dashboard + "/login?token=");
      HttpResponse<String> scrape = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metrics + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(scrape.body()).contains("dsfleet_");
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", kubeApi), 5_000);
        assertThat(s.isConnected()).isTrue();
      }
    }
  }
}
