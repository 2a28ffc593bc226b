package com.corvane.ledgerline.exporter;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.sql.DataSource;

import org.yaml.snakeyaml.Yaml;

/** The exporter section of config/ledgerline.yaml, with the documented defaults. */
public final class ExporterConfig {

    private final Map<String, Object> exporter;
    private final Map<String, Object> database;

    private ExporterConfig(Map<String, Object> exporter, Map<String, Object> database) {
        this.exporter = exporter;
        this.database = database;
    }

    @SuppressWarnings("unchecked")
    public static ExporterConfig load(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            Map<String, Object> root = new Yaml().load(in);
            return new ExporterConfig((Map<String, Object>) root.getOrDefault("exporter", Map.of()),
                    (Map<String, Object>) root.getOrDefault("database", Map.of()));
        }
    }

    public int retries() {
        return ((Number) exporter.getOrDefault("retries", 5)).intValue();
    }

    public long backoffInitialSeconds() {
        return ((Number) exporter.getOrDefault("backoff_initial_s", 30)).longValue();
    }

    public String format() {
        return (String) exporter.getOrDefault("format", "CGL-2");
    }

    public String sftpHost() {
        return (String) exporter.getOrDefault("sftp_host", "gl-sftp.internal");
    }

    public String sftpUser() {
        return System.getenv().getOrDefault("LEDGERLINE_SFTP_USER", "ledgerline");
    }

    public DataSource dataSource() {
        String password = System.getenv("LEDGERLINE_DB_PASSWORD");
        if (password == null) {
            throw new IllegalStateException("LEDGERLINE_DB_PASSWORD is not set; read it from Vault");
        }
        return Databases.pooled((String) database.get("host"), ((Number) database.getOrDefault("port", 6432)).intValue(),
                (String) database.get("name"), (String) database.get("user"), password);
    }
}
