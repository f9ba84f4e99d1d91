// A Dropwizard metrics 3.2.6 program for the naming-peer tests: records a
// script read from stdin into a MetricRegistry on a manual clock and reports
// through GraphiteReporter (plaintext) to 127.0.0.1:PORT at each `report`.
//
// argv: PORT PREFIX RATE_UNIT DURATION_UNIT MODE START_EPOCH_MS
//   PREFIX "-" for none; units are java.util.concurrent.TimeUnit names;
//   MODE "dropwizard" (GraphiteReporter as is) or "micrometer" (the layout
//   Micrometer's GraphiteMeterRegistry gives Dropwizard in tagged mode:
//   counters are Meters, names may carry ";k=v" tags, and each statistic is
//   written as ";metricattribute=ATTR" instead of ".ATTR", as Dropwizard
//   4.x's addMetricAttributesAsTags(true) does).
//
// Script lines (blank lines and lines starting with # are skipped):
//   advance MS                  move the clock (tick and wall time) forward
//   counter NAME N              Counter.inc(N) (a Meter.mark(N) in micrometer mode)
//   gauge NAME X                a Gauge<Double> now reading X
//   gauge_long NAME N           a Gauge<Long> now reading N
//   histogram NAME N            Histogram.update(N)
//   timer NAME N UNIT           Timer.update(N, UNIT)
//   meter NAME N                Meter.mark(N)
//   report                      GraphiteReporter.report(): one connection
// Metrics are created at their first line, at the clock's time then. In a
// NAME, "%20" stands for a space (to show how GraphiteReporter sanitises).

import com.codahale.metrics.Clock;
import com.codahale.metrics.Counter;
import com.codahale.metrics.ExponentiallyDecayingReservoir;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricFilter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import com.codahale.metrics.graphite.Graphite;
import com.codahale.metrics.graphite.GraphiteReporter;
import com.codahale.metrics.graphite.GraphiteSender;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

public final class DropwizardPeer {
    /** Dropwizard's own reservoir defaults (ExponentiallyDecayingReservoir()). */
    private static final int RESERVOIR_SIZE = 1028;
    private static final double RESERVOIR_ALPHA = 0.015;

    static final class ManualClock extends Clock {
        private final long startMillis;
        private long elapsedNanos;

        ManualClock(long startMillis) {
            this.startMillis = startMillis;
        }

        void advanceMillis(long ms) {
            elapsedNanos += TimeUnit.MILLISECONDS.toNanos(ms);
        }

        @Override
        public long getTick() {
            return elapsedNanos;
        }

        @Override
        public long getTime() {
            return startMillis + TimeUnit.NANOSECONDS.toMillis(elapsedNanos);
        }
    }

    /** Writes ".ATTR" statistics of registered names as ";metricattribute=ATTR". */
    static final class TaggedAttributes implements GraphiteSender {
        private final GraphiteSender inner;
        private final MetricRegistry registry;

        TaggedAttributes(GraphiteSender inner, MetricRegistry registry) {
            this.inner = inner;
            this.registry = registry;
        }

        @Override
        public void connect() throws IOException {
            inner.connect();
        }

        @Override
        public void send(String name, String value, long timestamp) throws IOException {
            String out = name;
            int dot = name.lastIndexOf('.');
            if (dot > 0 && !registry.getMetrics().containsKey(name)
                    && registry.getMetrics().containsKey(name.substring(0, dot))) {
                out = name.substring(0, dot) + ";metricattribute=" + name.substring(dot + 1);
            }
            inner.send(out, value, timestamp);
        }

        @Override
        public void flush() throws IOException {
            inner.flush();
        }

        @Override
        public boolean isConnected() {
            return inner.isConnected();
        }

        @Override
        public int getFailures() {
            return inner.getFailures();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        String prefix = args[1].equals("-") ? null : args[1];
        TimeUnit rateUnit = TimeUnit.valueOf(args[2]);
        TimeUnit durationUnit = TimeUnit.valueOf(args[3]);
        boolean micrometer = args[4].equals("micrometer");
        ManualClock clock = new ManualClock(Long.parseLong(args[5]));

        MetricRegistry registry = new MetricRegistry();
        GraphiteSender sender = new Graphite("127.0.0.1", port);
        if (micrometer) {
            sender = new TaggedAttributes(sender, registry);
        }
        GraphiteReporter reporter = GraphiteReporter.forRegistry(registry)
                .withClock(clock)
                .prefixedWith(prefix)
                .convertRatesTo(rateUnit)
                .convertDurationsTo(durationUnit)
                .filter(MetricFilter.ALL)
                .build(sender);

        Map<String, double[]> gauges = new HashMap<>();
        Map<String, long[]> longGauges = new HashMap<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            String trimmed = line.trim();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            String[] f = trimmed.split("\\s+");
            if (f.length > 1) {
                f[1] = f[1].replace("%20", " ");
            }
            switch (f[0]) {
                case "advance":
                    clock.advanceMillis(Long.parseLong(f[1]));
                    break;
                case "counter": {
                    long n = Long.parseLong(f[2]);
                    if (micrometer) {
                        meter(registry, f[1], clock).mark(n);
                    } else {
                        Counter c = registry.counter(f[1]);
                        c.inc(n);
                    }
                    break;
                }
                case "gauge": {
                    double[] cell = gauges.get(f[1]);
                    if (cell == null) {
                        double[] fresh = new double[1];
                        registry.register(f[1], (Gauge<Double>) () -> fresh[0]);
                        gauges.put(f[1], fresh);
                        cell = fresh;
                    }
                    cell[0] = Double.parseDouble(f[2]);
                    break;
                }
                case "gauge_long": {
                    long[] cell = longGauges.get(f[1]);
                    if (cell == null) {
                        long[] fresh = new long[1];
                        registry.register(f[1], (Gauge<Long>) () -> fresh[0]);
                        longGauges.put(f[1], fresh);
                        cell = fresh;
                    }
                    cell[0] = Long.parseLong(f[2]);
                    break;
                }
                case "histogram": {
                    Histogram h = (Histogram) registry.getMetrics().get(f[1]);
                    if (h == null) {
                        h = registry.register(f[1], new Histogram(
                                new ExponentiallyDecayingReservoir(RESERVOIR_SIZE, RESERVOIR_ALPHA, clock)));
                    }
                    h.update(Long.parseLong(f[2]));
                    break;
                }
                case "timer": {
                    Timer t = (Timer) registry.getMetrics().get(f[1]);
                    if (t == null) {
                        t = registry.register(f[1], new Timer(
                                new ExponentiallyDecayingReservoir(RESERVOIR_SIZE, RESERVOIR_ALPHA, clock), clock));
                    }
                    t.update(Long.parseLong(f[2]), TimeUnit.valueOf(f[3]));
                    break;
                }
                case "meter":
                    meter(registry, f[1], clock).mark(Long.parseLong(f[2]));
                    break;
                case "report":
                    reporter.report();
                    break;
                default:
                    System.err.println("line " + lineNo + ": unknown command: " + line);
                    System.exit(2);
            }
        }
    }

    private static Meter meter(MetricRegistry registry, String name, Clock clock) {
        Meter m = (Meter) registry.getMetrics().get(name);
        if (m == null) {
            m = registry.register(name, new Meter(clock));
        }
        return m;
    }
}
