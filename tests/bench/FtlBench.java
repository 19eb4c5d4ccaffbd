/*
 * FtlBench - Apache FreeMarker (the Debian jar) rendering the reference SMS
 * template of issue 3 in a warmed-up loop on one thread, configured as the
 * ftl-oracle is (2.3.31, en_US, default number format). Used by
 * tests/bench/ftl_bench.sh; prints one line like ftl_bench.c.
 *
 *   java -cp freemarker.jar:DIR FtlBench [SECONDS]
 */
import freemarker.template.Configuration;
import freemarker.template.Template;
import freemarker.template.TemplateExceptionHandler;

import java.io.StringReader;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;

public class FtlBench {
    public static void main(String[] args) throws Exception {
        System.setProperty("org.freemarker.loggerLibrary", "none");
        double secs = args.length > 0 ? Double.parseDouble(args[0]) : 3.0;
        Configuration cfg = new Configuration(Configuration.VERSION_2_3_31);
        cfg.setLocale(Locale.US);
        cfg.setTimeZone(TimeZone.getTimeZone("UTC"));
        cfg.setNumberFormat("number");
        cfg.setTemplateExceptionHandler(TemplateExceptionHandler.RETHROW_HANDLER);
        cfg.setLogTemplateExceptions(false);
        String src = "Hi ${customer.name!\"there\"}, your order ${orderId} of "
                + "${total?string('0.00')} EUR <#if express>ships today<#else>ships in "
                + "${days} days</#if>.";
        Template t = new Template("bench.ftl", new StringReader(src), cfg);
        Map<String, Object> customer = new LinkedHashMap<>();
        customer.put("name", "Ann");
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("customer", customer);
        model.put("orderId", 1234567);
        model.put("total", 1234.5);
        model.put("express", false);
        model.put("days", 3);
        // warm-up: let the JIT compile the hot paths
        runFor(t, model, 3.0);
        long[] n = new long[1];
        double el = runFor(t, model, secs, n);
        StringWriter w = new StringWriter();
        t.process(model, w);
        System.out.printf(Locale.ROOT, "freemarker-java ns_per_render=%.1f renders=%d output=%s%n",
                el * 1e9 / n[0], n[0], w);
    }

    static double runFor(Template t, Map<String, Object> model, double secs) throws Exception {
        return runFor(t, model, secs, new long[1]);
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
