/*
 * FtlBench - Apache FreeMarker (the Debian jar, 2.3.31) rendering one of the
 * benchmark templates of tests/bench/ftl_bench.c (byte-identical templates,
 * the same data, the same settings: en_US, default number format, the
 * reminder's time zone) on one thread, configured as the ftl-oracle is.
 * Used by tests/bench/ftl_bench.py, which alternates it with the C engine
 * pinned to the same core; prints lines like ftl_bench.c.
 *
 *   java -cp freemarker.jar:DIR FtlBench [-t sms|reminder] [-s SECONDS]
 *        [-w MAX_WINDOWS]
 *
 * Warm-up: one-second windows of renders, each printed ("freemarker-java
 * warmup window=I ns_per_render=N"), until five consecutive windows agree
 * within 2 % (max/min - 1 <= 0.02), i.e. the JIT has settled; at most
 * MAX_WINDOWS (default 120), after which it says "warmup=unstable" on the
 * result line instead of "warmup=stable". Then SECONDS (default 3) are
 * measured. The model is what a Jackson-based connector hands FreeMarker:
 * LinkedHashMap, String, Integer, Double, Boolean; dates arrive as ISO
 * strings (the template parses them with ?datetime.iso), as in the C bench.
 * ns_per_render is wall-clock time, cpu_ns_per_render the rendering
 * thread's CPU time (the JIT and GC threads not counted).
 */
import freemarker.template.Configuration;
import freemarker.template.Template;
import freemarker.template.TemplateExceptionHandler;

import java.io.StringReader;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;

public class FtlBench {
    static final int WINDOWS_AGREE = 5;
    static final double TOLERANCE = 0.02;

    public static void main(String[] args) throws Exception {
        System.setProperty("org.freemarker.loggerLibrary", "none");
        String which = "sms";
        double secs = 3.0;
        int maxWindows = 120;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
            case "-t": which = args[i + 1]; break;
            case "-s": secs = Double.parseDouble(args[i + 1]); break;
            case "-w": maxWindows = Integer.parseInt(args[i + 1]); break;
            default: throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Configuration cfg = new Configuration(Configuration.VERSION_2_3_31);
        cfg.setLocale(Locale.US);
        cfg.setTimeZone(TimeZone.getTimeZone("UTC"));
        cfg.setNumberFormat("number");
        cfg.setTemplateExceptionHandler(TemplateExceptionHandler.RETHROW_HANDLER);
        cfg.setLogTemplateExceptions(false);
        String src;
        Map<String, Object> model = new LinkedHashMap<>();
        // Keep the templates byte-identical to ftl_bench.c's.
        if (which.equals("sms")) {
            src = "Hi ${customer.name!\"there\"}, your order ${orderId} of "
                    + "${total?string('0.00')} EUR <#if express>ships today<#else>ships "
                    + "in ${days} days</#if>.";
            Map<String, Object> customer = new LinkedHashMap<>();
            customer.put("name", "Ann");
            model.put("customer", customer);
            model.put("orderId", 1234567);
            model.put("total", 1234.5);
            model.put("express", false);
            model.put("days", 3);
        } else if (which.equals("reminder")) {
            src = "Hi ${name}, a reminder of your appointment with ${doctor} on "
                    + "${appt?datetime.iso?string(\"EEEE, MMMM d 'at' h:mm a z\")}. "
                    + "<#assign a = appt?datetime.iso>Please arrive by "
                    + "${(a?long - 600000)?number_to_datetime?string(\"h:mm a\")}; it ends "
                    + "at ${(a?long + minutes * 60000)?number_to_datetime?string(\"h:mm "
                    + "a\")}. Free cancellation until ${(a?long - "
                    + "86400000)?number_to_datetime?string(\"EEE d MMM, HH:mm\")}<#if "
                    + "a?string(\"yyyy\") != sent?datetime.iso?string(\"yyyy\")> "
                    + "${a?string(\"yyyy\")}</#if>.";
            cfg.setTimeZone(TimeZone.getTimeZone("America/New_York"));
            model.put("name", "Ann");
            model.put("doctor", "Dr. Smith");
            model.put("appt", "2024-03-05T14:30:00Z");
            model.put("sent", "2024-03-01T09:00:00Z");
            model.put("minutes", 45);
        } else {
            throw new IllegalArgumentException("unknown template " + which);
        }
        Template t = new Template("bench.ftl", new StringReader(src), cfg);
        long[] n = new long[1];
        double[] last = new double[WINDOWS_AGREE];
        boolean stable = false;
        int w;
        for (w = 1; w <= maxWindows && !stable; w++) {
            double el = runFor(t, model, 1.0, n);
            double ns = el * 1e9 / n[0];
            System.out.printf(Locale.ROOT,
                    "freemarker-java warmup template=%s window=%d ns_per_render=%.1f%n",
                    which, w, ns);
            last[(w - 1) % WINDOWS_AGREE] = ns;
            if (w >= WINDOWS_AGREE) {
                double lo = last[0], hi = last[0];
                for (double x : last) {
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
                stable = hi / lo - 1 <= TOLERANCE;
            }
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long cpu0 = mx.getCurrentThreadCpuTime();
        double el = runFor(t, model, secs, n);
        double cpu = (mx.getCurrentThreadCpuTime() - cpu0) / 1e9;
        StringWriter out = new StringWriter();
        t.process(model, out);
        System.out.printf(Locale.ROOT,
                "freemarker-java template=%s ns_per_render=%.1f cpu_ns_per_render=%.1f"
                        + " renders=%d warmup=%s warmup_windows=%d output=%s%n",
                which, el * 1e9 / n[0], cpu * 1e9 / n[0], n[0],
                stable ? "stable" : "unstable", w - 1, out);
    }

    static double runFor(Template t, Map<String, Object> model, double secs, long[] count)
            throws Exception {
        long start = System.nanoTime();
        long end = start + (long) (secs * 1e9);
        long now = start;
        long n = 0;
        while (now < end) {
            for (int i = 0; i < 1000; i++) {
                StringWriter w = new StringWriter(128);
                t.process(model, w);
            }
            n += 1000;
            now = System.nanoTime();
        }
        count[0] = n;
        return (now - start) / 1e9;
    }
}
