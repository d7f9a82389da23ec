package io.dsfleet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The web dashboard in a real browser: Debian's Chromium, headless, driven through its
 * chromedriver by Selenium (nothing downloaded: scripts/ensure-test-tools.sh installs both), against
 * a coordinator and three hosts of the e2e harness. A viewer's login watches a DaemonSet's rollout
 * grid move (the page's script replacing it, no reload), reads a pod's log as it streams in, and has its pause refused; an admin's
 * pause stops the rollout and the grid says so; without a login, 401 and no data. The browser
 * trusts the dashboard's certificate by its key only (Chromium's SPKI pin, the fingerprint the docs
 * tell an operator to check), not the fleet CA wholesale. The screenshot of the grid mid-rollout
 * that docs/dashboard.md shows is written to target/dashboard-rollout-grid.png.
 *
 * <p>The scenarios run at once, each with a browser of its own (its own profile: its own login)
 * and a DaemonSet of its own: each mostly waits for its pods to turn Ready one host after the
 * other, and after each only the DaemonSets it applied are deleted.
 */
class DashboardBrowserTest {
  static final int DASHBOARD_PORT = 17482 + TestFleet.INSTANCE;
  static final String BASE = "https://127.0.0.1:" + DASHBOARD_PORT;
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  @RegisterExtension
  static final FleetPerClass FLEET = new FleetPerClass(3, "--dashboard-listen", "127.0.0.1:" + DASHBOARD_PORT).scenariosAtOnce();
  static TestFleet fleet;
  /** The dashboard's key as Chromium pins it ({@link #servingKeyPin}), read once. */
  static String pin;
  // this scenario's own (JUnit makes an instance of the class for each)
  ChromeDriverService service;
  WebDriver browser;
  Path profile;

  @BeforeAll
  static void chromium() throws Exception {
    assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "skipped: no Debian chromium and chromium-driver here (scripts/test installs them as root)");
    fleet = FLEET.fleet;
    pin = servingKeyPin();
  }

  /** A browser of this scenario's own: its own chromedriver (quitting a browser stops its driver) and profile. */
  @BeforeEach
  void browser(TestInfo test) throws Exception {
    profile = Files.createTempDirectory("dsfleet-chromium");
    service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort()
        .withLogFile(fleet.root.resolve("chromedriver-" + test.getTestMethod().orElseThrow().getName() + ".log").toFile()).build();
    ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless=new", "--no-sandbox",
        "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1100,760", "--user-data-dir=" + profile,
        "--ignore-certificate-errors-spki-list=" + pin);
    browser = new ChromeDriver(service, options);
    browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30)).scriptTimeout(Duration.ofSeconds(15));
  }

  @AfterEach
  void closeBrowser() throws IOException {
    if (browser != null) {
      browser.quit();
    }
    if (service != null) {
      service.stop();
    }
    if (profile != null) {
      Sh.quiet("rm -rf " + profile);
    }
  }

  /**
   * The SHA-256 of the dashboard's public key, as Chromium pins it: read from the certificate the
   * dashboard presents, after checking that the fleet CA signed it.
   */
  static String servingKeyPin() throws Exception {
    X509Certificate ca;
    try (var in = Files.newInputStream(fleet.pki().resolve("ca.crt"))) {
      ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, new TrustManager[] {new X509TrustManager() {
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", DASHBOARD_PORT)) {
      s.startHandshake();
      X509Certificate serving = (X509Certificate) s.getSession().getPeerCertificates()[0];
      serving.verify(ca.getPublicKey()); // throws unless the fleet CA signed it
      return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(serving.getPublicKey().getEncoded()));
    }
  }

  /**
   * A DaemonSet whose pods turn Ready {@code delay} seconds after they start (a web server then
   * answers the probe) and log a numbered tick each second.
   */
  static String daemonSet(String name, String image, int delay) {
    return RolloutScenariosTest.app(name, image, "/index.html", "",
        "(i=0; while :; do i=$((i+1)); echo tick $i; sleep 1; done) & sleep " + delay);
  }

  /**
   * Opens {@code url}, again while Chromium shows its own page for a network that changed under it:
   * the containers other steps' tests start and stop on the host's Docker add and remove its
   * interfaces, and Chromium ends a navigation under way then (ERR_NETWORK_CHANGED; one CI
   * rehearsal's login).
   */
  void open(String url) {
    for (int tries = 1; ; tries++) {
      browser.get(url);
      if (!networkChanged() || tries == 5) {
        return;
      }
    }
  }

  /**
   * Clicks a form's button on {@code page}; when Chromium ends the form's navigation for a network
   * change (as {@link #open} says; a CI rehearsal's pause, 2026-12-06), opens {@code page} again
   * and, unless the click's effect ({@code done}) holds already, clicks once more.
   */
  void press(By button, java.util.function.BooleanSupplier done, String page) throws Exception {
    for (int tries = 1; ; tries++) {
      browser.findElement(button).click();
      TestFleet.await("the form's answer", 30, () -> networkChanged() || !browser.getCurrentUrl().equals(page) || done.getAsBoolean());
      if (!networkChanged() || tries == 5) {
        return;
      }
      open(page);
      if (done.getAsBoolean()) {
        return;
      }
    }
  }

  /** Whether the page is Chromium's own for a network that changed or went away under a navigation. */
  boolean networkChanged() {
    String page = browser.getPageSource();
    return page.contains("ERR_NETWORK_CHANGED") || page.contains("ERR_INTERNET_DISCONNECTED");
  }

  /** Logs the browser in with a URL `dsctl dashboard` printed for this credential. */
  void logIn(String credential) {
    for (int tries = 1; ; tries++) { // a login URL is used once: a new one for each try
      String url = fleet.dsctlAs(credential, "dashboard").out().lines().findFirst().orElse(""); // then what it is, on stderr
      assertThat(url).as("dsctl dashboard prints the login URL").startsWith(BASE + "/login?token=");
      browser.get(url);
      if (!networkChanged() || tries == 5) {
        break;
      }
    }
    assertThat(browser.findElements(By.cssSelector("nav .who"))).as("logged in, at %s: %s", browser.getCurrentUrl(),
        browser.getPageSource()).hasSize(1);
    assertThat(browser.findElement(By.cssSelector("nav .who")).getText()).contains(credential);
  }

  /** Each node's cell of the grid as the page shows it now ("r2 Ready", "r1 → r2 moving", ...), in node order. */
  @SuppressWarnings("unchecked")
  List<String> grid() {
    return (List<String>) ((JavascriptExecutor) browser).executeScript(
        "return Array.from(document.querySelectorAll('.grid li span')).map(function (s) { return s.textContent; });");
  }

  /** The rollout's line ("Revision r2 · rollout paused · ..."), read in one step: the page's script replaces it each second. */
  String rolloutLine() {
    return String.valueOf(((JavascriptExecutor) browser).executeScript("var p = document.querySelector('p.rollout');"
        + " return p === null ? '' : p.textContent;"));
  }

  /** The highest tick the log page shows now; 0 for none. */
  int lastTick() {
    String text = String.valueOf(((JavascriptExecutor) browser).executeScript("return document.querySelector('pre.log').textContent;"));
    return text.lines().filter(l -> l.startsWith("tick ")).mapToInt(l -> Integer.parseInt(l.substring(5).strip())).max().orElse(0);
  }

  /** Whether the control API says the DaemonSet's rollout is paused (what `dsctl rollout status` reads). */
  static boolean paused(String name) {
    var events = fleet.control().rolloutStatus(io.dsfleet.proto.v1.RolloutStatusRequest.newBuilder().setNamespace("default").setName(name).build());
    boolean paused = events.next().getPaused();
    events.forEachRemaining(e -> {});
    return paused;
  }

  static List<String> all(String label) {
    return List.of(label, label, label);
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void withoutALoginEveryPageIs401AndShowsNothingOfTheFleet() throws Exception {
    fleet.apply(daemonSet("secretive", "local/busybox:1", 0));
    HttpClient client = HttpClient.newBuilder().sslContext(trustingTheFleetCa()).build();
    for (String path : List.of("/", "/nodes", "/daemonsets/default/secretive", "/fragments/daemonsets/default/secretive", "/events")) {
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(BASE + path)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(path).isEqualTo(401);
      assertThat(r.body()).as(path).doesNotContain("secretive").doesNotContain(fleet.host(1).name);
    }
    browser.manage().deleteAllCookies();
    open(BASE + "/daemonsets/default/secretive");
    assertThat(browser.findElement(By.tagName("body")).getText()).contains("not logged in").doesNotContain(fleet.host(1).name);
  }

  /** The e2e coordinator's serving certificate is for its gRPC name; this client checks the chain, not the host name. */
  static SSLContext trustingTheFleetCa() throws Exception {
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (var in = Files.newInputStream(fleet.pki().resolve("ca.crt"))) {
      trust.setCertificateEntry("fleet", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    return tls;
  }

  /** A DaemonSet r1 Ready on the three hosts, its page open in the browser under this credential's login, its grid all r1 Ready. */
  void openRolledOut(String name, String credential) {
    fleet.apply(daemonSet(name, "local/busybox:1", 1));
    logIn(credential); // while the pods start: a dsctl process and a page load, which needed them no more than they need it
    TestFleet.await("r1 Ready on the 3 hosts", 120, () -> fleet.pods(name).stream().filter(p -> p.getStatus().getReady()).count() == 3);
    open(BASE + "/daemonsets/default/" + name);
    TestFleet.await("the grid shows r1 Ready on every node", 30, () -> grid().equals(all("r1 Ready")));
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void aViewerSeesTheGridMoveThroughARolloutAndCannotPauseIt() throws Exception {
    openRolledOut("web", "viewer");
    assertThat(browser.findElements(By.cssSelector("main form button"))).as("a viewer's page has no actions").isEmpty();

    fleet.apply(daemonSet("web", "local/busybox:2", 2));
    List<List<String>> seen = new ArrayList<>();
    boolean[] shot = {false};
    TestFleet.await("the page's grid reaches r2 Ready everywhere, without a reload", 120, () -> {
      List<String> g = grid();
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(g)) {
        seen.add(g);
      }
      boolean mixed = g.stream().anyMatch(c -> c.startsWith("r1")) && g.stream().anyMatch(c -> c.contains("r2"));
      if (mixed && !shot[0] && g.stream().anyMatch(c -> c.equals("r2 Ready"))) {
        Path png = Path.of("target", "dashboard-rollout-grid.png").toAbsolutePath();
        Files.createDirectories(png.getParent());
        Files.write(png, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        System.out.println("e2e: the rollout grid mid-rollout: " + png + " (" + g + ")");
        shot[0] = true;
      }
      return g.equals(all("r2 Ready"));
    });
    System.out.println("e2e: the grid through the rollout: " + seen);
    String events = fleet.dsctl("events", "--for", "daemonset/web").out();
    assertThat(events).as("a healthy rollout warns of nothing (a report made between a container's create and start once"
        + " read as RunContainerError)").contains("PodUpdated").doesNotContain("Warning");
    assertThat(seen).as("states between r1 everywhere and r2 everywhere, seen live").hasSizeGreaterThanOrEqualTo(3);
    assertThat(seen.stream().flatMap(List::stream)).as("a node shown on its way").anyMatch(c -> c.equals("r1 \u2192 r2 moving")
        || c.equals("r2 starting") || c.equals("r2 Running") || c.equals("r1 removing"));
    assertThat(seen).as("one node at a time: never two nodes on their way at once").allMatch(g -> g.stream()
        .filter(c -> !c.endsWith("Ready")).count() <= 1);
    assertThat(shot[0]).as("a screenshot with r1 and r2 side by side").isTrue();

    // on a phone's screen: nothing wider than the screen (wide tables scroll inside themselves)
    browser.manage().window().setSize(new org.openqa.selenium.Dimension(390, 844));
    try {
      for (String path : List.of("/", "/nodes", "/daemonsets/default/web", "/nodes/" + fleet.host(1).name)) {
        open(BASE + path);
        Object widths = ((JavascriptExecutor) browser).executeScript(
            "return document.documentElement.scrollWidth + ' <= ' + document.documentElement.clientWidth;");
        String[] w = String.valueOf(widths).split(" <= ");
        assertThat(Integer.parseInt(w[0])).as("%s on a 390 px screen: %s", path, widths).isLessThanOrEqualTo(Integer.parseInt(w[1]));
      }
    } finally {
      browser.manage().window().setSize(new org.openqa.selenium.Dimension(1100, 760));
    }

    // a pod's log: the page shows its last lines, then new ones stream in without a reload
    open(BASE + "/nodes/" + fleet.host(1).name);
    // its pod's logs link: the node runs the other scenarios' pods too
    browser.findElement(By.cssSelector("a[href$='/logs/default/web']")).click();
    TestFleet.await("the log page", 30, () -> browser.getCurrentUrl().equals(BASE + "/nodes/" + fleet.host(1).name + "/logs/default/web"));
    int shown = lastTick();
    assertThat(shown).as("the page's last lines").isPositive();
    TestFleet.await("the log page shows ticks logged after it loaded", 30, () -> lastTick() >= shown + 3);

    open(BASE + "/daemonsets/default/web");
    Object answer = ((JavascriptExecutor) browser).executeAsyncScript("var done = arguments[arguments.length - 1];"
        + "fetch('/daemonsets/default/web/pause', {method: 'POST', credentials: 'same-origin',"
        + " headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'token=x'})"
        + ".then(function (r) { return r.text().then(function (t) { done(r.status + ' ' + t); }); });");
    assertThat(String.valueOf(answer)).startsWith("403 ").contains("viewer viewer is read-only");
    assertThat(paused("web")).isFalse();
    assertThat(rolloutLine()).contains("rollout complete");

    // the nav's logout ends this login: the browser keeps no way back in
    // pressed as the other forms are: Chromium may end the form's navigation for a network change (ci-70), and
    // press() then opens the page again and clicks again unless the logout took already
    // (the page opened again after a logout that took says "not logged in")
    java.util.function.BooleanSupplier loggedOut = () -> browser.getPageSource().contains("logged out")
        || browser.getPageSource().contains("not logged in");
    press(By.xpath("//nav//button[text()='Log out']"), loggedOut, BASE + "/daemonsets/default/web");
    // the click may return before the form's navigation ends (a CI rehearsal read the page it left)
    TestFleet.await("the logout's page", 30, loggedOut::getAsBoolean);
    open(BASE + "/daemonsets/default/web");
    assertThat(browser.getPageSource()).contains("not logged in");
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void anAdminsPauseStopsTheRolloutAndTheGridShowsIt() throws Exception {
    openRolledOut("agent", "admin");

    fleet.apply(daemonSet("agent", "local/busybox:2", 4));
    TestFleet.await("the first node on its way to r2", 60, () -> grid().stream().anyMatch(c -> c.contains("r2")));
    press(By.xpath("//button[text()='Pause rollout']"), () -> paused("agent"), BASE + "/daemonsets/default/agent");
    TestFleet.await("the pause answered", 30, () -> rolloutLine().contains("rollout paused") || !browser.getCurrentUrl().endsWith("/agent"));
    assertThat(browser.getCurrentUrl()).as("back on the DaemonSet's page: %s", browser.findElement(By.tagName("body")).getText())
        .isEqualTo(BASE + "/daemonsets/default/agent");
    assertThat(rolloutLine()).contains("rollout paused");
    assertThat(browser.findElements(By.xpath("//button[text()='Resume rollout']"))).hasSize(1);
    assertThat(paused("agent")).isTrue();
    // the node already on its way finishes (as with kubectl rollout pause); no other starts
    TestFleet.await("the node under way settles", 60, () -> grid().stream().allMatch(c -> c.endsWith("Ready")));
    List<String> held = grid();
    assertThat(held).as("paused with a node still on r1").contains("r1 Ready");
    // the barrier: a rollout pass has run since the last change (the settled node's report), and the
    // page, loaded again, shows what it left (opened again as open() does, not refreshed: a refresh that
    // Chromium ended for a network change showed its own page, no grid, in ci-65)
    fleet.awaitRolloutPass("a rollout pass after the node settled");
    open(BASE + "/daemonsets/default/agent");
    TestFleet.await("the page loaded again with its grid", 30, () -> !grid().isEmpty());
    assertThat(grid()).as("nothing moves while paused").isEqualTo(held);
    assertThat(rolloutLine()).contains("rollout paused");

    press(By.xpath("//button[text()='Resume rollout']"), () -> !paused("agent"), BASE + "/daemonsets/default/agent");
    TestFleet.await("after resuming, the rollout shown moving on", 60, () -> rolloutLine().contains("rollout progressing")
        && !grid().equals(held));
    assertThat(paused("agent")).isFalse();
  }
}
